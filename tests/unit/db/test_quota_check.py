"""Quota check and sync on every database: drift is found and fixed from the rows,
and ``cinderblock-manage`` reports it."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import load
from db import quota, quota_check
from db.models import QuotaUsage, Snapshot, Volume, VolumeType
from db.session import session_scope

MANAGE = str(pathlib.Path(sys.executable).parent / "cinderblock-manage")


def seed(sessions: sessionmaker[Session], tmp_path: pathlib.Path) -> None:
    """Two volumes and a snapshot whose usage was recorded right, then damaged."""
    path = tmp_path / "q.conf"
    path.write_text("[DEFAULT]\nquota_volumes = -1\nquota_gigabytes = -1\n")
    conf = load([str(path)])
    with session_scope(sessions) as session:
        default = session.scalars(select(VolumeType)).one()
        gold = VolumeType(name="gold")
        first = Volume(project_id="p1", size=3, volume_type=default, status="available")
        second = Volume(project_id="p1", size=4, volume_type=gold, status="error")
        session.add_all([gold, first, second])
        session.flush()
        session.add(Snapshot(project_id="p1", volume_id=first.id, volume_size=3,
                             volume_type_id=default.id, status="available"))
        ids = quota.reserve(session, "p1", {"volumes": 2, "gigabytes": 10, "snapshots": 1,
                                            "volumes_gold": 1, "gigabytes_gold": 4},
                            conf=conf.default)
        quota.commit(session, ids)
        quota.reserve(session, "p1", {"gigabytes": 2}, conf=conf.default)


def usage(sessions: sessionmaker[Session]) -> dict[str, tuple[int, int]]:
    with sessions() as session:
        return {row.resource: (row.in_use, row.reserved)
                for row in session.scalars(select(QuotaUsage))}


def test_rows_recorded_right_show_no_drift(session_factory: sessionmaker[Session],
                                           tmp_path: pathlib.Path) -> None:
    seed(session_factory, tmp_path)
    with session_factory() as session:
        drifts = quota_check.check(session)
    # Per-type usage of __DEFAULT__ was never recorded by this seed: that is the only drift.
    assert {d.resource for d in drifts} == {"volumes___DEFAULT__", "gigabytes___DEFAULT__",
                                            "snapshots___DEFAULT__"}


def test_sync_sets_usage_to_the_rows(session_factory: sessionmaker[Session],
                                     tmp_path: pathlib.Path) -> None:
    seed(session_factory, tmp_path)
    with session_scope(session_factory) as session:
        row = session.scalars(select(QuotaUsage).where(QuotaUsage.resource == "volumes")).one()
        row.in_use, row.reserved = 9, 7
    with session_scope(session_factory) as session:
        fixed = quota_check.sync(session, "p1")
    assert ("volumes", 9, 2) in {(d.resource, d.in_use, d.actual_in_use) for d in fixed}
    with session_factory() as session:
        assert quota_check.check(session) == []
    assert usage(session_factory) == {
        "volumes": (2, 0), "gigabytes": (10, 2), "snapshots": (1, 0),
        "volumes_gold": (1, 0), "gigabytes_gold": (4, 0),
        "volumes___DEFAULT__": (1, 0), "gigabytes___DEFAULT__": (6, 0),
        "snapshots___DEFAULT__": (1, 0)}


def test_manage_quota_check_then_sync(session_factory: sessionmaker[Session], db_url: str,
                                      tmp_path: pathlib.Path) -> None:
    seed(session_factory, tmp_path)
    conf = tmp_path / "cinderblock.conf"
    conf.write_text(f"[database]\nconnection = {db_url}\n")

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([MANAGE, "--config-file", str(conf), *args],
                              capture_output=True, text=True, timeout=60)

    checked = manage("quota", "check")
    assert checked.returncode == 1, checked.stderr
    assert "p1 gigabytes___DEFAULT__: in_use 0 (actual 6)" in checked.stdout
    synced = manage("quota", "sync", "--project", "p1")
    assert synced.returncode == 0 and "3 usage row(s) fixed" in synced.stdout, synced.stderr
    again = manage("quota", "check")
    assert again.returncode == 0 and "0 usage row(s) drifted" in again.stdout
    listed = manage("task", "list")
    assert listed.returncode == 0 and listed.stdout == ""
