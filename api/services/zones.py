"""Availability zones: the configured default plus the zones volume services report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import BadRequest
from common.config import Config
from db.models import Service, utcnow

__all__ = ["default_zone", "list_zones", "check", "VOLUME_BINARY"]

VOLUME_BINARY = "cinderblock-volume"


def default_zone(conf: Config) -> str:
    return conf.default.default_availability_zone or conf.default.storage_availability_zone


def list_zones(session: Session, conf: Config) -> dict[str, bool]:
    """Zone name -> whether a volume service in it is up (the default zone is always
    listed, as Cinder lists its own)."""
    cutoff = utcnow() - timedelta(seconds=conf.default.service_down_time)
    zones: dict[str, bool] = {}
    for zone, disabled, last_seen in session.execute(
            select(Service.availability_zone, Service.disabled, Service.last_seen_at)
            .where(Service.binary == VOLUME_BINARY)):
        up = not disabled and last_seen is not None and last_seen >= cutoff
        name = zone or default_zone(conf)
        zones[name] = zones.get(name, False) or up
    zones.setdefault(default_zone(conf), True)
    return zones


def check(session: Session, conf: Config, requested: str | None) -> str:
    """The zone a new volume goes to; an unknown zone is refused before anything is held."""
    if requested is None:
        return default_zone(conf)
    if requested not in list_zones(session, conf):
        raise BadRequest(f"Invalid input received: Availability zone '{requested}' is "
                         "invalid.")
    return requested
