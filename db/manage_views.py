"""``cinderblock-manage service list`` and ``volume show``: what an operator reads when the
API is down or not reachable from where they are, straight from the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from common.config import Config
from db.models import Volume

__all__ = ["service_list", "volume_show"]

# Columns never printed in full: a CHAP secret must not land in a terminal scrollback.
_SECRET_COLUMNS = {"provider_auth"}


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def service_list(conf: Config, engine: Engine) -> int:
    """Every service with the API's own up/down rule (``os-services``), as a table."""
    # The liveness rule is the API's; it is imported from there so the two never differ.
    from api.services.services import is_up, list_services

    rows = [("Binary", "Host", "Zone", "Status", "State", "Updated At", "Disabled Reason")]
    with Session(engine) as session:
        for service in list_services(session, None, None):
            rows.append((
                service.binary, service.host,
                service.availability_zone or conf.default.storage_availability_zone,
                "disabled" if service.disabled else "enabled",
                "up" if is_up(conf, service) else "down",
                _cell(service.last_seen_at or service.updated_at),
                _cell(service.disabled_reason)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
    return 0


def volume_show(engine: Engine, volume_id: str) -> int:
    """Every column of one volume, secrets masked; 1 when there is no such volume."""
    with Session(engine) as session:
        volume = session.get(Volume, volume_id)
        if volume is None:
            print(f"no volume {volume_id}")
            return 1
        for column in Volume.__table__.columns:
            value = getattr(volume, column.key)
            shown = "***" if column.key in _SECRET_COLUMNS and value else _cell(value)
            print(f"{column.key:22} {shown}")
    return 0
