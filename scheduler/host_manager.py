"""Pool stats as the scheduler sees them, kept in the database so schedulers agree.

An agent's capability report is stored as it came (``pools.capabilities``); the
controller's own count of what it placed on a pool (``allocated_capacity_gb``)
changes only through guarded UPDATEs the moment a volume is placed or removed.
What was placed but is not in the last report yet (``pending_gb``) is taken off
the reported free space, so a burst of requests, or two schedulers, see each
other's placements at once instead of all choosing the emptiest pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Pool, Service, Volume, utcnow

__all__ = ["VOLUME_BINARY", "PoolState", "load_pools", "claim", "adjust", "save_capabilities",
           "is_up", "volume_services_ready"]

VOLUME_BINARY = "cinderblock-volume"
_UNBOUNDED = ("infinite", "unknown")


def is_up(service: Service, down_time: int, now: datetime | None = None) -> bool:
    """Judged by when the controller *received* the last heartbeat: clock-skew proof."""
    if service.last_seen_at is None:
        return False
    return (now or utcnow()) - service.last_seen_at <= timedelta(seconds=down_time)


@dataclass
class PoolState:
    """One pool (``node@backend#pool``) with Cinder's capacity attributes."""

    host: str
    capabilities: dict[str, Any]
    allocated_capacity_gb: int = 0
    availability_zone: str | None = None
    pool_id: int | None = None

    @property
    def backend(self) -> str:
        return self.host.split("#", 1)[0]

    @property
    def total_capacity_gb(self) -> Any:
        return self.capabilities.get("total_capacity_gb")

    @property
    def _reported_provisioned(self) -> float:
        caps = self.capabilities
        return float(caps.get("provisioned_capacity_gb",
                              caps.get("allocated_capacity_gb", 0)) or 0)

    @property
    def pending_gb(self) -> float:
        """Placed by the controller but not yet in the agent's last report."""
        return max(0.0, self.allocated_capacity_gb - self._reported_provisioned)

    @property
    def free_capacity_gb(self) -> Any:
        free = self.capabilities.get("free_capacity_gb")
        if free is None or free in _UNBOUNDED:
            return free
        return float(free) - self.pending_gb

    @property
    def provisioned_capacity_gb(self) -> float:
        return self._reported_provisioned + self.pending_gb

    @property
    def reserved_percentage(self) -> float:
        return float(self.capabilities.get("reserved_percentage", 0) or 0)

    @property
    def thin_provisioning_support(self) -> bool:
        return bool(self.capabilities.get("thin_provisioning_support", False))

    @property
    def max_over_subscription_ratio(self) -> float:
        return float(self.capabilities.get("max_over_subscription_ratio", 1.0) or 1.0)


def load_pools(session: Session, down_time: int, *, lock: bool = False) -> list[PoolState]:
    """Pools of enabled volume services that are up; only these may get new volumes.

    ``lock`` takes the pool rows (in one order, so schedulers cannot deadlock) until
    the transaction ends: a placement then weighs numbers no other scheduler can change
    before its claim, instead of losing a compare-and-swap and trying again.
    """
    now = utcnow()
    services = {s.host: s for s in session.scalars(
        select(Service).where(Service.binary == VOLUME_BINARY))}
    rows = select(Pool).order_by(Pool.host)
    pools = []
    for row in session.scalars(rows.with_for_update() if lock else rows):
        service = services.get(row.host.split("#", 1)[0])
        if service is None or service.disabled or not is_up(service, down_time, now):
            continue
        pools.append(PoolState(row.host, dict(row.capabilities or {}),
                               row.allocated_capacity_gb, service.availability_zone, row.id))
    return pools


def volume_services_ready(session: Session, down_time: int) -> bool:
    """Whether placing now is as good as it gets: some pool can take volumes and every
    enabled volume service is up. A scheduler that starts after an outage waits for
    this (or a report interval) so it neither fails creates nor crowds the first agent
    to report."""
    services = session.scalars(select(Service).where(Service.binary == VOLUME_BINARY,
                                                     Service.disabled.is_(False))).all()
    now = utcnow()
    return (all(is_up(service, down_time, now) for service in services)
            and bool(load_pools(session, down_time)))


def claim(session: Session, pool: PoolState, size: int) -> bool:
    """Add ``size`` to the pool unless it changed since we read it (only possible when
    it was read without ``lock``)."""
    result = session.execute(
        update(Pool)
        .where(Pool.id == pool.pool_id,
               Pool.allocated_capacity_gb == pool.allocated_capacity_gb)
        .values(allocated_capacity_gb=Pool.allocated_capacity_gb + size)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def adjust(session: Session, host: str | None, delta_gb: int) -> None:
    """Change what the controller counts on pool ``host`` (a delete gives back, an
    extend takes more) in one atomic UPDATE; never below zero."""
    if not host or "#" not in host or not delta_gb:
        return
    grown = Pool.allocated_capacity_gb + delta_gb
    session.execute(
        update(Pool).where(Pool.host == host)
        .values(allocated_capacity_gb=case((grown >= 0, grown), else_=0))
        .execution_options(synchronize_session=False))


def save_capabilities(session: Session, backend_host: str, pools: list[dict[str, Any]]) -> None:
    """Store a backend's report; a pool seen for the first time starts with the sizes of
    the volumes the database already places on it. Pools are written in host order, the
    order placements lock them in, so a report and a placement never deadlock."""
    default_pool = backend_host.split("@", 1)[-1]
    named = sorted(((f"{backend_host}#{caps.get('pool_name') or default_pool}", caps)
                    for caps in pools), key=lambda pair: pair[0])
    for host, caps in named:
        changed = session.execute(
            update(Pool).where(Pool.host == host)
            .values(capabilities=caps, updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if changed:
            continue
        used = session.scalar(select(func.coalesce(func.sum(Volume.size), 0))
                              .where(Volume.host == host)) or 0
        try:
            with session.begin_nested():
                session.add(Pool(host=host, capabilities=caps, allocated_capacity_gb=int(used)))
        except IntegrityError:
            session.execute(update(Pool).where(Pool.host == host).values(capabilities=caps)
                            .execution_options(synchronize_session=False))
