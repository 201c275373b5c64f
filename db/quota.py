"""Quota limits, usage and in-flight reservations that stay exact under concurrency.

Work whose resource is written or removed in the same transaction (a volume row
the API writes, a row the controller removes) applies its deltas at once with
:func:`consume`. Work that ends later (an extend) reserves them with :func:`reserve`
and settles them with :func:`commit` or :func:`rollback` when it ends; :func:`expire`
gives back what nobody settled. Either way the project's usage rows are locked by
one ``SELECT ... FOR UPDATE`` ordered by (project, resource), the same order for
every locker, ``in_use + reserved + delta`` is checked against each limit
(:class:`OverQuota` carries everything the API needs for Cinder's 413) and the new
figures are written by one UPDATE. Concurrent requests therefore queue on the row
locks and can never all pass the check; SQLite gets the same effect from its single
``BEGIN IMMEDIATE`` writer. A create costs three statements: the limits of the
resources it names (one query), the lock and the UPDATE.

Usage rows missing at the lock (a project's first use of a resource) are created
with the server's "insert unless it exists" (``ON CONFLICT DO NOTHING``; on MariaDB
``ON DUPLICATE KEY UPDATE``, which takes the row's exclusive lock where a failed
plain INSERT would take a shared lock and deadlock the next ``FOR UPDATE``) and the
lock is taken again. Racing first requests never see a key error and never need a
second connection from the pool.

Limits resolve project override, then quota class (``default`` unless given),
then the configured default; -1 means unlimited. Usage never goes below zero.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    delete,
    insert,
    literal,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from common.config import Section
from db.models import Quota, QuotaClass, QuotaUsage, Reservation, VolumeType, new_id, utcnow

__all__ = [
    "OverQuota", "VolumeSizeOverLimit", "Usage", "DEFAULT_QUOTA_CLASS", "UNLIMITED",
    "limits", "default_limits", "resource_names", "usages", "set_project_limit",
    "set_class_limit", "consume", "reserve", "commit", "rollback", "expire",
    "rename_volume_type", "LockedUsage", "lock_usages", "write_usages",
]

LOG = logging.getLogger(__name__)
DEFAULT_QUOTA_CLASS = "default"
UNLIMITED = -1
PER_VOLUME = "per_volume_gigabytes"
# Cinder's order in a quota_set; per-type resources go before "groups".
_BASE_BEFORE_TYPES = ("volumes", PER_VOLUME, "snapshots", "gigabytes", "backups",
                      "backup_gigabytes")
_BASE_AFTER_TYPES = ("groups",)
_PER_TYPE = ("volumes", "gigabytes", "snapshots")
_PER_TYPE_PREFIXES = tuple(f"{kind}_" for kind in _PER_TYPE)
_Key = tuple[str, str]
_MYSQL = ("mysql", "mariadb")
# A small table tempts InnoDB into a full scan, which locks (and waits on) other
# projects' rows and the half-inserted row of a racing upsert: racing first creates
# of a project deadlocked. The unique key visits the wanted rows only, in key order.
_BY_KEY = "FORCE INDEX (uq_quota_usages_project_id_resource)"


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


class VolumeSizeOverLimit(Exception):
    """One volume would be larger than ``per_volume_gigabytes``; the API answers 400."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return (f"Invalid input received: Volume size '{self.size}GB' must not be larger "
                f"than the per-volume limit of {self.limit}GB.")


@dataclass(frozen=True)
class Usage:
    in_use: int
    reserved: int


@dataclass
class LockedUsage:
    """A usage row held ``FOR UPDATE``: its figures as read and as they are to be written."""

    id: int
    in_use: int
    reserved: int
    new_in_use: int
    new_reserved: int


def resource_names(session: Session) -> list[str]:
    """Every quota resource, including ``volumes_<type>`` etc. for each volume type."""
    type_names = session.scalars(select(VolumeType.name).order_by(VolumeType.created_at,
                                                                  VolumeType.name))
    per_type = [f"{kind}_{name}" for name in type_names for kind in _PER_TYPE]
    return [*_BASE_BEFORE_TYPES, *per_type, *_BASE_AFTER_TYPES]


def _configured_default(conf: Section, resource: str) -> int:
    if resource.startswith(_PER_TYPE_PREFIXES):
        return UNLIMITED
    if resource == PER_VOLUME:
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


def _type_name(resource: str) -> str | None:
    """``gold`` of ``volumes_gold``; None for a resource that is not per type."""
    if resource in _BASE_BEFORE_TYPES or resource in _BASE_AFTER_TYPES:
        return None
    for prefix in _PER_TYPE_PREFIXES:
        if resource.startswith(prefix):
            return resource[len(prefix):]
    return None


def _limits_of(session: Session, conf: Section, project_id: str, quota_class: str,
               resources: Collection[str]) -> dict[str, int]:
    """The effective limits of ``resources`` only, in one query (project rows, class
    rows and, for per-type resources, the types' existence); ValueError for a resource
    that does not exist."""
    base = set(_BASE_BEFORE_TYPES) | set(_BASE_AFTER_TYPES)
    unknown = sorted(r for r in resources if r not in base and _type_name(r) is None)
    if unknown:
        raise ValueError(f"unknown quota resources: {', '.join(unknown)}")
    names = sorted(resources)
    parts = [
        select(literal(0, Integer).label("source"), Quota.resource, Quota.hard_limit)
        .where(Quota.project_id == project_id, Quota.resource.in_(names)),
        select(literal(1, Integer), QuotaClass.resource, QuotaClass.hard_limit)
        .where(QuotaClass.class_name == quota_class, QuotaClass.resource.in_(names)),
    ]
    type_names = {name for name in map(_type_name, names) if name is not None}
    if type_names:
        parts.append(select(literal(2, Integer), VolumeType.name, literal(0, Integer))
                     .where(VolumeType.name.in_(sorted(type_names))))
    found: dict[int, dict[str, int]] = {0: {}, 1: {}, 2: {}}
    for source, resource, hard_limit in session.execute(union_all(*parts)):
        found[source][resource] = hard_limit
    missing_types = sorted(r for r in names if _type_name(r) not in (None, *found[2]))
    if missing_types:
        raise ValueError(f"unknown quota resources: {', '.join(missing_types)}")
    return {name: found[0].get(name, found[1].get(name, _configured_default(conf, name)))
            for name in names}


def usages(session: Session, project_id: str) -> dict[str, Usage]:
    """Usage rows that exist; a resource never used has none (read it as 0/0)."""
    rows = session.execute(select(QuotaUsage.resource, QuotaUsage.in_use, QuotaUsage.reserved)
                           .where(QuotaUsage.project_id == project_id))
    return {resource: Usage(in_use, reserved) for resource, in_use, reserved in rows}


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


def _insert_if_missing(session: Session, project_id: str, resource: str) -> None:
    values = {"project_id": project_id, "resource": resource, "in_use": 0, "reserved": 0,
              "created_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect in _MYSQL:
        statement = mysql_insert(QuotaUsage).values(**values)
        statement = statement.on_duplicate_key_update(resource=statement.inserted.resource)
    elif dialect == "postgresql":
        statement = postgresql_insert(QuotaUsage).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(QuotaUsage).values(**values).on_conflict_do_nothing()
    session.execute(statement)


def _select_locked(session: Session, keys: list[_Key]) -> dict[_Key, LockedUsage]:
    by_project: dict[str, list[str]] = {}
    for project_id, resource in keys:
        by_project.setdefault(project_id, []).append(resource)
    wanted: list[ColumnElement[bool]] = [
        and_(QuotaUsage.project_id == project_id, QuotaUsage.resource.in_(resources))
        for project_id, resources in by_project.items()]
    statement = (select(QuotaUsage.id, QuotaUsage.project_id, QuotaUsage.resource,
                        QuotaUsage.in_use, QuotaUsage.reserved)
                 .where(or_(*wanted))
                 .order_by(QuotaUsage.project_id, QuotaUsage.resource)
                 .with_for_update())
    for dialect in _MYSQL:
        statement = statement.with_hint(QuotaUsage, _BY_KEY, dialect)
    rows = session.execute(statement)
    return {(project_id, resource): LockedUsage(row_id, in_use, reserved, in_use, reserved)
            for row_id, project_id, resource, in_use, reserved in rows}


def lock_usages(session: Session, keys: Iterable[_Key]) -> dict[_Key, LockedUsage]:
    """Lock the usage rows of (project, resource) ``keys`` until the transaction ends,
    creating missing ones; set ``new_in_use``/``new_reserved`` on what it returns and
    pass it to :func:`write_usages`."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    locked = _select_locked(session, wanted)
    missing = [key for key in wanted if key not in locked]
    if missing:
        for project_id, resource in missing:
            _insert_if_missing(session, project_id, resource)
        locked = _select_locked(session, wanted)
    return locked


def write_usages(session: Session, locked: Mapping[_Key, LockedUsage]) -> None:
    """One UPDATE for every locked row whose figures changed."""
    changed = [row for row in locked.values()
               if (row.new_in_use, row.new_reserved) != (row.in_use, row.reserved)]
    if not changed:
        return
    session.execute(
        update(QuotaUsage)
        .where(QuotaUsage.id.in_([row.id for row in changed]))
        .values(in_use=case({row.id: row.new_in_use for row in changed},
                            value=QuotaUsage.id),
                reserved=case({row.id: row.new_reserved for row in changed},
                              value=QuotaUsage.id),
                updated_at=utcnow())
        .execution_options(synchronize_session=False))
    for row in changed:
        row.in_use, row.reserved = row.new_in_use, row.new_reserved


def _limits_checked(session: Session, project_id: str, deltas: Mapping[str, int],
                    conf: Section, quota_class: str, volume_size: int | None
                    ) -> tuple[dict[str, int], dict[str, int]]:
    """The non-zero deltas and the limits of the resources named, after the per-volume
    size check; raises for an unknown resource or a volume too large."""
    wanted = {resource: delta for resource, delta in deltas.items() if delta}
    asked = set(deltas) | ({PER_VOLUME} if volume_size is not None else set())
    if PER_VOLUME in deltas:
        raise ValueError(f"unknown quota resources: {PER_VOLUME}")
    if not asked:
        return {}, {}
    effective = _limits_of(session, conf, project_id, quota_class, asked)
    if volume_size is not None:
        limit = effective[PER_VOLUME]
        if limit != UNLIMITED and volume_size > limit:
            raise VolumeSizeOverLimit(volume_size, limit)
    return wanted, effective


def _lock_checked(session: Session, project_id: str, wanted: Mapping[str, int],
                  effective: Mapping[str, int]) -> dict[_Key, LockedUsage]:
    """Lock the rows ``wanted`` changes and check them; the locked rows, or OverQuota."""
    locked = lock_usages(session, ((project_id, resource) for resource in wanted))
    for resource, delta in wanted.items():
        usage, limit = locked[(project_id, resource)], effective[resource]
        if delta > 0 and limit != UNLIMITED and usage.in_use + usage.reserved + delta > limit:
            raise OverQuota(resource, limit, usage.in_use, usage.reserved, delta)
    return locked


def _add_if_within(session: Session, project_id: str, wanted: Mapping[str, int],
                   effective: Mapping[str, int]) -> bool:
    """Add the (positive) ``wanted`` to ``in_use`` with one UPDATE guarded on every limit;
    False, with nothing changed, when a row is missing or would pass its limit.

    Concurrent creates of a project queue on its usage rows from the lock to the commit.
    Taken by this UPDATE, the lock is held for it and the commit only, not also for a
    locking read and the Python between: a third fewer round trips in the queue. A
    savepoint taken before (outside the queue) undoes the rows it changed when another
    row refused.
    """
    resources = sorted(wanted)
    delta = case(dict(wanted), value=QuotaUsage.resource)
    limit = case({resource: effective[resource] for resource in resources},
                 value=QuotaUsage.resource)
    statement = (update(QuotaUsage)
                 .where(QuotaUsage.project_id == project_id,
                        QuotaUsage.resource.in_(resources),
                        or_(limit == UNLIMITED,
                            QuotaUsage.in_use + QuotaUsage.reserved + delta <= limit))
                 .values(in_use=QuotaUsage.in_use + delta, updated_at=utcnow())
                 .execution_options(synchronize_session=False))
    for dialect in _MYSQL:
        statement = statement.with_hint(_BY_KEY, dialect_name=dialect)
    session.execute(text("SAVEPOINT quota_add"))
    if session.execute(statement).rowcount == len(resources):
        return True
    session.execute(text("ROLLBACK TO SAVEPOINT quota_add"))
    return False


def _take(session: Session, project_id: str, deltas: Mapping[str, int], conf: Section,
          quota_class: str, volume_size: int | None) -> tuple[dict[str, int],
                                                              dict[_Key, LockedUsage]]:
    """Check ``deltas`` (and ``volume_size`` against the per-volume limit) and lock the
    rows they change; the non-zero deltas and the locked rows, or an exception."""
    wanted, effective = _limits_checked(session, project_id, deltas, conf, quota_class,
                                        volume_size)
    if not wanted:
        return {}, {}
    return wanted, _lock_checked(session, project_id, wanted, effective)


def _applied(resource: str, project_id: str, in_use: int, delta: int) -> int:
    if in_use + delta < 0:
        LOG.warning("quota usage of %s for project %s would drop to %d; kept at 0",
                    resource, project_id, in_use + delta)
    return max(0, in_use + delta)


def consume(session: Session, project_id: str, deltas: Mapping[str, int], *, conf: Section,
            quota_class: str = DEFAULT_QUOTA_CLASS, volume_size: int | None = None) -> None:
    """Apply ``deltas`` to ``in_use`` now, or raise OverQuota (VolumeSizeOverLimit when
    ``volume_size`` passes ``per_volume_gigabytes``) and change nothing.

    For work whose resource is written (or removed) in the caller's transaction, which
    must commit for the change to hold: a reservation committed at once, without the
    reservation rows. Negative deltas (freeing) are never refused. Additions are tried
    with one guarded UPDATE first (:func:`_add_if_within`); a refusal or a missing row
    takes the locking path, which also says which limit refused.
    """
    wanted, effective = _limits_checked(session, project_id, deltas, conf, quota_class,
                                        volume_size)
    if not wanted:
        return
    if min(wanted.values()) > 0 and _add_if_within(session, project_id, wanted, effective):
        return
    locked = _lock_checked(session, project_id, wanted, effective)
    for resource, delta in wanted.items():
        usage = locked[(project_id, resource)]
        usage.new_in_use = _applied(resource, project_id, usage.in_use, delta)
    write_usages(session, locked)


def reserve(session: Session, project_id: str, deltas: Mapping[str, int], *, conf: Section,
            quota_class: str = DEFAULT_QUOTA_CLASS, expire_seconds: int | None = None,
            volume_size: int | None = None) -> list[str]:
    """Reserve ``deltas`` (e.g. ``{"volumes": 1, "gigabytes": 10}``) or raise OverQuota
    (VolumeSizeOverLimit when ``volume_size`` passes ``per_volume_gigabytes``).

    Negative deltas (freeing) are never refused. Returns one reservation id per
    non-zero delta; pass them to :func:`commit` or :func:`rollback` in the same
    or a later transaction. The caller's transaction must commit for the
    reservation to hold.
    """
    wanted, locked = _take(session, project_id, deltas, conf, quota_class, volume_size)
    if not wanted:
        return []
    seconds = conf.reservation_expire if expire_seconds is None else expire_seconds
    expires_at, now = utcnow() + timedelta(seconds=seconds), utcnow()
    rows = []
    for resource, delta in wanted.items():
        usage = locked[(project_id, resource)]
        if delta > 0:
            usage.new_reserved = usage.reserved + delta
        rows.append({"uuid": new_id(), "usage_id": usage.id, "project_id": project_id,
                     "resource": resource, "delta": delta, "expire": expires_at,
                     "created_at": now})
    write_usages(session, locked)
    session.execute(insert(Reservation), rows)
    return [row["uuid"] for row in rows]


def _settle(session: Session, condition: ColumnElement[bool], apply: bool) -> int:
    """Release the reserved amounts of the reservations ``condition`` selects; with
    ``apply`` also move their deltas into ``in_use``. The reservations are locked first:
    a racing settle of the same ids waits, then finds them gone and applies nothing."""
    reservations = session.execute(
        select(Reservation.id, Reservation.project_id, Reservation.resource,
               Reservation.delta)
        .where(condition).order_by(Reservation.id).with_for_update()).all()
    if not reservations:
        return 0
    locked = lock_usages(session, ((r.project_id, r.resource) for r in reservations))
    for reservation in reservations:
        usage = locked[(reservation.project_id, reservation.resource)]
        if reservation.delta > 0:
            usage.new_reserved = max(0, usage.new_reserved - reservation.delta)
        if apply:
            usage.new_in_use = _applied(reservation.resource, reservation.project_id,
                                        usage.new_in_use, reservation.delta)
    write_usages(session, locked)
    session.execute(delete(Reservation)
                    .where(Reservation.id.in_([r.id for r in reservations]))
                    .execution_options(synchronize_session=False))
    return len(reservations)


def commit(session: Session, reservation_ids: Iterable[str]) -> None:
    """Make reserved amounts real usage. Ids already settled or expired are ignored."""
    ids = list(reservation_ids)
    if ids:
        _settle(session, Reservation.uuid.in_(ids), apply=True)


def rollback(session: Session, reservation_ids: Iterable[str]) -> None:
    """Give reserved amounts back. Ids already settled or expired are ignored."""
    ids = list(reservation_ids)
    if ids:
        _settle(session, Reservation.uuid.in_(ids), apply=False)


def expire(session: Session, now: datetime | None = None) -> int:
    """Roll back every reservation past its expiry; returns how many. Run periodically."""
    return _settle(session, Reservation.expire < (now or utcnow()), apply=False)


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
