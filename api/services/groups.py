"""Generic volume groups (3.13): create, update membership, delete (with volumes), reset.

The LVM backend has no group support of its own, so, as in Cinder's generic group
implementation, a group is a database record over its volumes: it is available
as soon as it is written, and deleting it with ``delete-volumes`` deletes each
volume through its agent as a volume delete would.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound, OverLimit
from api.policy import require_admin
from api.services import volume_types, volumes, zones
from api.services.agent_client import AgentClient
from api.services.group_membership import check_type, find_group
from api.services.listing import Listing, ListQuery
from api.validation import boolean, display_updates, invalid, reject_unexpected
from common.config import Config
from db import quota
from db.models import Group, GroupSnapshot, GroupType, GroupVolumeTypeMapping, Volume
from db.quota import OverQuota

__all__ = ["GROUPS", "STATUSES", "add", "create", "update", "delete", "reset_status", "listed",
           "member_ids", "find_group"]

STATUSES = ("available", "error", "creating", "deleting", "error_deleting", "updating",
            "in-use", "deleted")
_SORT_KEYS = {"created_at": Group.created_at, "id": Group.id, "name": Group.name,
              "status": Group.status}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    if key == "name" and like:
        return Group.name.contains(text, autoescape=True)
    return None


# Cinder's resource_filters.json lets users filter groups by name only.
GROUPS = Listing(model=Group, sort_keys=_SORT_KEYS, user_filters=frozenset({"name"}),
                 admin_filters=frozenset({"project_id", "status", "group_type_id"}),
                 condition=_condition)


def _group_type(session: Session, context: RequestContext, name_or_id: Any) -> GroupType:
    if not isinstance(name_or_id, str) or not name_or_id:
        raise invalid("group_type", name_or_id, "'group_type' is a required property")
    row = session.scalars(select(GroupType).where(
        (GroupType.id == name_or_id) | (GroupType.name == name_or_id))).first()
    if row is None or not (row.is_public or context.is_admin):
        raise NotFound(f"Group type {name_or_id} could not be found.")
    return row


def create(session: Session, context: RequestContext, conf: Config,
           spec: dict[str, Any]) -> Group:
    reject_unexpected(spec, {"name", "description", "group_type", "volume_types",
                             "availability_zone"})
    group_type = _group_type(session, context, spec.get("group_type"))
    names = spec.get("volume_types")
    if not isinstance(names, list) or not names:
        raise invalid("volume_types", names, "'volume_types' must be a non-empty list")
    types = {volume_types.find_for_volume(session, context, conf, str(name)).id
             for name in names}
    zone = zones.check(session, conf, spec.get("availability_zone"))
    row = add(session, context, conf, spec, availability_zone=zone,
              group_type_id=group_type.id, type_ids=types)
    session.commit()
    return row


def add(session: Session, context: RequestContext, conf: Config, spec: dict[str, Any], *,
        type_ids: set[str], **columns: Any) -> Group:
    """The group row and its quota, flushed and not committed: a group made from a source
    adds its volumes in the same transaction, so a refusal leaves neither behind."""
    try:
        reservations = quota.reserve(session, context.project_id, {"groups": 1},
                                     conf=conf.default)
    except OverQuota as exc:
        session.rollback()
        raise OverLimit(exc.message) from None
    shown = display_updates(spec)
    row = Group(project_id=context.project_id, user_id=context.user_id,
                name=shown.get("display_name"), description=shown.get("display_description"),
                status="available", **columns,
                volume_types=[GroupVolumeTypeMapping(volume_type_id=t)
                              for t in sorted(type_ids)])
    session.add(row)
    session.flush()
    quota.commit(session, reservations)
    return row


def _volume_ids(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    return [item.strip() for item in value.split(",") if item.strip()]


def _add(session: Session, context: RequestContext, group: Group, volume_id: str) -> None:
    volume = volumes.find(session, context, volume_id)
    if volume.group_id:
        raise BadRequest(f"Invalid volume: Volume {volume_id} is already in a group.")
    if volume.status not in ("available", "in-use"):
        raise BadRequest(f"Invalid volume: Cannot add volume {volume_id} to group "
                         f"{group.id} because volume is in an invalid state: "
                         f"{volume.status}. Valid states are: ('available', 'in-use').")
    check_type(group, volume.volume_type, volume_id)
    volume.group_id = group.id


def _remove(session: Session, context: RequestContext, group: Group, volume_id: str) -> None:
    volume = volumes.find(session, context, volume_id)
    if volume.group_id != group.id:
        raise BadRequest(f"Invalid volume: Cannot remove volume {volume_id} from group "
                         f"{group.id} because it is not in the group.")
    volume.group_id = None


def update(session: Session, context: RequestContext, group: Group,
           spec: dict[str, Any]) -> None:
    reject_unexpected(spec, {"name", "description", "add_volumes", "remove_volumes"})
    adds = _volume_ids(spec.get("add_volumes"), "add_volumes")
    removes = _volume_ids(spec.get("remove_volumes"), "remove_volumes")
    shown = display_updates(spec)
    if not (adds or removes or shown):
        raise BadRequest("Name, description, add_volumes, and remove_volumes can not be all "
                         "empty in the request body.")
    if (adds or removes) and group.status != "available":
        raise BadRequest(f"Invalid group: Group {group.id} status must be available, but "
                         f"current status is: {group.status}.")
    for volume_id in adds:
        _add(session, context, group, volume_id)
    for volume_id in removes:
        _remove(session, context, group, volume_id)
    if "display_name" in shown:
        group.name = shown["display_name"]
    if "display_description" in shown:
        group.description = shown["display_description"]
    session.commit()


def member_ids(session: Session, group: Group) -> list[str]:
    return list(session.scalars(select(Volume.id).where(Volume.group_id == group.id)
                                .order_by(Volume.created_at, Volume.id)))


def delete(session: Session, context: RequestContext, conf: Config, agent: AgentClient,
           group: Group, args: Any) -> None:
    """Refused while volumes remain unless ``delete-volumes``; then every volume must be
    deletable before any is touched, so a refusal changes nothing."""
    if not isinstance(args, dict):
        raise invalid("delete", args, f"{args!r} is not of type 'object'")
    delete_volumes = boolean(args.get("delete-volumes", False), "delete-volumes")
    if group.status not in ("available", "error"):
        raise BadRequest(f"Invalid group: Group status must be available or error, but "
                         f"current status is: {group.status}")
    if session.scalar(select(GroupSnapshot.id).where(GroupSnapshot.group_id == group.id)
                      .limit(1)):
        raise BadRequest(f"Invalid group: Group {group.id} has group snapshots; delete them "
                         "first.")
    members = [volumes.find(session, context, v) for v in member_ids(session, group)]
    if members and not delete_volumes:
        raise BadRequest(f"Invalid group: Group {group.id} still contains volumes. The "
                         "delete-volumes flag is required to delete it.")
    session.execute(sql_update(Volume).where(Volume.group_id == group.id).values(group_id=None)
                    .execution_options(synchronize_session=False))
    for volume in members:
        session.refresh(volume)
        volumes.check_deletable(session, volume)
    freed = quota.reserve(session, group.project_id, {"groups": -1}, conf=conf.default)
    quota.commit(session, freed)
    session.delete(group)
    session.commit()
    for volume in members:
        volumes.delete_volume(session, context, conf, agent, volume)


def reset_status(session: Session, context: RequestContext, row: Group | GroupSnapshot,
                 args: Any, *, statuses: tuple[str, ...] = STATUSES,
                 rule: str = "group:reset_status", noun: str = "Group") -> None:
    """The admin's override of a group's (or group snapshot's) status."""
    require_admin(context, rule)
    status = args.get("status") if isinstance(args, dict) else None
    if not isinstance(status, str) or status.lower() not in statuses:
        raise BadRequest(f"{noun} status: {status} is invalid, valid statuses are: "
                         f"{statuses}.")
    row.status = status.lower()
    session.commit()


def listed(session: Session, context: RequestContext, query: ListQuery) -> list[Group]:
    statement, _ = GROUPS.page(session, context, select(Group), query)
    return list(session.scalars(statement))
