"""``/v3/{project_id}/os-volume-transfer``: the original transfer API (3.0)."""

from __future__ import annotations

from api.transfer_router import transfer_router

router = transfer_router("os-volume-transfer", None)
