"""The record of a volume migration in flight (``os-migrate_volume`` or a retype that
moves the volume to another backend), kept in the volume's admin metadata.

A migration's arguments and progress are on no column: the new type, the admin's
host, the destination the scheduler chose, when it started, and a retype's quota
reservations (under a key of their own: an admin metadata value holds 255
characters). The status to return to is the volume's ``previous_status``. The API
writes the record with ``migration_status = migrating``; the scheduler replaces the
host by the destination; the controller and the sweeper read it to finish or give
up the migration, and remove it then.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from db.models import Volume, VolumeAdminMetadata

__all__ = ["MigrationRequest", "MIGRATION_KEY", "RESERVATIONS_KEY", "record", "pending",
           "forget"]

MIGRATION_KEY = "migration_request"
RESERVATIONS_KEY = "migration_reservations"


@dataclass
class MigrationRequest:
    """``started`` is a POSIX time; ``host`` the admin's destination
    (os-migrate_volume) until the scheduler records the pool it chose as
    ``destination``; ``new_type_id`` the retype's type."""

    started: int
    new_type_id: str | None = None
    host: str | None = None
    destination: str | None = None
    reservations: list[str] = field(default_factory=list)

    def started_before(self, moment: datetime) -> bool:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return self.started < aware.timestamp()


def _set(volume: Volume, key: str, value: str) -> None:
    for item in volume.volume_admin_metadata:
        if item.key == key:
            item.value = value
            return
    volume.volume_admin_metadata.append(VolumeAdminMetadata(key=key, value=value))


def record(volume: Volume, request: MigrationRequest) -> None:
    """Write (or rewrite) the record in the caller's transaction."""
    fields = asdict(request)
    _set(volume, RESERVATIONS_KEY, json.dumps(fields.pop("reservations")))
    _set(volume, MIGRATION_KEY, json.dumps(fields, separators=(",", ":")))


def pending(volume: Volume) -> MigrationRequest | None:
    """The record of ``volume``; None when there is none or it does not parse."""
    items = {item.key: item.value for item in volume.volume_admin_metadata}
    try:
        fields = json.loads(items[MIGRATION_KEY])
        reservations = json.loads(items.get(RESERVATIONS_KEY, "[]"))
        return MigrationRequest(**fields, reservations=[str(r) for r in reservations])
    except (KeyError, ValueError, TypeError):
        return None


def forget(volume: Volume) -> None:
    volume.volume_admin_metadata[:] = [
        item for item in volume.volume_admin_metadata
        if item.key not in (MIGRATION_KEY, RESERVATIONS_KEY)]
