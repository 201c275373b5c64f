"""Volume types: lookup by name or id (with private-type access), management, extra specs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.validation import MAX_TEXT, boolean, invalid, optional_text
from common.config import Config
from db.models import DefaultVolumeType, Volume, VolumeType, VolumeTypeExtraSpec, VolumeTypeProject

__all__ = [
    "find", "find_for_volume", "default_type", "type_name", "spec_pairs", "flush_unique",
    "list_types", "create", "update", "remove",
    "set_extra_specs", "delete_extra_spec", "add_access", "remove_access", "access_list",
    "visible_extra_specs", "extra_specs",
]

# Extra specs Cinder shows to non-admins: they change what a user may ask for.
_USER_VISIBLE_SPECS = {"multiattach", "RESKEY:availability_zones", "replication_enabled"}
_SPEC_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:. ")


def extra_specs(row: VolumeType) -> dict[str, str]:
    return {spec.key: spec.value for spec in row.extra_specs}


def multiattach(row: VolumeType) -> bool:
    """Cinder's test for a multiattach type: the spec ``multiattach`` is ``<is> True``."""
    return extra_specs(row).get("multiattach", "").strip().lower() == "<is> true"


def visible_extra_specs(context: RequestContext, row: VolumeType) -> dict[str, str]:
    specs = extra_specs(row)
    if context.is_admin:
        return specs
    return {k: v for k, v in specs.items() if k in _USER_VISIBLE_SPECS}


def _accessible(context: RequestContext, row: VolumeType) -> bool:
    if row.is_public or context.is_admin:
        return True
    return any(p.project_id == context.project_id for p in row.projects)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def find(session: Session, context: RequestContext, type_id: str) -> VolumeType:
    """A type by id, as ``/types/{id}`` names it; private types only for their projects."""
    row = session.get(VolumeType, type_id)
    if row is None or not _accessible(context, row):
        raise NotFound(f"Volume type {type_id} could not be found.")
    return row


def default_type(session: Session, conf: Config, project_id: str | None = None
                 ) -> VolumeType:
    """The project's own default (3.62 default-types) if set, else the configured one."""
    if project_id is not None:
        override = session.scalar(select(VolumeType).join(
            DefaultVolumeType, DefaultVolumeType.volume_type_id == VolumeType.id)
            .where(DefaultVolumeType.project_id == project_id))
        if override is not None:
            return override
    name = conf.default.default_volume_type
    row = session.scalars(select(VolumeType).where(VolumeType.name == name)).one_or_none()
    if row is None:
        raise NotFound(f"Default volume type {name} could not be found; run "
                       "'cinderblock-manage db sync' or create it.")
    return row


def find_for_volume(session: Session, context: RequestContext, conf: Config,
                    name_or_id: str | None) -> VolumeType:
    """The type a new volume asks for (a name or an id), else the configured default."""
    if not name_or_id:
        return default_type(session, conf, context.project_id)
    by_id = _is_uuid(name_or_id)
    column = VolumeType.id if by_id else VolumeType.name
    row = session.scalars(select(VolumeType).where(column == name_or_id)).one_or_none()
    if row is None and by_id:
        row = session.scalars(select(VolumeType)
                              .where(VolumeType.name == name_or_id)).one_or_none()
    if row is None or not _accessible(context, row):
        if by_id:
            raise NotFound(f"Volume type {name_or_id} could not be found.")
        raise NotFound(f"Volume type with name {name_or_id} could not be found.")
    return row


def _public_filter(context: RequestContext, is_public: str | None) -> bool | None:
    """Cinder's reading of ``is_public``: only an admin chooses, and leaving it out means
    public (True); the string ``none`` means every type, for an admin."""
    if not context.is_admin or is_public is None:
        return True
    if is_public.lower() == "none":
        return None
    return boolean(is_public, "is_public")


def list_types(session: Session, context: RequestContext, is_public: str | None
               ) -> list[VolumeType]:
    """Cinder's filter: public types also bring the private ones the caller's project
    was given access to, for an admin as for anyone; private-only is the bare filter."""
    statement = select(VolumeType).order_by(VolumeType.created_at, VolumeType.id)
    public = _public_filter(context, is_public)
    if public is True:
        granted = exists().where(VolumeTypeProject.volume_type_id == VolumeType.id,
                                 VolumeTypeProject.project_id == context.project_id)
        statement = statement.where(or_(VolumeType.is_public.is_(True), granted))
    elif public is False:
        statement = statement.where(VolumeType.is_public.is_(False))
    return list(session.scalars(statement))


def type_name(value: Any, noun: str = "volume type") -> str:
    """The name of a volume or group type: 1 to 255 characters after trimming."""
    name = optional_text(value, "name")
    if not name:
        raise invalid("name", value, f"A {noun} needs a name of 1 to 255 characters.")
    return name


def spec_pairs(value: Any, field: str = "extra_specs") -> dict[str, str]:
    """Extra specs (or group specs): string keys of the allowed characters, string values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(field, value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not key or len(key) > MAX_TEXT or not set(key) <= _SPEC_KEY_CHARS:
            raise invalid(field, value, f"'{key}' is not an allowed extra spec key")
        if not isinstance(item, str) or len(item) > MAX_TEXT:
            raise invalid(f"{field}.{key}", item, "must be a string of at most 255 "
                                                  "characters")
    return value


def flush_unique(session: Session, name: str, noun: str = "Volume Type") -> None:
    """Flush a new or renamed type; a taken name is Cinder's 409."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{noun} {name} already exists.") from None


def create(session: Session, spec: dict[str, Any]) -> VolumeType:
    name = type_name(spec.get("name"))
    row = VolumeType(name=name, description=optional_text(spec.get("description"),
                                                          "description"),
                     is_public=boolean(spec.get("os-volume-type-access:is_public",
                                                spec.get("is_public", True)), "is_public"))
    row.extra_specs = [VolumeTypeExtraSpec(key=k, value=v)
                       for k, v in spec_pairs(spec.get("extra_specs")).items()]
    session.add(row)
    flush_unique(session, name)
    session.commit()
    return row


def update(session: Session, row: VolumeType, spec: dict[str, Any]) -> VolumeType:
    if not {"name", "description", "is_public"} & spec.keys():
        raise BadRequest("Specify volume type name, description, is_public or a "
                         "combination thereof.")
    if "name" in spec:
        row.name = type_name(spec["name"])
    if "description" in spec:
        row.description = optional_text(spec["description"], "description")
    if "is_public" in spec:
        row.is_public = boolean(spec["is_public"], "is_public")
    flush_unique(session, row.name)
    session.commit()
    return row


def remove(session: Session, conf: Config, row: VolumeType) -> None:
    if row.name == conf.default.default_volume_type:
        raise BadRequest("Default volume type can not be deleted.")
    if session.scalar(select(exists().where(Volume.volume_type_id == row.id))):
        raise BadRequest("Target volume type is still in use.")
    session.delete(row)
    try:
        session.commit()
    except IntegrityError:  # a volume of this type was created meanwhile
        session.rollback()
        raise BadRequest("Target volume type is still in use.") from None


def set_extra_specs(session: Session, row: VolumeType, specs: Any) -> dict[str, str]:
    wanted = spec_pairs(specs)
    current = {spec.key: spec for spec in row.extra_specs}
    for key, value in wanted.items():
        if key in current:
            current[key].value = value
        else:
            row.extra_specs.append(VolumeTypeExtraSpec(key=key, value=value))
    session.commit()
    return wanted


def delete_extra_spec(session: Session, row: VolumeType, key: str) -> None:
    removed = session.execute(delete(VolumeTypeExtraSpec).where(
        VolumeTypeExtraSpec.volume_type_id == row.id, VolumeTypeExtraSpec.key == key))
    if not removed.rowcount:
        raise NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
    session.commit()


def access_list(row: VolumeType) -> list[dict[str, str]]:
    if row.is_public:
        raise NotFound("Access list not available for public volume types.")
    return [{"volume_type_id": row.id, "project_id": p.project_id} for p in row.projects]


def _project(value: Any) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("project"), str) \
            or not value["project"]:
        raise BadRequest("Missing required element 'project' in request body.")
    return value["project"]


def add_access(session: Session, row: VolumeType, body: Any) -> None:
    project = _project(body)
    if row.is_public:
        raise BadRequest("Invalid volume type: Type access modification is not applicable "
                         "to public volume type.")
    session.add(VolumeTypeProject(volume_type_id=row.id, project_id=project))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"Volume type access for {row.id} / {project} already exists.") \
            from None


def remove_access(session: Session, row: VolumeType, body: Any) -> None:
    project = _project(body)
    removed = session.execute(delete(VolumeTypeProject).where(
        VolumeTypeProject.volume_type_id == row.id, VolumeTypeProject.project_id == project))
    if not removed.rowcount:
        raise NotFound(f"Volume type access not found for {row.id} / {project}.")
    session.commit()
