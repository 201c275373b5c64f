"""Quota usage against the rows it counts: find drift and fix it.

``quota_usages`` is a running total kept by reserve/commit; the truth is the rows.
A volume or snapshot row counts from the transaction that wrote it until it is
deleted, whatever its status (an ``error`` volume still holds its quota, as in
Cinder): a volume ``volumes`` 1 and ``gigabytes`` its size, a snapshot
``snapshots`` 1 and ``gigabytes`` its volume's size, each overall and per volume
type. ``reserved`` is the sum of the positive deltas of unexpired reservations.
``sync`` rewrites drifted rows holding their row locks, the same locks reserve
takes, so it can run beside live traffic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import QuotaUsage, Reservation, Snapshot, Volume, VolumeType
from db.quota import lock_usages, write_usages

__all__ = ["Drift", "actual_usage", "check", "sync"]

_Key = tuple[str, str]


@dataclass(frozen=True)
class Drift:
    project_id: str
    resource: str
    in_use: int
    actual_in_use: int
    reserved: int
    actual_reserved: int

    def __str__(self) -> str:
        return (f"{self.project_id} {self.resource}: in_use {self.in_use} (actual "
                f"{self.actual_in_use}), reserved {self.reserved} (actual "
                f"{self.actual_reserved})")


def _count(totals: Counter[_Key], project_id: str, type_name: str, kind: str, count: int,
           gigabytes: int) -> None:
    for suffix in ("", f"_{type_name}"):
        totals[(project_id, f"{kind}{suffix}")] += count
        totals[(project_id, f"gigabytes{suffix}")] += gigabytes


def actual_usage(session: Session, project_id: str | None = None) -> Counter[_Key]:
    """``in_use`` as the rows say, keyed by (project, resource)."""
    totals: Counter[_Key] = Counter()
    volumes = (select(Volume.project_id, VolumeType.name, func.count(), func.sum(Volume.size))
               .join(VolumeType, VolumeType.id == Volume.volume_type_id)
               .where(Volume.consumes_quota.is_(True))
               .group_by(Volume.project_id, VolumeType.name))
    snapshots = (select(Snapshot.project_id, VolumeType.name, func.count(),
                        func.sum(Snapshot.volume_size))
                 .join(VolumeType, VolumeType.id == Snapshot.volume_type_id)
                 .where(Snapshot.consumes_quota.is_(True))
                 .group_by(Snapshot.project_id, VolumeType.name))
    if project_id is not None:
        volumes = volumes.where(Volume.project_id == project_id)
        snapshots = snapshots.where(Snapshot.project_id == project_id)
    for kind, statement in (("volumes", volumes), ("snapshots", snapshots)):
        for project, type_name, count, gigabytes in session.execute(statement):
            _count(totals, project, type_name, kind, int(count), int(gigabytes or 0))
    return totals


def _actual_reserved(session: Session, project_id: str | None) -> Counter[_Key]:
    statement = (select(Reservation.project_id, Reservation.resource,
                        func.sum(Reservation.delta))
                 .where(Reservation.delta > 0)
                 .group_by(Reservation.project_id, Reservation.resource))
    if project_id is not None:
        statement = statement.where(Reservation.project_id == project_id)
    return Counter({(project, resource): int(total)
                    for project, resource, total in session.execute(statement)})


def check(session: Session, project_id: str | None = None) -> list[Drift]:
    """Every usage row (or missing row) that differs from the rows it counts."""
    in_use = actual_usage(session, project_id)
    reserved = _actual_reserved(session, project_id)
    statement = select(QuotaUsage.project_id, QuotaUsage.resource, QuotaUsage.in_use,
                       QuotaUsage.reserved)
    if project_id is not None:
        statement = statement.where(QuotaUsage.project_id == project_id)
    recorded = {(row.project_id, row.resource): (row.in_use, row.reserved)
                for row in session.execute(statement)}
    drifts = []
    for key in sorted(set(recorded) | set(in_use) | set(reserved)):
        have = recorded.get(key, (0, 0))
        if have != (in_use[key], reserved[key]):
            drifts.append(Drift(*key, have[0], in_use[key], have[1], reserved[key]))
    return drifts


def sync(session: Session, project_id: str | None = None) -> list[Drift]:
    """Make usage equal the rows; returns what was wrong. The caller commits."""
    drifts = check(session, project_id)
    if not drifts:
        return []
    locked = lock_usages(session, ((d.project_id, d.resource) for d in drifts))
    # Counted again under the locks: a create that committed meanwhile is included.
    in_use = actual_usage(session, project_id)
    reserved = _actual_reserved(session, project_id)
    for key, row in locked.items():
        row.new_in_use, row.new_reserved = in_use[key], reserved[key]
    write_usages(session, locked)
    return drifts
