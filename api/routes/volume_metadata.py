"""``/v3/{project_id}/volumes/{volume_id}/metadata``: the user's key/value pairs."""

from __future__ import annotations

from api.metadata_router import Owner, metadata_router
from api.services import volumes
from db.models import VolumeMetadata

router = metadata_router(
    "/v3/{project_id}/volumes/{volume_id}", ["volume metadata"],
    Owner(noun="Volume", param="volume_id", find=volumes.find,
          items=lambda row: row.volume_metadata, make=VolumeMetadata, etag=True))
