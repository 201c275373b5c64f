"""Groups made from a source (``create-from-src``, 3.14): a group snapshot, whose member
snapshots each become a volume, or a group, whose volumes are each cloned.

The group, its quota and every new volume are written in one transaction, so a
refusal (an empty source, a source not ready, no quota left) leaves nothing behind;
each volume is then created as a single create from a snapshot or a clone is,
through the scheduler (which keeps it on its source's backend) and the agent. As in
Cinder, the group stays ``creating`` until every volume is created, and becomes
``error`` if one fails (``scheduler.groups``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, ServiceUnavailable
from api.services import group_snapshots, groups, volumes
from api.services.group_membership import find_group
from api.services.scheduler_client import SchedulerClient
from api.validation import invalid, optional_uuid, reject_unexpected
from common.config import Config
from db.models import Group, Snapshot, Volume

__all__ = ["create_from_source"]


def _copy(source: Snapshot | Volume, group_id: str, zone: str | None) -> volumes.CreateRequest:
    """A volume of the new group, as Cinder asks for it: no name, the source's type."""
    from_snapshot = isinstance(source, Snapshot)
    return volumes.CreateRequest(
        size=None, name=None, description=None, metadata={},
        volume_type=source.volume_type_id, availability_zone=zone,
        snapshot_id=source.id if from_snapshot else None,
        source_volid=None if from_snapshot else source.id,
        multiattach=False, group_id=group_id)


def _sources(session: Session, context: RequestContext, spec: dict[str, Any]
             ) -> tuple[Group, list[Snapshot] | list[Volume], dict[str, str | None]]:
    """The group the source belongs to, the rows to copy, and what the new group records
    as its source."""
    snapshot_id = optional_uuid(spec.get("group_snapshot_id"), "group_snapshot_id")
    group_id = optional_uuid(spec.get("source_group_id"), "source_group_id")
    if bool(snapshot_id) == bool(group_id):
        raise invalid("create-from-src", spec, "exactly one of 'group_snapshot_id' and "
                                               "'source_group_id' is required")
    if snapshot_id:
        group_snapshot = group_snapshots.find(session, context, snapshot_id)
        snapshots = list(session.scalars(
            select(Snapshot).where(Snapshot.group_snapshot_id == group_snapshot.id)
            .order_by(Snapshot.created_at, Snapshot.id)))
        if not snapshots:
            raise BadRequest("Invalid Group: Group snapshot is empty. No group will be "
                             "created.")
        return (find_group(session, context, group_snapshot.group_id), snapshots,
                {"group_snapshot_id": group_snapshot.id, "source_group_id": None})
    source = find_group(session, context, str(group_id))
    members = list(session.scalars(select(Volume).where(Volume.group_id == source.id)
                                   .order_by(Volume.created_at, Volume.id)))
    if not members:
        raise BadRequest("Invalid Group: Source Group is empty. No group will be created.")
    return source, members, {"group_snapshot_id": None, "source_group_id": source.id}


def create_from_source(session: Session, context: RequestContext, conf: Config,
                       scheduler: SchedulerClient, spec: dict[str, Any]) -> Group:
    reject_unexpected(spec, {"name", "description", "group_snapshot_id", "source_group_id"})
    source_group, copied, origin = _sources(session, context, spec)
    types = {m.volume_type_id for m in source_group.volume_types} \
        | {row.volume_type_id for row in copied}
    group = groups.add(session, context, conf, spec, type_ids=types,
                       availability_zone=source_group.availability_zone,
                       group_type_id=source_group.group_type_id, **origin)
    new = [volumes.add(session, context, conf, _copy(row, group.id, group.availability_zone))
           for row in copied]
    # Written available for volumes.add, which takes only an available group's members;
    # committed creating, which the scheduler ends when the last volume is created.
    group.status = "creating"
    session.commit()
    unreachable: ServiceUnavailable | None = None
    for volume in new:
        try:
            volumes.schedule(session, context, scheduler, volume)
        except ServiceUnavailable as exc:
            unreachable = exc
    if unreachable is not None:
        raise unreachable
    return group
