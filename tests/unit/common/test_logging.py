"""Log lines carry the request id being served, so one grep follows a request."""

from __future__ import annotations

import json
import logging
import pathlib
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from common import messaging
from common.logging import configure


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _default(tmp_path: pathlib.Path, **options: object) -> SimpleNamespace:
    values = {"debug": False, "log_file": "service.log", "log_dir": str(tmp_path),
              "use_json": False, **options}
    return SimpleNamespace(**values)


@pytest.mark.usefixtures("restore_root_logger")
def test_text_lines_carry_the_request_id_or_a_dash(tmp_path: pathlib.Path) -> None:
    configure(_default(tmp_path))
    token = messaging.request_id.set("req-1234")
    try:
        logging.getLogger("scheduler.manager").info("placed %s", "vol")
    finally:
        messaging.request_id.reset(token)
    logging.getLogger("scheduler.manager").info("idle")
    lines = (tmp_path / "service.log").read_text().splitlines()
    assert "INFO scheduler.manager [req-1234] placed vol" in lines[0]
    assert "INFO scheduler.manager [-] idle" in lines[1]


@pytest.mark.usefixtures("restore_root_logger")
def test_json_lines_are_one_object_each(tmp_path: pathlib.Path) -> None:
    configure(_default(tmp_path, use_json=True))
    token = messaging.request_id.set("req-5678")
    try:
        try:
            raise RuntimeError("lvcreate failed")
        except RuntimeError:
            logging.getLogger("volume_agent").exception("create failed")
    finally:
        messaging.request_id.reset(token)
    entry = json.loads((tmp_path / "service.log").read_text().splitlines()[0])
    assert entry["request_id"] == "req-5678"
    assert entry["level"] == "ERROR" and entry["message"] == "create failed"
    assert "RuntimeError: lvcreate failed" in entry["exception"]


@pytest.mark.usefixtures("restore_root_logger")
def test_debug_and_configuring_twice_keep_one_handler(tmp_path: pathlib.Path) -> None:
    configure(_default(tmp_path))
    configure(_default(tmp_path, debug=True))
    logging.getLogger("x").debug("once")
    assert (tmp_path / "service.log").read_text().count("once") == 1
