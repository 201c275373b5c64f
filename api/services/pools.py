"""``scheduler-stats/get_pools`` and ``capabilities/{host}``, read from the ``pools`` table.

The table holds each pool's last capability report (the controller stores it) and
the scheduler's own allocated count, so the API answers without asking a scheduler
or an agent over RPC as Cinder does, and without timing out when one is down.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.services.services import is_up
from api.services.zones import VOLUME_BINARY
from api.views.volumes import iso
from common.config import Config
from db.models import Pool, Service

__all__ = ["list_pools", "capabilities"]

# Cinder's descriptions of the capabilities a volume type may ask an LVM backend for.
_PROPERTIES = {
    "thin_provisioning": {"title": "Thin Provisioning", "type": "boolean",
                          "description": "Sets thin provisioning."},
}


def _active_backends(session: Session, conf: Config) -> set[str]:
    return {row.host for row in session.scalars(
        select(Service).where(Service.binary == VOLUME_BINARY)) if is_up(conf, row)}


def list_pools(session: Session, conf: Config, name: str | None = None
               ) -> list[dict[str, Any]]:
    """Pools of volume services that are up: name and the capabilities the scheduler uses."""
    active = _active_backends(session, conf)
    statement = select(Pool).order_by(Pool.host)
    if name is not None:
        statement = statement.where(Pool.host == name)
    return [{"name": row.host,
             "capabilities": {**row.capabilities,
                              "allocated_capacity_gb": row.allocated_capacity_gb,
                              "timestamp": iso(row.updated_at)}}
            for row in session.scalars(statement) if row.host.split("#", 1)[0] in active]


def capabilities(session: Session, host: str) -> dict[str, Any]:
    """What the backend ``host`` (``node@backend``) reports, in Cinder's capabilities shape."""
    known = session.scalar(select(Service.id).where(Service.host == host,
                                                    Service.binary == VOLUME_BINARY))
    if known is None:
        raise NotFound(f"Can't find service: {host}")
    reported = session.scalars(select(Pool.capabilities).where(
        Pool.host.startswith(f"{host}#", autoescape=True)).order_by(Pool.host)).first() or {}
    properties = {key: value for key, value in _PROPERTIES.items()
                  if reported.get(f"{key}_support")}
    return {
        "namespace": f"OS::Storage::Capabilities::{host}",
        "vendor_name": reported.get("vendor_name"),
        "volume_backend_name": reported.get("volume_backend_name"),
        "pool_name": None,
        "driver_version": reported.get("driver_version"),
        "storage_protocol": reported.get("storage_protocol"),
        "display_name": reported.get("display_name"),
        "description": reported.get("description"),
        "visibility": reported.get("visibility"),
        "replication_targets": reported.get("replication_targets", []),
        "properties": properties,
    }
