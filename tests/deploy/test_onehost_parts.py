"""The parts of `make up` that decide things without a VM: the guest's broker URL and
whether a recorded pid is still the process `up` started."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import sys
from types import ModuleType

import pytest

from common.config import load

ONEHOST = pathlib.Path(__file__).resolve().parents[2] / "etc" / "onehost" / "onehost.py"


@pytest.fixture
def onehost(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("CINDERBLOCK_STATE", str(tmp_path / "state"))
    spec = importlib.util.spec_from_file_location("onehost_under_test", ONEHOST)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def _conf(tmp_path: pathlib.Path, text: str) -> object:
    path = tmp_path / "c.conf"
    path.write_text(text)
    return load([str(path)])


@pytest.mark.parametrize(("settings", "url", "forwards"), [
    ("[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:5672/cinderblock-x\n",
     "rabbit://u:p@10.0.2.100:5672/cinderblock-x", {5672: 5672}),
    ("[oslo_messaging_rabbit]\nrabbit_host = localhost\nrabbit_userid = u\n"
     "rabbit_password = p\n", "rabbit://u:p@10.0.2.100:5672/%2F", {5672: 5672}),
    ("[DEFAULT]\ntransport_url = rabbit://u:p@broker.example:5672/v\n",
     "rabbit://u:p@broker.example:5672/v", {}),
], ids=["loopback-url", "legacy-options", "remote"])
def test_the_guest_reaches_a_loopback_broker_through_qemu(
        onehost: ModuleType, tmp_path: pathlib.Path, settings: str, url: str,
        forwards: dict[int, int]) -> None:
    assert onehost._guest_broker(_conf(tmp_path, settings)) == (url, forwards)


def test_a_recycled_pid_is_not_taken_for_the_started_process(onehost: ModuleType) -> None:
    process = onehost.Process("cinderblock-api")
    process.pid_file.parent.mkdir(parents=True)
    own_start = onehost._start_time(os.getpid())
    process.pid_file.write_text(json.dumps({"pid": os.getpid(), "start_time": own_start}))
    assert process.pid() == os.getpid()
    process.pid_file.write_text(json.dumps({"pid": os.getpid(), "start_time": own_start - 1}))
    assert process.pid() is None
    process.pid_file.write_text("not json")
    assert process.pid() is None


def test_each_state_directory_has_its_own_vhost(onehost: ModuleType) -> None:
    assert onehost.VHOST == "cinderblock-state"
    assert onehost.LOCAL_BROKER.endswith("@127.0.0.1:5672/cinderblock-state")
