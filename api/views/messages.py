"""User message JSON as Cinder shapes it (``guaranteed_until`` is the expiry)."""

from __future__ import annotations

from typing import Any

from api.deps import RequestContext
from api.views.volumes import iso, links
from db.messages import user_message
from db.models import Message

__all__ = ["message"]


def message(context: RequestContext, row: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "event_id": row.event_id,
        "user_message": user_message(row),
        "message_level": row.message_level,
        "created_at": iso(row.created_at),
        "guaranteed_until": iso(row.expires_at),
        "request_id": row.request_id,
        "links": links(context, "messages", row.id, row.project_id),
    }
    if row.resource_type:
        body["resource_type"] = row.resource_type
    if row.resource_uuid:
        body["resource_uuid"] = row.resource_uuid
    return body
