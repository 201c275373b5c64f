"""Group snapshots (3.14): one snapshot of every volume of a group, taken together.

The members are ordinary snapshot rows carrying ``group_snapshot_id``, written in
one transaction with their quota and cast to their agents like any snapshot; the
controller turns the group snapshot ``available`` when its last member is, and
removes it when its last member is deleted. Members cannot be deleted alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound
from api.services import groups, snapshots
from api.services.agent_client import AgentClient
from api.services.group_membership import find_group
from api.services.listing import Listing, ListQuery
from api.validation import display_updates, invalid, optional_uuid, reject_unexpected
from common.config import Config
from db.models import GroupSnapshot, Snapshot, Volume

__all__ = ["GROUP_SNAPSHOTS", "STATUSES", "find", "create", "delete", "reset_status",
           "listed"]

STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "deleted")
_SORT_KEYS = {"created_at": GroupSnapshot.created_at, "id": GroupSnapshot.id,
              "name": GroupSnapshot.name, "status": GroupSnapshot.status}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    return None


# Cinder's resource_filters.json: name, status and group_id.
GROUP_SNAPSHOTS = Listing(model=GroupSnapshot, sort_keys=_SORT_KEYS,
                          user_filters=frozenset({"name", "status", "group_id"}),
                          admin_filters=frozenset({"project_id"}), condition=_condition)


def find(session: Session, context: RequestContext, group_snapshot_id: str) -> GroupSnapshot:
    row = session.get(GroupSnapshot, group_snapshot_id)
    if row is None or not context.can_access(row.project_id):
        raise NotFound(f"GroupSnapshot {group_snapshot_id} could not be found.")
    return row


def create(session: Session, context: RequestContext, conf: Config, agent: AgentClient,
           spec: dict[str, Any]) -> GroupSnapshot:
    reject_unexpected(spec, {"group_id", "name", "description"})
    if "group_id" not in spec:
        raise invalid("group_snapshot", spec, "'group_id' is a required property")
    group = find_group(session, context, str(optional_uuid(spec["group_id"], "group_id")))
    if group.status != "available":
        raise BadRequest(f"Invalid group: Group {group.id} status must be available, but "
                         f"current status is: {group.status}.")
    shown = display_updates(spec)
    members = list(session.scalars(select(Volume).where(Volume.group_id == group.id)
                                   .order_by(Volume.created_at, Volume.id)))
    row = GroupSnapshot(project_id=context.project_id, user_id=context.user_id,
                        group_id=group.id, group_type_id=group.group_type_id,
                        name=shown.get("display_name"),
                        description=shown.get("display_description"),
                        status="creating" if members else "available")
    session.add(row)
    session.flush()
    request = snapshots.CreateRequest(volume_id="", name=shown.get("display_name"),
                                      description=shown.get("display_description"),
                                      metadata={}, force=True)
    taken = [(snapshots.add(session, context, conf, volume, request, row.id), str(volume.host))
             for volume in members]
    session.commit()
    snapshots.cast_create(session, agent, context.request_id, taken)
    return row


def delete(session: Session, context: RequestContext, agent: AgentClient,
           row: GroupSnapshot) -> None:
    """All members go to ``deleting`` with the group snapshot, or none does."""
    if row.status not in ("available", "error"):
        raise BadRequest("Invalid group snapshot: Group snapshot status must be available or "
                         "error")
    members = list(session.scalars(select(Snapshot).where(Snapshot.group_snapshot_id == row.id)))
    if not all(snapshots.start_delete(session, context, member, snapshots.DELETABLE,
                                      with_group=True) for member in members):
        session.rollback()
        raise BadRequest("Invalid group snapshot: every snapshot of the group snapshot must "
                         "be available or error.")
    if not members:
        session.delete(row)
        session.commit()
        return
    row.status = "deleting"
    session.commit()
    hosts = {v.id: str(v.host) for v in session.scalars(
        select(Volume).where(Volume.id.in_([m.volume_id for m in members])))}
    for member in members:
        snapshots.cast_delete(session, agent, context.request_id, [member],
                              hosts[member.volume_id])


def reset_status(session: Session, context: RequestContext, row: GroupSnapshot,
                 args: Any) -> None:
    groups.reset_status(session, context, row, args, statuses=STATUSES,
                        rule="group:reset_group_snapshot_status", noun="Group snapshot")


def listed(session: Session, context: RequestContext, query: ListQuery) -> list[GroupSnapshot]:
    statement, _ = GROUP_SNAPSHOTS.page(session, context, select(GroupSnapshot), query)
    return list(session.scalars(statement))

