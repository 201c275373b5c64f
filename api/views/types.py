"""Volume type JSON (samples 09-12): access flag and extra specs per role."""

from __future__ import annotations

from typing import Any

from api.deps import RequestContext
from api.services.volume_types import visible_extra_specs
from db.models import VolumeType

__all__ = ["volume_type"]


def volume_type(context: RequestContext, row: VolumeType, *, access_flag: bool = True,
                qos_field: bool = True) -> dict[str, Any]:
    """``qos_field``: Cinder's create and update answers lack ``qos_specs_id`` (sample
    12), and its update answer the access flag too; Tempest's schemas refuse them."""
    body: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "is_public": row.is_public,
        "description": row.description,
        "extra_specs": visible_extra_specs(context, row),
    }
    if qos_field:
        body["qos_specs_id"] = row.qos_specs_id
    if access_flag:
        body["os-volume-type-access:is_public"] = row.is_public
    return body
