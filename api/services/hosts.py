"""``os-hosts``: enabled services by host, and what each volume host holds per project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.services.services import is_up
from api.services.zones import VOLUME_BINARY
from api.views.services import cinder_binary, stored_binary
from api.views.volumes import iso
from common.config import Config
from db.models import Service, Snapshot, Volume

__all__ = ["list_hosts", "host_usage"]


def list_hosts(session: Session, conf: Config, zone: str | None,
               service: str | None) -> list[dict[str, Any]]:
    """Cinder lists enabled services only; ``service`` matches the topic (the binary,
    in either spelling)."""
    statement = select(Service).where(Service.disabled.is_(False)).order_by(Service.host)
    if zone:
        statement = statement.where(Service.availability_zone == zone)
    hosts = []
    for row in session.scalars(statement):
        topic = row.topic or row.binary
        if service and topic != stored_binary(service):
            continue
        hosts.append({
            "host_name": row.host, "service": cinder_binary(topic),
            "zone": row.availability_zone,
            "service-status": "available" if is_up(conf, row) else "unavailable",
            "service-state": "disabled" if row.disabled else "enabled",
            "last-update": iso(row.last_seen_at or row.updated_at),
        })
    return hosts


def _on_host(host: str) -> Any:
    return or_(Volume.host == host, Volume.host.startswith(f"{host}#", autoescape=True))


def _resource(host: str, project: str, volumes: tuple[int, int],
              snapshots: tuple[int, int]) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project,
                         "volume_count": str(volumes[0]), "total_volume_gb": str(volumes[1]),
                         "snapshot_count": str(snapshots[0]),
                         "total_snapshot_gb": str(snapshots[1])}}


def host_usage(session: Session, host: str) -> list[dict[str, Any]]:
    """The ``(total)`` line first, then one per project with volumes on ``host``."""
    known = session.scalar(select(Service.id).where(Service.host == host,
                                                    Service.binary == VOLUME_BINARY))
    if known is None:
        raise NotFound(f"Host {host} could not be found.")
    volumes = {project: (count, int(size)) for project, count, size in session.execute(
        select(Volume.project_id, func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0))
        .where(_on_host(host)).group_by(Volume.project_id).order_by(Volume.project_id))}
    snapshots = {project: (count, int(size)) for project, count, size in session.execute(
        select(Snapshot.project_id, func.count(Snapshot.id),
               func.coalesce(func.sum(Snapshot.volume_size), 0))
        .join(Volume, Volume.id == Snapshot.volume_id)
        .where(_on_host(host)).group_by(Snapshot.project_id))}
    total_volumes = (sum(c for c, _ in volumes.values()), sum(s for _, s in volumes.values()))
    total_snapshots = (sum(c for c, _ in snapshots.values()),
                       sum(s for _, s in snapshots.values()))
    return [_resource(host, "(total)", total_volumes, total_snapshots)] + [
        _resource(host, project, used, snapshots.get(project, (0, 0)))
        for project, used in volumes.items()]
