"""Recording user messages: the failures a project's users can read at ``/messages``.

The scheduler, the controller consumer and the API call :func:`record` in their own
transaction when a request fails in a way the user should learn about (no valid
backend, an export that failed). Actions and details are Cinder's codes, so
clients that match ``event_id`` keep working.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from sqlalchemy.orm import Session

from db.models import Message, utcnow

__all__ = ["Action", "Detail", "MESSAGE_TTL", "record", "user_message"]

# Cinder's default message_ttl: how long a message is guaranteed to be kept.
MESSAGE_TTL = timedelta(days=30)


class Action(Enum):
    """What the user asked for (Cinder's action ids and texts)."""

    SCHEDULE_ALLOCATE_VOLUME = ("001", "schedule allocate volume")
    ATTACH_VOLUME = ("002", "attach volume")
    UPDATE_ATTACHMENT = ("004", "update attachment")
    EXTEND_VOLUME = ("007", "extend volume")
    CREATE_VOLUME_FROM_BACKEND = ("008", "create volume from backend storage")
    SNAPSHOT_CREATE = ("009", "create snapshot")
    SNAPSHOT_DELETE = ("010", "delete snapshot")


class Detail(Enum):
    """Why it failed (Cinder's detail ids and texts)."""

    UNKNOWN_ERROR = ("001", "An unknown error occurred.")
    DRIVER_NOT_INITIALIZED = ("002", "Driver is not initialized at present.")
    NO_BACKEND_AVAILABLE = ("003", "Could not find any available weighted backend.")
    QUOTA_EXCEED = ("006", "Not enough quota resource for operation.")
    DRIVER_FAILED_EXTEND = ("010", "Volume Driver failed to extend volume.")
    DRIVER_FAILED_CREATE = ("012", "Driver failed to create the volume.")
    SNAPSHOT_CREATE_ERROR = ("013", "Snapshot failed to create.")
    SNAPSHOT_IS_BUSY = ("015", "Snapshot is busy.")
    SNAPSHOT_DELETE_ERROR = ("016", "Snapshot failed to delete.")
    ATTACH_ERROR = ("021", "Failed to attach volume.")
    DETACH_ERROR = ("022", "Failed to detach volume.")

_ACTIONS = {action.value[0]: action.value[1] for action in Action}
_DETAILS = {detail.value[0]: detail.value[1] for detail in Detail}


def record(session: Session, *, project_id: str, action: Action, detail: Detail,
           resource_type: str = "VOLUME", resource_uuid: str | None = None,
           request_id: str | None = None, level: str = "ERROR") -> Message:
    """Add a message in the caller's transaction (the caller commits).

    ``resource_type`` is Cinder's (``VOLUME``, ``VOLUME_SNAPSHOT``).
    """
    action_id, detail_id = action.value[0], detail.value[0]
    row = Message(project_id=project_id, request_id=request_id, resource_type=resource_type,
                  resource_uuid=resource_uuid, action_id=action_id, detail_id=detail_id,
                  event_id=f"VOLUME_{resource_type}_{action_id}_{detail_id}",
                  message_level=level, created_at=utcnow(),
                  expires_at=utcnow() + MESSAGE_TTL)
    session.add(row)
    session.flush()
    return row


def user_message(row: Message) -> str:
    """The text users read, ``<action>:<detail>`` as Cinder builds it."""
    action = _ACTIONS.get(row.action_id or "", "unknown action")
    detail = _DETAILS.get(row.detail_id or "", Detail.UNKNOWN_ERROR.value[1])
    return f"{action}:{detail}"
