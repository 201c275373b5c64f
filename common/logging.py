"""Log lines that carry the request id, so one grep follows a request across services.

The API sets ``common.messaging.request_id`` for each HTTP request, the envelope of every
cast carries it on, and the consumer server sets it again while a handler runs; the filter
here stamps it on every record of the process, also on the lines of libraries. Text lines
keep the id in a fixed column; ``[DEFAULT] use_json = true`` writes one JSON object per
line for log shippers instead. Stdlib only: the storage agent imports this.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from common.messaging import request_id

__all__ = ["configure", "RequestIdFilter", "JsonFormatter", "TEXT_FORMAT"]

TEXT_FORMAT = ("%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [%(request_id)s] "
               "%(message)s")
_QUIET = ("amqp",)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id``: the request being handled, or ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "pid": record.process,
            "request_id": getattr(record, "request_id", "-"), "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(default: Any) -> None:
    """Log as ``[DEFAULT]`` says (``debug``, ``log_file``/``log_dir``, ``use_json``);
    replaces any handler set before, so calling it twice is harmless."""
    if default.log_file:
        path = default.log_file
        if default.log_dir and not os.path.isabs(path):
            path = os.path.join(default.log_dir, path)
        handler: logging.Handler = logging.FileHandler(path)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if getattr(default, "use_json", False):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if default.debug else logging.INFO)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
