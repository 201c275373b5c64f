"""Per-project default volume types (3.62): which type a volume gets when none is named."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.errors import BadRequest, NotFound
from db.models import DefaultVolumeType, VolumeType

__all__ = ["set_default", "get_default", "list_defaults", "unset_default", "as_dict"]


def as_dict(row: DefaultVolumeType) -> dict[str, str]:
    return {"project_id": row.project_id, "volume_type_id": row.volume_type_id}


def _type_id(session: Session, body: Any) -> str:
    spec = body.get("default_type") if isinstance(body, dict) else None
    name_or_id = spec.get("volume_type") if isinstance(spec, dict) else None
    if not isinstance(name_or_id, str) or not name_or_id:
        raise BadRequest("Invalid input for field/attribute default_type. 'volume_type' is "
                         "a required property")
    found = session.scalar(select(VolumeType.id).where(
        (VolumeType.id == name_or_id) | (VolumeType.name == name_or_id)))
    if found is None:
        raise BadRequest(f"Volume type {name_or_id} could not be found.")
    return found


def set_default(session: Session, project_id: str, body: Any) -> DefaultVolumeType:
    type_id = _type_id(session, body)
    row = session.get(DefaultVolumeType, project_id)
    if row is None:
        row = DefaultVolumeType(project_id=project_id, volume_type_id=type_id)
        session.add(row)
    else:
        row.volume_type_id = type_id
    session.commit()
    return row


def get_default(session: Session, project_id: str) -> DefaultVolumeType:
    """Who may read it is the route's policy decision (``volume_extension:default_get``)."""
    row = session.get(DefaultVolumeType, project_id)
    if row is None:
        raise NotFound(f"Default type for project {project_id} not found.")
    return row


def list_defaults(session: Session) -> list[DefaultVolumeType]:
    return list(session.scalars(select(DefaultVolumeType)
                                .order_by(DefaultVolumeType.project_id)))


def unset_default(session: Session, project_id: str) -> None:
    session.execute(delete(DefaultVolumeType).where(DefaultVolumeType.project_id == project_id))
    session.commit()
