"""Progress of copies, wipes and reverts: throttled reports to the log and the sink, dd's
own progress read by LVM.copy, and the driver's operations wired to it."""

from __future__ import annotations

import os
import pathlib
import uuid
from collections.abc import Iterator

import pytest

from tests.unit.volume_agent.fakes import FakeLVM
from tests.unit.volume_agent.test_lvm_driver import make_driver, vol
from volume_agent import progress
from volume_agent.driver import Snapshot
from volume_agent.lvm import LVM, LVMError, MiB


@pytest.fixture
def reports() -> Iterator[list[tuple[str, int, str]]]:
    seen: list[tuple[str, int, str]] = []
    progress.set_sink(lambda *report: seen.append(report))
    yield seen
    progress.set_sink(None)


def test_reports_are_throttled_and_the_end_always_reported(reports) -> None:
    now = [0.0]
    tracker = progress.Tracker("v1", "copy", 100 * MiB, interval=5, clock=lambda: now[0])
    for second, done in ((1, 10), (6, 20), (7, 30), (12, 40), (13, 100)):
        now[0] = second
        tracker.update(done * MiB)
    assert reports == [("v1", 20, "copy"), ("v1", 40, "copy"), ("v1", 100, "copy")]


def test_a_failing_sink_does_not_fail_the_operation() -> None:
    def broken(*_: object) -> None:
        raise ConnectionError("broker gone")
    progress.set_sink(broken)
    try:
        progress.Tracker("v1", "clear", MiB, interval=0).update(MiB)
    finally:
        progress.set_sink(None)


class _FileLVM(LVM):
    """The real LVM wrapper with LV paths pointing at plain files (dd is real)."""

    def __init__(self, root: pathlib.Path) -> None:
        super().__init__("vg")
        self.root = root

    def lv_path(self, name: str) -> str:
        return str(self.root / name)


def test_copy_reads_dds_progress_and_reports_the_whole_length(tmp_path: pathlib.Path) -> None:
    lvm = _FileLVM(tmp_path)
    source, dest = f"volume-{uuid.uuid4()}", f"volume-{uuid.uuid4()}"
    data = os.urandom(8 * MiB)
    (tmp_path / source).write_bytes(data)
    (tmp_path / dest).write_bytes(b"\0" * 8 * MiB)
    done: list[int] = []
    lvm.copy(source, dest, 8 * MiB, False, done.append)
    assert (tmp_path / dest).read_bytes() == data
    assert done and done[-1] == 8 * MiB
    with pytest.raises(LVMError, match="No such file"):
        lvm.copy(f"volume-{uuid.uuid4()}", dest, MiB, False, done.append)


def test_driver_reports_copy_clear_and_revert(tmp_path: pathlib.Path, reports) -> None:
    driver, lvm, _ = make_driver(tmp_path, FakeLVM(), volume_clear="zero",
                                 volume_clear_size="4")
    source = vol(size=1)
    driver.create_volume(source)
    snap = Snapshot(str(uuid.uuid4()), source.id, 1)
    driver.create_snapshot(snap)
    copy = vol(size=1, snapshot_id=snap.id)
    driver.create_volume(copy)
    driver.revert_to_snapshot(source, snap)
    driver.delete_volume(copy)
    assert reports == [(copy.id, 100, "copy"), (source.id, 100, "revert"),
                       (copy.id, 100, "clear")]
