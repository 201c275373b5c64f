"""Quota reservations against the real servers: limits hold under concurrency."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Section, load
from db import quota
from db.models import QuotaUsage, Reservation, VolumeType, utcnow
from db.session import make_session_factory, session_scope
from tests.db.conftest import race

PROJECT = "project-q"


@pytest.fixture
def conf(tmp_path: Path) -> Section:
    path = tmp_path / "cinderblock.conf"
    path.write_text("[DEFAULT]\nquota_volumes = 10\nquota_gigabytes = 100\n"
                    "quota_snapshots = 5\nper_volume_size_limit = 50\n")
    return load([str(path)]).default


def _usage(session: Session, resource: str) -> tuple[int, int]:
    usage = quota.usages(session, PROJECT)[resource]
    return usage.in_use, usage.reserved


def test_limits_resolve_project_then_class_then_configuration(
        db_session: Session, conf: Section) -> None:
    quota.set_class_limit(db_session, quota.DEFAULT_QUOTA_CLASS, "snapshots", 7)
    quota.set_project_limit(db_session, PROJECT, "volumes", 3)
    db_session.commit()
    limits = quota.limits(db_session, conf, PROJECT)
    assert (limits["volumes"], limits["snapshots"], limits["gigabytes"]) == (3, 7, 100)
    assert limits["per_volume_gigabytes"] == 50
    assert limits["volumes___DEFAULT__"] == quota.UNLIMITED
    assert quota.limits(db_session, conf, "other-project")["volumes"] == 10
    assert list(limits)[:6] == ["volumes", "per_volume_gigabytes", "snapshots", "gigabytes",
                                "backups", "backup_gigabytes"]
    assert list(limits)[-1] == "groups"


def test_reserve_then_commit_moves_reserved_into_in_use(
        db_session: Session, conf: Section) -> None:
    ids = quota.reserve(db_session, PROJECT, {"volumes": 1, "gigabytes": 20}, conf=conf)
    db_session.commit()
    assert len(ids) == 2
    assert _usage(db_session, "gigabytes") == (0, 20)
    quota.commit(db_session, ids)
    db_session.commit()
    assert _usage(db_session, "gigabytes") == (20, 0)
    assert _usage(db_session, "volumes") == (1, 0)
    quota.commit(db_session, ids)  # settled ids are ignored, not applied twice
    db_session.commit()
    assert _usage(db_session, "gigabytes") == (20, 0)


def test_rollback_gives_the_reservation_back(db_session: Session, conf: Section) -> None:
    ids = quota.reserve(db_session, PROJECT, {"volumes": 1, "gigabytes": 5}, conf=conf)
    quota.rollback(db_session, ids)
    db_session.commit()
    assert _usage(db_session, "gigabytes") == (0, 0)
    assert db_session.scalars(select(Reservation)).all() == []


def test_over_quota_names_resource_limit_usage_and_request(
        db_session: Session, conf: Section) -> None:
    quota.commit(db_session, quota.reserve(db_session, PROJECT, {"gigabytes": 30}, conf=conf))
    quota.reserve(db_session, PROJECT, {"gigabytes": 10}, conf=conf)
    with pytest.raises(quota.OverQuota) as caught:
        quota.reserve(db_session, PROJECT, {"volumes": 1, "gigabytes": 70}, conf=conf)
    over = caught.value
    assert (over.resource, over.limit, over.in_use, over.reserved, over.requested) == (
        "gigabytes", 100, 30, 10, 70)
    assert over.message == (
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
        "gigabytes quota. Requested 70G, quota is 100G and 40G has been consumed.")


def test_per_type_quota_is_enforced_when_set(db_session: Session, conf: Section) -> None:
    db_session.add(VolumeType(name="gold"))
    quota.set_project_limit(db_session, PROJECT, "volumes_gold", 1)
    db_session.commit()
    quota.reserve(db_session, PROJECT, {"volumes": 1, "volumes_gold": 1}, conf=conf)
    with pytest.raises(quota.OverQuota) as caught:
        quota.reserve(db_session, PROJECT, {"volumes": 1, "volumes_gold": 1}, conf=conf)
    assert caught.value.message == (
        "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota "
        "'volumes_gold'.")


def test_unknown_resource_is_refused(db_session: Session, conf: Section) -> None:
    with pytest.raises(ValueError, match="volumes_nosuchtype"):
        quota.reserve(db_session, PROJECT, {"volumes_nosuchtype": 1}, conf=conf)


def test_freeing_more_than_used_keeps_usage_at_zero(db_session: Session, conf: Section) -> None:
    quota.commit(db_session, quota.reserve(db_session, PROJECT, {"volumes": 1}, conf=conf))
    quota.commit(db_session, quota.reserve(db_session, PROJECT, {"volumes": -3}, conf=conf))
    db_session.commit()
    assert _usage(db_session, "volumes") == (0, 0)


def test_expire_rolls_back_only_stale_reservations(db_session: Session, conf: Section) -> None:
    quota.reserve(db_session, PROJECT, {"gigabytes": 4}, conf=conf, expire_seconds=60)
    kept = quota.reserve(db_session, PROJECT, {"gigabytes": 6}, conf=conf)
    db_session.commit()
    assert quota.expire(db_session, now=utcnow() + timedelta(seconds=120)) == 1
    db_session.commit()
    assert _usage(db_session, "gigabytes") == (0, 6)
    assert db_session.scalars(select(Reservation.uuid)).all() == kept


def test_concurrent_reservations_never_pass_the_limit(
        session_factory: sessionmaker[Session], race_engine: Engine, conf: Section) -> None:
    racers = make_session_factory(race_engine)

    def create_one() -> list[str]:
        with session_scope(racers) as session:
            ids = quota.reserve(session, PROJECT, {"volumes": 1, "gigabytes": 1}, conf=conf)
        with session_scope(racers) as session:
            quota.commit(session, ids)
        return ids

    results = race(30, create_one)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, quota.OverQuota) for e in errors), errors
    assert len(results) - len(errors) == 10
    with session_factory() as session:
        rows = session.scalars(select(QuotaUsage).where(QuotaUsage.project_id == PROJECT))
        assert {(r.resource, r.in_use, r.reserved) for r in rows} == {
            ("volumes", 10, 0), ("gigabytes", 10, 0)}


def test_renaming_a_type_keeps_its_limits_and_usage(db_session: Session, conf: Section) -> None:
    gold = VolumeType(name="gold")
    db_session.add(gold)
    quota.set_project_limit(db_session, PROJECT, "volumes_gold", 4)
    quota.commit(db_session, quota.reserve(db_session, PROJECT, {"volumes_gold": 1}, conf=conf))
    gold.name = "platinum"
    quota.rename_volume_type(db_session, "gold", "platinum")
    db_session.commit()
    assert quota.limits(db_session, conf, PROJECT)["volumes_platinum"] == 4
    assert _usage(db_session, "volumes_platinum") == (1, 0)


def test_racing_first_uses_of_a_project_neither_deadlock_nor_pass_the_limit(
        session_factory: sessionmaker[Session], race_engine: Engine, conf: Section) -> None:
    """Creates consume at once; the first ones of a project also create its usage rows
    (on MariaDB a locking full scan of the small table deadlocked them)."""
    racers = make_session_factory(race_engine)
    deltas = {"volumes": 1, "gigabytes": 1, "volumes___DEFAULT__": 1,
              "gigabytes___DEFAULT__": 1}
    for project in ("first-a", "first-b", "first-c"):
        def consume_one(project: str = project) -> None:
            with session_scope(racers) as session:
                quota.consume(session, project, deltas, conf=conf)

        results = race(30, consume_one)
        errors = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(e, quota.OverQuota) for e in errors), errors
        assert len(results) - len(errors) == 10
        with session_factory() as session:
            assert {r: (u.in_use, u.reserved) for r, u in quota.usages(session, project).items()
                    } == {resource: (10, 0) for resource in deltas}


def test_a_refused_consume_changes_no_usage(db_session: Session, conf: Section) -> None:
    """The guarded UPDATE adds to every row within its limit; one row over its limit
    (here the type's) must undo the others, so the refusal leaves usage as it was."""
    db_session.add(VolumeType(name="gold"))
    quota.set_project_limit(db_session, PROJECT, "volumes_gold", 1)
    deltas = {"volumes": 1, "gigabytes": 5, "volumes_gold": 1, "gigabytes_gold": 5}
    quota.consume(db_session, PROJECT, deltas, conf=conf)
    db_session.commit()
    with pytest.raises(quota.OverQuota) as caught:
        quota.consume(db_session, PROJECT, deltas, conf=conf)
    assert caught.value.resource == "volumes_gold"
    db_session.commit()
    assert {r: (u.in_use, u.reserved) for r, u in quota.usages(db_session, PROJECT).items()
            } == {"volumes": (1, 0), "gigabytes": (5, 0), "volumes_gold": (1, 0),
                  "gigabytes_gold": (5, 0)}
