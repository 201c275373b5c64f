"""``/v3/{project_id}/snapshots/{snapshot_id}/metadata``: the user's key/value pairs."""

from __future__ import annotations

from api.metadata_router import Owner, metadata_router
from api.services import snapshots
from db.models import SnapshotMetadata

router = metadata_router(
    "/v3/{project_id}/snapshots/{snapshot_id}", ["snapshot metadata"],
    Owner(noun="Snapshot", param="snapshot_id", find=snapshots.find,
          items=lambda row: row.snapshot_metadata, make=SnapshotMetadata, etag=False))
