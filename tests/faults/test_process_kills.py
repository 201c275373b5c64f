"""kill -9 of the agent, the scheduler and the API in the middle of work, on the real
broker and database with a recorded fake backend (the control plane is under test,
not LVM): afterwards every volume is settled, usage equals the rows and the fake
backend did each piece of work once."""

from __future__ import annotations

import pathlib
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import Transport
from db import quota
from db.models import Pool, Volume, VolumeType, utcnow
from db.session import session_scope
from tests.faults.cluster import PROJECT, Api, check_end_state, running
from tests.messaging.cluster import Deployment, wait_for


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str, one_db_url: str,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    with running(tmp_path, broker_url, one_db_url, session_factory, transport) as made:
        yield made


@pytest.fixture
def api(deployment: Deployment) -> Iterator[Api]:
    made = Api(deployment).start()
    yield made
    made.close()


def status(sessions: sessionmaker[Session], volume_id: str) -> str | None:
    with sessions() as session:
        volume = session.get(Volume, volume_id)
        return None if volume is None else volume.status


def test_agent_killed_mid_create_and_mid_delete(
        deployment: Deployment, api: Api, session_factory: sessionmaker[Session],
        summary: list[str]) -> None:
    started = time.monotonic()
    slow_create = deployment.write(fake_create_delay=30)
    # Only the delete is slow then: a create resent meanwhile must not hold the volume.
    slow_delete = deployment.write(fake_delete_delay=30)
    deployment.start("cinderblock-scheduler")
    agent = deployment.start("cinderblock-volume", slow_create)
    wait_for(lambda: deployment.view.schedulable() == 1, timeout=30)

    volume_id = api.create(2)
    wait_for(lambda: deployment.recorded(volume_id) == ["created"], timeout=20)
    agent.signal(signal.SIGKILL)
    agent = deployment.start("cinderblock-volume")
    wait_for(lambda: status(session_factory, volume_id) == "available", timeout=30)

    agent.signal(signal.SIGKILL)
    agent = deployment.start("cinderblock-volume", slow_delete)
    api.delete(volume_id)
    wait_for(lambda: "deleted" in deployment.recorded(volume_id), timeout=20)
    agent.signal(signal.SIGKILL)
    deployment.start("cinderblock-volume")
    wait_for(lambda: status(session_factory, volume_id) is None, timeout=30)

    assert check_end_state(deployment, session_factory) == {}
    effects = deployment.recorded(volume_id)
    assert effects.count("created") == 1 and effects.count("deleted") == 1, effects
    summary.append(f"agent kill -9 mid-create and mid-delete: created once, deleted once, "
                   f"usage exact ({time.monotonic() - started:.0f}s)")


def test_agent_down_longer_than_the_timeout_fails_its_create(
        deployment: Deployment, api: Api, session_factory: sessionmaker[Session],
        summary: list[str]) -> None:
    started = time.monotonic()
    slow = deployment.write(fake_create_delay=30)
    deployment.start("cinderblock-scheduler")
    agent = deployment.start("cinderblock-volume", slow)
    wait_for(lambda: deployment.view.schedulable() == 1, timeout=30)
    volume_id = api.create(1)
    wait_for(lambda: deployment.recorded(volume_id) == ["created"], timeout=20)
    agent.signal(signal.SIGKILL)

    wait_for(lambda: status(session_factory, volume_id) == "error", timeout=30)
    body = api.client.get(f"/volumes/{volume_id}").json()["volume"]
    assert body["status"] == "error"

    # Back again, it finishes the redelivered create (ignored: the volume gave up) and
    # the user's delete removes what the backend had made.
    deployment.start("cinderblock-volume")
    wait_for(lambda: "exists" in deployment.recorded(volume_id), timeout=30)
    api.delete(volume_id)
    wait_for(lambda: status(session_factory, volume_id) is None, timeout=30)
    assert check_end_state(deployment, session_factory) == {}
    effects = deployment.recorded(volume_id)
    # A delete resent at the agent's return may find the volume already gone: "absent".
    assert effects.count("created") == 1 and effects.count("deleted") == 1, effects
    summary.append(f"agent down beyond stuck_task_timeout: create failed to error, "
                   f"delete removed the partial volume ({time.monotonic() - started:.0f}s)")


def write_without_cast(deployment: Deployment, sessions: sessionmaker[Session],
                       host: str | None) -> str:
    """The row, quota and pool claim a create leaves when its process dies before
    casting: the API before the scheduler cast (``host`` None), the scheduler after
    placing and before the agent cast."""
    with session_scope(sessions) as session:
        volume_type = session.scalars(select(VolumeType)).one()
        volume = Volume(project_id=PROJECT, size=1, status="creating",
                        volume_type=volume_type, host=host)
        session.add(volume)
        session.flush()
        ids = quota.reserve(session, PROJECT, {"volumes": 1, "gigabytes": 1,
                                               f"volumes_{volume_type.name}": 1,
                                               f"gigabytes_{volume_type.name}": 1},
                            conf=deployment.view.conf.default)
        quota.commit(session, ids)
        if host:
            session.execute(update(Volume).where(Volume.id == volume.id).values(
                task_owner=host.split("#")[0], task_started_at=utcnow()))
            session.execute(update(Pool).where(Pool.host == host).values(
                allocated_capacity_gb=Pool.allocated_capacity_gb + 1))
        return volume.id


def test_api_and_scheduler_killed_mid_request(
        deployment: Deployment, api: Api, session_factory: sessionmaker[Session],
        summary: list[str]) -> None:
    started = time.monotonic()
    scheduler, _ = deployment.start_all()
    outcomes: list[str] = []

    def stream(count: int) -> None:
        for _ in range(count):
            try:
                outcomes.append(str(api.client.post(
                    "/volumes", json={"volume": {"size": 1}}).status_code))
            except httpx.TransportError as exc:
                outcomes.append(type(exc).__name__)
            time.sleep(0.05)

    caster = threading.Thread(target=stream, args=(40,))
    caster.start()
    wait_for(lambda: len(outcomes) >= 5)
    scheduler.signal(signal.SIGKILL)
    wait_for(lambda: len(outcomes) >= 12)
    assert api.daemon is not None
    api.daemon.signal(signal.SIGKILL)
    orphans = [write_without_cast(deployment, session_factory, None),
               write_without_cast(deployment, session_factory, f"{deployment.node}@a#a")]
    deployment.start("cinderblock-scheduler")
    api.start()
    caster.join(timeout=120)
    after = [api.create(1) for _ in range(3)]

    volumes = check_end_state(deployment, session_factory, timeout=60)
    accepted = outcomes.count("202")
    assert set(outcomes) <= {"202", "ConnectError", "RemoteProtocolError", "ReadError"}, \
        outcomes
    assert {v.status for v in volumes.values()} == {"available"}, (
        [v.status_reason for v in volumes.values()], deployment.logs())
    assert set(orphans + after) <= set(volumes)
    assert len(volumes) >= accepted + len(orphans) + len(after)
    summary.append(f"API and scheduler kill -9 mid-stream: {accepted} creates accepted, "
                   f"{len(outcomes) - accepted} cut off, 3 after restart, {len(volumes)} volumes "
                   f"all available incl. 2 left uncast ({time.monotonic() - started:.0f}s)")
