"""Snapshot JSON as Cinder shapes it, per microversion.

Create, update and the plain list answer the summary; show and detail add the
microversion fields and the ``os-extended-snapshot-attributes`` ones.
"""

from __future__ import annotations

from typing import Any

from api.deps import RequestContext
from api.views.volumes import iso, metadata
from db.models import Snapshot

__all__ = ["snapshot"]


def snapshot(context: RequestContext, row: Snapshot, *, detail: bool = True,
             extended: bool = True) -> dict[str, Any]:
    """``detail`` adds the microversion fields; ``extended`` the GET-only attributes."""
    body: dict[str, Any] = {
        "id": row.id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "name": row.display_name,
        "description": row.display_description,
        "volume_id": row.volume_id,
        "status": row.status,
        "size": row.volume_size,
        "metadata": metadata(row.snapshot_metadata),
    }
    if detail:
        version = context.microversion
        if version.at_least("snapshot_group_snapshot_id"):
            body["group_snapshot_id"] = row.group_snapshot_id
        if version.at_least("snapshot_user_id"):
            body["user_id"] = row.user_id
    if extended:
        body["os-extended-snapshot-attributes:project_id"] = row.project_id
        body["os-extended-snapshot-attributes:progress"] = row.progress
    return body
