"""Whether a volume may join a group: shared by volume create and group update, and kept
apart from ``groups`` so that ``volumes`` can use it without an import cycle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound
from db.models import Group, VolumeType

__all__ = ["find_group", "check_type"]


def find_group(session: Session, context: RequestContext, group_id: str) -> Group:
    row = session.get(Group, group_id)
    if row is None or not context.can_access(row.project_id):
        raise NotFound(f"Group {group_id} could not be found.")
    return row


def check_type(group: Group, volume_type: VolumeType, volume_id: str | None = None) -> None:
    """The group must be available and support the volume's type."""
    if group.status != "available":
        raise BadRequest(f"Invalid group: Group {group.id} status must be available, but "
                         f"current status is: {group.status}.")
    if volume_type.id not in {m.volume_type_id for m in group.volume_types}:
        subject = f"volume {volume_id}" if volume_id else "the volume"
        raise BadRequest(f"Invalid volume: Cannot add {subject} to group {group.id} because "
                         f"volume type {volume_type.id} is not supported by the group.")
