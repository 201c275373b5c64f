"""The sweeper on every database: stuck work is sent again while its owner is up,
failed once its owner has been down too long, and two sweepers never both act."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config, load
from db import quota
from db.agent_messages import record_extend
from db.models import (
    QuotaUsage,
    Service,
    Volume,
    VolumeAttachment,
    VolumeType,
    utcnow,
)
from db.session import session_scope
from scheduler.manager import SchedulerManager
from scheduler.sweeper import Sweeper, returning, stuck_tasks
from tests.api.conftest import RecordingFakeTransport

TIMEOUT = 60
MANAGE = str(pathlib.Path(sys.executable).parent / "cinderblock-manage")
OWNER = "node1@lvm"


@pytest.fixture
def conf(tmp_path: pathlib.Path) -> Config:
    path = tmp_path / "cinderblock.conf"
    path.write_text(f"[DEFAULT]\nstuck_task_timeout = {TIMEOUT}\nservice_down_time = 10\n"
                    "quota_volumes = -1\nquota_gigabytes = -1\n")
    return load([str(path)])


@pytest.fixture
def transport() -> RecordingFakeTransport:
    return RecordingFakeTransport()


def make_sweeper(sessions: sessionmaker[Session], transport: RecordingFakeTransport,
                 conf: Config) -> Sweeper:
    return Sweeper(sessions, SchedulerManager(sessions, transport, conf), conf)  # type: ignore[arg-type]


def ago(seconds: float) -> datetime:
    return utcnow() - timedelta(seconds=seconds)


def add_service(sessions: sessionmaker[Session], last_seen: datetime,
                host: str = OWNER) -> None:
    with session_scope(sessions) as session:
        session.add(Service(host=host, binary="cinderblock-volume", last_seen_at=last_seen))


def add_volume(sessions: sessionmaker[Session], status: str, started: float | None,
               host: str | None = f"{OWNER}#lvm", **columns: Any) -> str:
    with session_scope(sessions) as session:
        volume_type = session.scalars(select(VolumeType)).first()
        volume = Volume(project_id="p1", size=1, status=status, host=host,
                        volume_type=volume_type,
                        task_started_at=None if started is None else ago(started), **columns)
        session.add(volume)
        session.flush()
        return volume.id


def status_of(sessions: sessionmaker[Session], volume_id: str) -> tuple[str, str | None]:
    with sessions() as session:
        volume = session.get(Volume, volume_id)
        assert volume is not None
        return volume.status, volume.status_reason


def test_unplaced_create_is_sent_to_the_scheduler_again_once(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    volume_id = add_volume(session_factory, "creating", TIMEOUT + 5, host=None)
    first = make_sweeper(session_factory, transport, conf).sweep()
    second = make_sweeper(session_factory, transport, conf).sweep()
    assert first.resent == [volume_id] and second.resent == []
    assert transport.casts == [("scheduler", "create_volume",
                                {"volume_id": volume_id, "request_spec": {}})]
    assert status_of(session_factory, volume_id) == ("creating", None)


def test_young_work_is_left_alone(session_factory: sessionmaker[Session],
                                  transport: RecordingFakeTransport, conf: Config) -> None:
    add_service(session_factory, ago(TIMEOUT * 10))
    volume_id = add_volume(session_factory, "deleting", TIMEOUT - 5)
    report = make_sweeper(session_factory, transport, conf).sweep()
    assert (report.resent, report.failed, transport.casts) == ([], [], [])
    assert status_of(session_factory, volume_id) == ("deleting", None)


def test_work_of_a_live_owner_is_sent_to_it_again(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    add_service(session_factory, ago(1))
    creating = add_volume(session_factory, "creating", TIMEOUT + 1)
    deleting = add_volume(session_factory, "deleting", TIMEOUT + 1)
    report = make_sweeper(session_factory, transport, conf).sweep()
    assert sorted(report.resent) == sorted([creating, deleting])
    sent = {(target, method, args["volume"]["id"]) for target, method, args in transport.casts}
    assert sent == {(f"volume.{OWNER}", "create_volume", creating),
                    (f"volume.{OWNER}", "delete_volume", deleting)}


def test_work_of_an_owner_down_too_long_fails_with_a_reason(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    add_service(session_factory, ago(TIMEOUT + 30))
    creating = add_volume(session_factory, "creating", TIMEOUT + 1)
    deleting = add_volume(session_factory, "deleting", TIMEOUT + 1)
    extending = add_volume(session_factory, "extending", TIMEOUT + 1)
    report = make_sweeper(session_factory, transport, conf).sweep()
    assert sorted(report.failed) == sorted([creating, deleting, extending])
    assert transport.casts == []
    status, reason = status_of(session_factory, creating)
    assert status == "error" and reason is not None and OWNER in reason
    assert status_of(session_factory, deleting)[0] == "error_deleting"
    assert status_of(session_factory, extending)[0] == "error_extending"
    with session_factory() as session:
        volume = session.get(Volume, creating)
        assert volume is not None
        assert (volume.task_owner, volume.task_started_at) == (None, None)
        assert volume.host == f"{OWNER}#lvm", "kept so that a delete reaches the backend"


def test_an_owner_never_seen_counts_as_down(session_factory: sessionmaker[Session],
                                            transport: RecordingFakeTransport,
                                            conf: Config) -> None:
    volume_id = add_volume(session_factory, "creating", TIMEOUT + 1, host="ghost@lvm#lvm")
    assert make_sweeper(session_factory, transport, conf).sweep().failed == [volume_id]


def add_extend(sessions: sessionmaker[Session], started: float, new_size: int = 3,
               host: str = f"{OWNER}#lvm") -> str:
    """A volume ``extending`` with the record the API leaves for the sweeper."""
    volume_id = add_volume(sessions, "extending", started, host=host)
    with session_scope(sessions) as session:
        volume = session.get(Volume, volume_id)
        assert volume is not None
        record_extend(volume, new_size, [f"reservation-of-{volume_id}"])
    return volume_id


def test_an_extend_of_a_live_owner_is_sent_again_to_its_recorded_size(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    """The agent's extend is idempotent (an LV already at the size is left alone), so
    a lost extend is sent again like a create, not failed."""
    add_service(session_factory, ago(1))
    volume_id = add_extend(session_factory, TIMEOUT + 1, new_size=4)
    first = make_sweeper(session_factory, transport, conf).sweep()
    second = make_sweeper(session_factory, transport, conf).sweep()
    assert (first.resent, first.failed, second.resent) == ([volume_id], [], [])
    [(target, method, args)] = transport.casts
    assert (target, method) == (f"volume.{OWNER}", "extend_volume")
    assert (args["volume"]["id"], args["volume"]["size"]) == (volume_id, 1)
    assert (args["new_size"], args["reservations"]) == (4, [f"reservation-of-{volume_id}"])
    assert status_of(session_factory, volume_id) == ("extending", None)


def test_an_extend_with_no_record_of_its_size_fails(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    add_service(session_factory, ago(1))
    volume_id = add_volume(session_factory, "extending", TIMEOUT + 1)
    assert make_sweeper(session_factory, transport, conf).sweep().failed == [volume_id]
    assert status_of(session_factory, volume_id)[0] == "error_extending"
    assert transport.casts == []


def test_a_revert_whose_agent_died_ends_in_error_as_cinder_leaves_a_failed_revert(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    volume_id = add_volume(session_factory, "reverting", TIMEOUT + 1, host="ghost@lvm#lvm")
    assert make_sweeper(session_factory, transport, conf).sweep().failed == [volume_id]
    assert status_of(session_factory, volume_id)[0] == "error"


def test_attach_steps_of_a_dead_api_go_back(session_factory: sessionmaker[Session],
                                            transport: RecordingFakeTransport,
                                            conf: Config) -> None:
    attaching = add_volume(session_factory, "attaching", TIMEOUT + 1)
    detaching = add_volume(session_factory, "detaching", TIMEOUT + 1)
    with session_scope(session_factory) as session:
        session.add_all([VolumeAttachment(volume_id=attaching, attach_status="attaching"),
                         VolumeAttachment(volume_id=detaching, attach_status="detaching")])
    make_sweeper(session_factory, transport, conf).sweep()
    assert status_of(session_factory, attaching)[0] == "available"
    assert status_of(session_factory, detaching)[0] == "in-use"
    with session_factory() as session:
        rows = dict(session.execute(select(VolumeAttachment.volume_id,
                                           VolumeAttachment.attach_status)).all())
    assert rows == {attaching: "error_attaching", detaching: "attached"}


def test_expired_reservations_are_given_back(session_factory: sessionmaker[Session],
                                             transport: RecordingFakeTransport,
                                             conf: Config) -> None:
    with session_scope(session_factory) as session:
        quota.reserve(session, "p1", {"gigabytes": 5}, conf=conf.default, expire_seconds=-1)
    assert make_sweeper(session_factory, transport, conf).sweep().reservations_expired == 1
    with session_factory() as session:
        usage = session.scalars(select(QuotaUsage)).one()
        assert (usage.in_use, usage.reserved) == (0, 0)


def test_resume_sends_only_the_returning_owners_creates_deletes_and_extends(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    creating = add_volume(session_factory, "creating", 1)
    deleting = add_volume(session_factory, "deleting", 1)
    extending = add_extend(session_factory, 1)
    add_volume(session_factory, "extending", 1)
    add_volume(session_factory, "available", None)
    add_volume(session_factory, "creating", 1, host="other@lvm#lvm")
    add_extend(session_factory, 1, host="other@lvm#lvm")
    resumed = make_sweeper(session_factory, transport, conf).resume(OWNER)
    assert sorted(resumed) == sorted([creating, deleting, extending])
    assert {target for target, _, _ in transport.casts} == {f"volume.{OWNER}"}


def test_returning_means_a_heartbeat_after_a_gap(session_factory: sessionmaker[Session]
                                                 ) -> None:
    add_service(session_factory, ago(30), host="gone@lvm")
    add_service(session_factory, ago(1), host="alive@lvm")
    with session_factory() as session:
        assert returning(session, "gone@lvm", "cinderblock-volume", 10)
        assert not returning(session, "alive@lvm", "cinderblock-volume", 10)
        assert not returning(session, "new@lvm", "cinderblock-volume", 10)


def test_task_list_shows_owner_and_whether_it_is_up(session_factory: sessionmaker[Session]
                                                    ) -> None:
    add_service(session_factory, ago(1))
    volume_id = add_volume(session_factory, "deleting", 100)
    add_volume(session_factory, "available", None)
    with session_factory() as session:
        tasks = stuck_tasks(session, utcnow(), 10, older_than=50)
    assert [(t.id, t.status, t.owner, t.owner_up) for t in tasks] == [
        (volume_id, "deleting", OWNER, True)]
    assert tasks[0].age >= 100


def test_a_create_the_api_wrote_without_a_stamp_counts_from_its_creation(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    volume_id = add_volume(session_factory, "creating", None, host=None,
                           created_at=ago(TIMEOUT + 1))
    add_volume(session_factory, "creating", None, host=None)
    assert make_sweeper(session_factory, transport, conf).sweep().resent == [volume_id]
    assert make_sweeper(session_factory, transport, conf).sweep().resent == []


def test_after_a_failed_sweep_silence_is_not_taken_for_a_dead_owner(
        session_factory: sessionmaker[Session], transport: RecordingFakeTransport,
        conf: Config) -> None:
    add_service(session_factory, ago(TIMEOUT + 30))
    volume_id = add_volume(session_factory, "creating", TIMEOUT + 1)
    sweeper = make_sweeper(session_factory, transport, conf)
    real_sessions = sweeper.sessions

    def unreachable() -> Session:
        raise ConnectionError("database down (fake)")
    sweeper.sessions = unreachable  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        sweeper.sweep()
    sweeper.sessions = real_sessions
    report = sweeper.sweep()
    assert (report.failed, report.resent) == ([], [volume_id])


def test_manage_task_list_and_clean(session_factory: sessionmaker[Session], db_url: str,
                                    tmp_path: pathlib.Path) -> None:
    volume_id = add_volume(session_factory, "extending", 30, host="ghost@lvm#lvm")
    conf = tmp_path / "manage.conf"
    conf.write_text(f"[DEFAULT]\nstuck_task_timeout = {TIMEOUT}\n"
                    f"[database]\nconnection = {db_url}\n")

    def manage(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([MANAGE, "--config-file", str(conf), "task", *args],
                              capture_output=True, text=True, timeout=60)

    assert manage("list").stdout == ""
    listed = manage("list", "--older-than", "10")
    assert f"volume {volume_id} extending owner=ghost@lvm (down)" in listed.stdout
    cleaned = manage("clean", "--older-than", "10")
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"failed {volume_id}" in cleaned.stdout
    assert status_of(session_factory, volume_id)[0] == "error_extending"
