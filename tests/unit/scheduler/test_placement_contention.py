"""Two schedulers placing a burst of creates at once, on every database: with
capacity left no create may fail for contention, and no pool is overcommitted."""

from __future__ import annotations

import pathlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config, load
from db.models import Pool, Service, Volume, VolumeType, utcnow
from db.session import make_engine, make_session_factory, session_scope
from scheduler.host_manager import VOLUME_BINARY
from scheduler.manager import SchedulerManager
from tests.api.conftest import RecordingFakeTransport

BACKENDS = ("node1@a", "node1@b")
CREATES = 120
THREADS = 12


@pytest.fixture
def conf(tmp_path: pathlib.Path) -> Config:
    path = tmp_path / "cinderblock.conf"
    path.write_text("[DEFAULT]\nquota_volumes = -1\nquota_gigabytes = -1\n")
    return load([str(path)])


@pytest.fixture
def second_engine(db_url: str) -> Engine:
    """The second scheduler has its own connections, as a second process would."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def add_backends(sessions: sessionmaker[Session], capacity_gb: int) -> None:
    with session_scope(sessions) as session:
        for backend in BACKENDS:
            session.add(Service(host=backend, binary=VOLUME_BINARY, last_seen_at=utcnow()))
            session.add(Pool(host=f"{backend}#{backend.split('@')[1]}", capabilities={
                "total_capacity_gb": capacity_gb, "free_capacity_gb": capacity_gb,
                "provisioned_capacity_gb": 0, "reserved_percentage": 0}))


def add_creating(sessions: sessionmaker[Session], count: int) -> list[str]:
    with session_scope(sessions) as session:
        volume_type = session.scalars(select(VolumeType)).first()
        volumes = [Volume(project_id="p1", size=1, status="creating", volume_type=volume_type)
                   for _ in range(count)]
        session.add_all(volumes)
        session.flush()
        return [volume.id for volume in volumes]


def place_all(schedulers: list[SchedulerManager], ids: list[str]) -> None:
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda i: schedulers[i % 2].create_volume(ids[i]), range(len(ids))))


def outcome(sessions: sessionmaker[Session]) -> tuple[dict[str, int], dict[str, int]]:
    with sessions() as session:
        statuses: dict[str, int] = {}
        for volume in session.scalars(select(Volume)):
            key = volume.status if volume.host or volume.status == "error" else "unplaced"
            statuses[key] = statuses.get(key, 0) + 1
        allocated = {p.host: p.allocated_capacity_gb for p in session.scalars(select(Pool))}
        return statuses, allocated


def schedulers(session_factory: sessionmaker[Session], second_engine: Engine,
               conf: Config) -> tuple[list[SchedulerManager], RecordingFakeTransport]:
    transport = RecordingFakeTransport()
    return [SchedulerManager(session_factory, transport, conf),  # type: ignore[arg-type]
            SchedulerManager(make_session_factory(second_engine), transport,  # type: ignore[arg-type]
                             conf)], transport


def test_no_create_is_lost_to_contention_while_capacity_exists(
        session_factory: sessionmaker[Session], second_engine: Engine, conf: Config) -> None:
    add_backends(session_factory, capacity_gb=1000)
    ids = add_creating(session_factory, CREATES)
    managers, transport = schedulers(session_factory, second_engine, conf)
    place_all(managers, ids)
    statuses, allocated = outcome(session_factory)
    assert statuses == {"creating": CREATES}
    assert sum(allocated.values()) == CREATES
    assert sorted(args["volume"]["id"] for _, _, args in transport.casts) == sorted(ids)


def test_contention_never_overcommits_a_pool(
        session_factory: sessionmaker[Session], second_engine: Engine, conf: Config) -> None:
    add_backends(session_factory, capacity_gb=CREATES // 4)
    ids = add_creating(session_factory, CREATES)
    managers, _ = schedulers(session_factory, second_engine, conf)
    place_all(managers, ids)
    statuses, allocated = outcome(session_factory)
    assert statuses == {"creating": CREATES // 2, "error": CREATES // 2}
    assert allocated == {f"{b}#{b.split('@')[1]}": CREATES // 4 for b in BACKENDS}
