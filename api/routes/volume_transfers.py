"""``/v3/{project_id}/volume-transfers`` (3.55): transfers with ``no_snapshots``."""

from __future__ import annotations

from api.transfer_router import transfer_router

router = transfer_router("volume-transfers", "transfer_no_snapshots")
