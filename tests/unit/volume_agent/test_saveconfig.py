"""The saved LIO configuration: one write per burst of changes, atomic, private.

The dump is a plain function here; the VM tests save rtslib's real one.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import time

import pytest

from volume_agent.saveconfig import DebouncedSaver, write_atomically


def wait_until(probe, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_burst_of_changes_is_written_once_with_the_latest_state(
        tmp_path: pathlib.Path) -> None:
    state = {"targets": []}
    dumps = []

    def dump() -> dict:
        dumps.append(1)
        return state

    path = tmp_path / "target" / "saveconfig.json"
    saver = DebouncedSaver(dump, str(path), delay=0.2)
    for n in range(50):
        state["targets"].append(n)
        saver.changed()
    wait_until(path.exists)
    time.sleep(0.4)
    assert len(dumps) == 1
    assert json.loads(path.read_text())["targets"] == list(range(50))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    state["targets"] = ["later"]
    saver.changed()
    wait_until(lambda: len(dumps) == 2)
    wait_until(lambda: json.loads(path.read_text())["targets"] == ["later"])
    assert os.listdir(path.parent) == ["saveconfig.json"]


def test_changes_during_a_hold_are_written_once_after_it(tmp_path: pathlib.Path) -> None:
    state = {"targets": []}
    dumps = []

    def dump() -> dict:
        dumps.append(list(state["targets"]))
        return state

    saver = DebouncedSaver(dump, str(tmp_path / "saveconfig.json"), delay=0.05)
    saver.changed()  # due during the hold: it waits for the hold's end too
    with saver.held():
        for n in range(5):
            state["targets"].append(n)
            saver.changed()
            time.sleep(0.1)
        assert dumps == []
    wait_until(lambda: dumps)
    time.sleep(0.2)
    assert dumps == [[0, 1, 2, 3, 4]]

    with saver.held():
        pass
    time.sleep(0.2)
    assert len(dumps) == 1


def test_a_failed_dump_keeps_the_old_copy_and_is_not_raised(
        tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "saveconfig.json"
    path.write_text('{"old": true}')

    def broken() -> dict:
        raise OSError("configfs went away")

    assert DebouncedSaver(broken, str(path), delay=0).save() is False
    assert json.loads(path.read_text()) == {"old": True}
    assert "configfs went away" in caplog.text
    assert os.listdir(tmp_path) == ["saveconfig.json"]


def test_an_interrupted_write_leaves_no_temporary_file(tmp_path: pathlib.Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "saveconfig.json"
    path.write_text("{}")

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(str(path), '{"new": 1}')
    assert path.read_text() == "{}"
    assert os.listdir(tmp_path) == ["saveconfig.json"]
