"""Log lines carry the request id being served, so one grep follows a request."""

from __future__ import annotations

import json
import logging
import pathlib

from common import messaging
from tests.logging_fixtures import service_logging


def test_text_lines_carry_the_request_id_or_a_dash(tmp_path: pathlib.Path) -> None:
    with service_logging(log_file="service.log", log_dir=str(tmp_path)):
        token = messaging.request_id.set("req-1234")
        try:
            logging.getLogger("scheduler.manager").info("placed %s", "vol")
        finally:
            messaging.request_id.reset(token)
        logging.getLogger("scheduler.manager").info("idle")
    lines = (tmp_path / "service.log").read_text().splitlines()
    assert "INFO scheduler.manager [req-1234] placed vol" in lines[0]
    assert "INFO scheduler.manager [-] idle" in lines[1]


def test_json_lines_are_one_object_each(tmp_path: pathlib.Path) -> None:
    token = messaging.request_id.set("req-5678")
    with service_logging(log_file=str(tmp_path / "service.log"), use_json=True):
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


def test_debug_and_configuring_twice_keep_one_handler(tmp_path: pathlib.Path) -> None:
    log_file = str(tmp_path / "service.log")
    with service_logging(log_file=log_file), service_logging(log_file=log_file, debug=True):
        logging.getLogger("x").debug("once")
    assert (tmp_path / "service.log").read_text().count("once") == 1
