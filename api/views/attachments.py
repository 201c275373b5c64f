"""Attachment JSON as Cinder shapes it, and the two forms of connection_info.

Cinder renders an unset time as ``""`` and an unset mode as the string ``"null"``;
clients compare against those, so they are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.views.volumes import iso
from db.models import VolumeAttachment

__all__ = ["summary", "detail", "attachment_list", "flat_info", "legacy_info"]


def summary(row: VolumeAttachment) -> dict[str, Any]:
    return {"id": row.id, "status": row.attach_status, "instance": row.instance_uuid,
            "volume_id": row.volume_id}


def detail(row: VolumeAttachment) -> dict[str, Any]:
    body = summary(row)
    body.update(
        attached_at=iso(row.attach_time) or "",
        detached_at=iso(row.detach_time) or "",
        attach_mode=row.attach_mode or "null",
        connection_info=flat_info(row.connection_info, row.id) if row.connection_info else {},
    )
    return body


def attachment_list(rows: Iterable[VolumeAttachment], *, detailed: bool) -> dict[str, Any]:
    shape = detail if detailed else summary
    return {"attachments": [shape(row) for row in rows]}


def flat_info(info: dict[str, Any], attachment_id: str) -> dict[str, Any]:
    """The attachments API's connection_info: the driver's ``data`` merged into the top
    level with ``driver_volume_type`` and the attachment id, as os-brick reads it."""
    flat: dict[str, Any] = {"qos_specs": None, "cacheable": False, **info.get("data", {})}
    flat.update((key, value) for key, value in info.items() if key != "data")
    flat["attachment_id"] = attachment_id
    flat.setdefault("enforce_multipath", False)
    return flat


def legacy_info(info: dict[str, Any]) -> dict[str, Any]:
    """os-initialize_connection's connection_info: ``data`` kept nested (sample 41)."""
    data = {"qos_specs": None, "cacheable": False, "enforce_multipath": False,
            **info.get("data", {})}
    return {"driver_volume_type": info.get("driver_volume_type"), "data": data,
            "enforce_multipath": data["enforce_multipath"]}
