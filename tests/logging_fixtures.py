"""Configure the process's logging as a service does, for one test, then put it back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from common.logging import configure


@contextmanager
def service_logging(**default: Any) -> Iterator[None]:
    """``common.logging.configure`` with these ``[DEFAULT]`` values, undone afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    values = {"debug": False, "log_file": None, "log_dir": None, "use_json": False, **default}
    configure(SimpleNamespace(**values))
    try:
        yield
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
