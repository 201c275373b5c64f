"""Quota limits, usage and reservations that stay exact under concurrency.

A create reserves its deltas before any work starts and commits them when the
resource exists (or rolls them back when it does not). ``reserve`` locks the
project's usage rows ``FOR UPDATE`` one by one in a fixed (project, resource)
order, checks ``in_use + reserved + delta`` against the limit and raises
:class:`OverQuota` with everything the API needs for Cinder's 413. Concurrent
requests therefore queue on the row lock and can never all pass the check;
SQLite gets the same effect from its single ``BEGIN IMMEDIATE`` writer.

A missing usage row is created with the server's "insert unless it exists"
(``ON CONFLICT DO NOTHING``; on MariaDB ``ON DUPLICATE KEY UPDATE``, which takes
the row's exclusive lock where a failed plain INSERT would take a shared lock
and deadlock the next ``FOR UPDATE``). Racing first requests never see a key
error and never need a second connection from the pool.

Limits resolve project override, then quota class (``default`` unless given),
then the configured default; -1 means unlimited. Usage never goes below zero.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from common.config import Section
from db.models import Quota, QuotaClass, QuotaUsage, Reservation, VolumeType, utcnow

__all__ = [
    "OverQuota", "Usage", "DEFAULT_QUOTA_CLASS", "UNLIMITED", "limits", "default_limits",
    "resource_names", "usages", "set_project_limit", "set_class_limit", "reserve", "commit",
    "rollback", "expire", "rename_volume_type",
]

LOG = logging.getLogger(__name__)
DEFAULT_QUOTA_CLASS = "default"
UNLIMITED = -1
# Cinder's order in a quota_set; per-type resources go before "groups".
_BASE_BEFORE_TYPES = ("volumes", "per_volume_gigabytes", "snapshots", "gigabytes", "backups",
                      "backup_gigabytes")
_BASE_AFTER_TYPES = ("groups",)
_PER_TYPE = ("volumes", "gigabytes", "snapshots")


class OverQuota(Exception):
    """A reservation would pass ``limit`` for ``resource``; the API answers 413 overLimit."""

    def __init__(self, resource: str, limit: int, in_use: int, reserved: int,
                 requested: int) -> None:
        self.resource = resource
        self.limit = limit
        self.in_use = in_use
        self.reserved = reserved
        self.requested = requested
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Cinder's wording, exception name first, as its 413 bodies carry it."""
        if self.resource.startswith("gigabytes"):
            return (f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds "
                    f"allowed {self.resource} quota. Requested {self.requested}G, quota is "
                    f"{self.limit}G and {self.in_use + self.reserved}G has been consumed.")
        if self.resource.startswith("volumes"):
            return (f"VolumeLimitExceeded: Maximum number of volumes allowed ({self.limit}) "
                    f"exceeded for quota '{self.resource}'.")
        if self.resource.startswith("snapshots"):
            return (f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                    f"({self.limit}) exceeded")
        return f"OverQuota: Quota exceeded for resources: ['{self.resource}']"


@dataclass(frozen=True)
class Usage:
    in_use: int
    reserved: int


def resource_names(session: Session) -> list[str]:
    """Every quota resource, including ``volumes_<type>`` etc. for each volume type."""
    type_names = session.scalars(select(VolumeType.name).order_by(VolumeType.created_at,
                                                                  VolumeType.name))
    per_type = [f"{kind}_{name}" for name in type_names for kind in _PER_TYPE]
    return [*_BASE_BEFORE_TYPES, *per_type, *_BASE_AFTER_TYPES]


def _configured_default(conf: Section, resource: str) -> int:
    if resource.startswith(tuple(f"{kind}_" for kind in _PER_TYPE)):
        return UNLIMITED
    if resource == "per_volume_gigabytes":
        return conf.per_volume_size_limit
    return getattr(conf, f"quota_{resource}")


def default_limits(session: Session, conf: Section,
                   quota_class: str = DEFAULT_QUOTA_CLASS) -> dict[str, int]:
    """Limits of a project with no overrides: the class's rows over the configuration."""
    class_rows = dict(session.execute(
        select(QuotaClass.resource, QuotaClass.hard_limit)
        .where(QuotaClass.class_name == quota_class)).all())
    return {name: class_rows.get(name, _configured_default(conf, name))
            for name in resource_names(session)}


def limits(session: Session, conf: Section, project_id: str,
           quota_class: str = DEFAULT_QUOTA_CLASS) -> dict[str, int]:
    """The effective limit of every resource for ``project_id``."""
    project_rows = dict(session.execute(
        select(Quota.resource, Quota.hard_limit)
        .where(Quota.project_id == project_id)).all())
    return {name: project_rows.get(name, limit)
            for name, limit in default_limits(session, conf, quota_class).items()}


def usages(session: Session, project_id: str) -> dict[str, Usage]:
    """Usage rows that exist; a resource never used has none (read it as 0/0)."""
    rows = session.scalars(select(QuotaUsage).where(QuotaUsage.project_id == project_id))
    return {row.resource: Usage(row.in_use, row.reserved) for row in rows}


def _upsert_limit(session: Session, model: type[Quota] | type[QuotaClass], owner_column: str,
                  owner: str, resource: str, hard_limit: int) -> None:
    row = session.scalars(select(model).where(
        getattr(model, owner_column) == owner, model.resource == resource)).one_or_none()
    if row is None:
        session.add(model(**{owner_column: owner}, resource=resource, hard_limit=hard_limit))
    else:
        row.hard_limit = hard_limit
    session.flush()


def set_project_limit(session: Session, project_id: str, resource: str,
                      hard_limit: int) -> None:
    """An admin's override for one project (``os-quota-sets`` update)."""
    _upsert_limit(session, Quota, "project_id", project_id, resource, hard_limit)


def set_class_limit(session: Session, class_name: str, resource: str, hard_limit: int) -> None:
    _upsert_limit(session, QuotaClass, "class_name", class_name, resource, hard_limit)


def _insert_usage_if_missing(session: Session, project_id: str, resource: str) -> None:
    values = {"project_id": project_id, "resource": resource, "in_use": 0, "reserved": 0,
              "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        statement = mysql_insert(QuotaUsage).values(**values)
        statement = statement.on_duplicate_key_update(resource=statement.inserted.resource)
    elif dialect == "postgresql":
        statement = postgresql_insert(QuotaUsage).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(QuotaUsage).values(**values).on_conflict_do_nothing()
    session.execute(statement)


def _lock_usages(session: Session, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str],
                                                                          QuotaUsage]:
    """Lock each (project, resource) usage row, creating it if missing, in sorted order."""
    locked: dict[tuple[str, str], QuotaUsage] = {}
    for project_id, resource in sorted(set(keys)):
        query = (select(QuotaUsage)
                 .where(QuotaUsage.project_id == project_id, QuotaUsage.resource == resource)
                 .with_for_update()
                 .execution_options(populate_existing=True))
        row = session.scalars(query).one_or_none()
        if row is None:
            _insert_usage_if_missing(session, project_id, resource)
            row = session.scalars(query).one()
        locked[(project_id, resource)] = row
    return locked


def reserve(session: Session, project_id: str, deltas: Mapping[str, int], *, conf: Section,
            quota_class: str = DEFAULT_QUOTA_CLASS,
            expire_seconds: int | None = None) -> list[str]:
    """Reserve ``deltas`` (e.g. ``{"volumes": 1, "gigabytes": 10}``) or raise OverQuota.

    Negative deltas (freeing) are never refused. Returns one reservation id per
    non-zero delta; pass them to :func:`commit` or :func:`rollback` in the same
    or a later transaction. The caller's transaction must commit for the
    reservation to hold.
    """
    known = set(resource_names(session)) - {"per_volume_gigabytes"}
    unknown = sorted(set(deltas) - known)
    if unknown:
        raise ValueError(f"unknown quota resources: {', '.join(unknown)}")
    wanted = {resource: delta for resource, delta in deltas.items() if delta}
    if not wanted:
        return []
    effective = limits(session, conf, project_id, quota_class)
    locked = _lock_usages(session, ((project_id, resource) for resource in wanted))
    for resource, delta in wanted.items():
        usage, limit = locked[(project_id, resource)], effective[resource]
        if delta > 0 and limit != UNLIMITED and usage.in_use + usage.reserved + delta > limit:
            raise OverQuota(resource, limit, usage.in_use, usage.reserved, delta)
    seconds = conf.reservation_expire if expire_seconds is None else expire_seconds
    expires_at = utcnow() + timedelta(seconds=seconds)
    reservations = []
    for resource, delta in wanted.items():
        usage = locked[(project_id, resource)]
        if delta > 0:
            usage.reserved += delta
        reservations.append(Reservation(usage_id=usage.id, project_id=project_id,
                                        resource=resource, delta=delta, expire=expires_at))
    session.add_all(reservations)
    session.flush()
    return [reservation.uuid for reservation in reservations]


def _settle(session: Session, reservations: list[Reservation], apply: bool) -> int:
    """Release the reserved amounts; with ``apply`` also move the deltas into ``in_use``."""
    if not reservations:
        return 0
    locked = _lock_usages(session, ((r.project_id, r.resource) for r in reservations))
    # Holding the usage locks, re-read: a racing settle of the same ids has committed
    # by now, and the reservations it removed must not be applied twice.
    reservations = list(session.scalars(
        select(Reservation).where(Reservation.id.in_([r.id for r in reservations]))
        .execution_options(populate_existing=True)))
    for reservation in reservations:
        usage = locked[(reservation.project_id, reservation.resource)]
        if reservation.delta > 0:
            usage.reserved = max(0, usage.reserved - reservation.delta)
        if apply:
            in_use = usage.in_use + reservation.delta
            if in_use < 0:
                LOG.warning("quota usage of %s for project %s would drop to %d; kept at 0",
                            reservation.resource, reservation.project_id, in_use)
            usage.in_use = max(0, in_use)
    session.execute(delete(Reservation)
                    .where(Reservation.id.in_([r.id for r in reservations]))
                    .execution_options(synchronize_session=False))
    for reservation in reservations:
        session.expunge(reservation)
    session.flush()
    return len(reservations)


def _reservations(session: Session, reservation_ids: Iterable[str]) -> list[Reservation]:
    ids = list(reservation_ids)
    if not ids:
        return []
    return list(session.scalars(select(Reservation).where(Reservation.uuid.in_(ids))))


def commit(session: Session, reservation_ids: Iterable[str]) -> None:
    """Make reserved amounts real usage. Ids already settled or expired are ignored."""
    _settle(session, _reservations(session, reservation_ids), apply=True)


def rollback(session: Session, reservation_ids: Iterable[str]) -> None:
    """Give reserved amounts back. Ids already settled or expired are ignored."""
    _settle(session, _reservations(session, reservation_ids), apply=False)


def expire(session: Session, now: datetime | None = None) -> int:
    """Roll back every reservation past its expiry; returns how many. Run periodically."""
    stale = session.scalars(select(Reservation).where(Reservation.expire < (now or utcnow())))
    return _settle(session, list(stale), apply=False)


def rename_volume_type(session: Session, old_name: str, new_name: str) -> None:
    """Carry ``volumes_<type>``-style limits, usage and reservations over to a type's new name.

    Per-type resources are keyed by type name (as Cinder's API shows them), so a
    rename that left them behind would reset the type's usage and limits.
    """
    for kind in _PER_TYPE:
        old, new = f"{kind}_{old_name}", f"{kind}_{new_name}"
        for model in (Quota, QuotaClass, QuotaUsage, Reservation):
            session.execute(update(model).where(model.resource == old).values(resource=new)
                            .execution_options(synchronize_session=False))
