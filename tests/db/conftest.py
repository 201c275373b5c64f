"""Helpers the database tests share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from common.config import Section
from common.options import DATABASE_OPTS
from db.models import DEFAULT_VOLUME_TYPE, Volume, VolumeType
from db.session import make_engine

T = TypeVar("T")


def race(count: int, attempt: Callable[[], T]) -> list[T | BaseException]:
    """Run ``attempt`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run() -> T | BaseException:
        barrier.wait()
        try:
            return attempt()
        except Exception as exc:  # collected and asserted on by the caller
            return exc

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


@pytest.fixture
def race_engine(db_url: str) -> Iterator[Engine]:
    """An engine with a connection per racing thread, so the race is in the database."""
    engine = make_engine(Section("database", DATABASE_OPTS, {
        "connection": db_url, "max_pool_size": 40, "max_overflow": 0,
        "pool_timeout": 60, "connection_recycle_time": 3600}))
    yield engine
    engine.dispose()


def add_volume(session: Session, status: str = "available", **values: object) -> Volume:
    default_type = session.scalars(select(VolumeType).where(
        VolumeType.name == DEFAULT_VOLUME_TYPE)).one()
    volume = Volume(project_id=values.pop("project_id", "project-a"), size=1, status=status,
                    volume_type_id=default_type.id, **values)
    session.add(volume)
    session.commit()
    return volume
