"""What the controller sends a volume agent, built from the rows: the API and the
scheduler's sweeper must send the same thing, so it is written once, here.

An extend's arguments (the new size and the quota reservations) are on no column,
so the API records them in the volume's admin metadata with the ``extending``
status; the sweeper reads them back to send an extend again that its agent lost.
A record outlives its extend harmlessly: it is read only while the volume is
``extending``, and the next extend writes it first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from db.models import Volume, VolumeAdminMetadata

__all__ = ["volume_message", "PendingExtend", "record_extend", "pending_extend"]

EXTEND_KEY = "extend_request"


def volume_message(volume: Volume) -> dict[str, Any]:
    """The ``volume`` argument of every agent message (docs/design.md, Agent methods)."""
    return {
        "id": volume.id, "size": volume.size, "volume_type_id": volume.volume_type_id,
        "extra_specs": {spec.key: spec.value for spec in volume.volume_type.extra_specs},
        "snapshot_id": volume.snapshot_id, "source_volid": volume.source_volid,
        "provider_location": volume.provider_location,
        "provider_auth": volume.provider_auth, "host": volume.host,
    }


@dataclass(frozen=True)
class PendingExtend:
    new_size: int
    reservations: list[str]


def record_extend(volume: Volume, new_size: int, reservations: list[str]) -> None:
    """Keep the arguments of the extend about to be cast, in the caller's transaction."""
    value = json.dumps({"new_size": new_size, "reservations": reservations})
    for item in volume.volume_admin_metadata:
        if item.key == EXTEND_KEY:
            item.value = value
            return
    volume.volume_admin_metadata.append(VolumeAdminMetadata(key=EXTEND_KEY, value=value))


def pending_extend(volume: Volume) -> PendingExtend | None:
    """The extend recorded for ``volume``; None when there is none or it does not parse."""
    for item in volume.volume_admin_metadata:
        if item.key == EXTEND_KEY:
            try:
                data = json.loads(item.value)
                return PendingExtend(int(data["new_size"]),
                                     [str(r) for r in data["reservations"]])
            except (ValueError, TypeError, KeyError):
                return None
    return None
