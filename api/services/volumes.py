"""The volume lifecycle the API drives: create, read, update, delete.

Status changes go through ``db.states`` (guarded UPDATEs) and quota through
``db.quota`` reservations, so racing requests can neither both win a transition
nor both pass a limit. Work on storage is cast after the database commit: a cast
never announces a row that a rollback could take back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, bindparam, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound, OverLimit, ServiceUnavailable
from api.services import group_membership, type_encryption, volume_types, zones
from api.services.agent_client import AgentClient
from api.services.metadata import VISIBLE_ADMIN_KEYS, replace
from api.services.scheduler_client import SchedulerClient
from api.services.volume_query import VOLUMES, ListQuery
from api.validation import (
    boolean,
    display_updates,
    invalid,
    metadata,
    optional_text,
    optional_uuid,
    reject_unexpected,
    size,
)
from common.config import Config
from common.messaging import MessagingError
from db import agent_messages, quota, states
from db.iso_text import iso_text
from db.models import (
    Snapshot,
    Volume,
    VolumeAdminMetadata,
    VolumeAttachment,
    VolumeMetadata,
    VolumeType,
)
from db.quota import OverQuota

__all__ = [
    "CreateRequest", "parse_create", "find", "add", "schedule", "create", "update", "delete_volume",
    "force_delete", "list_brief", "list_detail", "show", "summarize", "volume_message", "deltas",
    "reserve", "check_deletable", "not_deletable", "VolumeDetail", "SHOWN_COLUMNS",
]

DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
# Cinder's force delete ignores the status (``deleting`` too: it sends the delete again).
FORCE_DELETABLE = tuple(states.VOLUME_TRANSITIONS)
# Migration statuses Cinder lets a delete through.
_DELETABLE_MIGRATION = states.MIGRATION_IDLE
_UPDATABLE = {"name", "description", "display_name", "display_description", "metadata"}


@dataclass
class CreateRequest:
    size: int | None
    name: str | None
    description: str | None
    metadata: dict[str, str]
    volume_type: str | None
    availability_zone: str | None
    snapshot_id: str | None
    source_volid: str | None
    multiattach: bool
    group_id: str | None


def parse_create(spec: dict[str, Any]) -> CreateRequest:
    """Check a ``volume`` object of POST /volumes against Cinder's create schema."""
    for source in ("imageRef", "image_id", "backup_id"):
        if spec.get(source):
            raise BadRequest(f"Invalid input received: {source} is not supported: "
                             "cinderblock has no image or backup service to copy from.")
    meta = spec.get("metadata")
    volume_type = spec.get("volume_type")
    if volume_type is not None and (not isinstance(volume_type, str)
                                    or len(volume_type) > 255):
        raise invalid("volume_type", volume_type, "must be a name or id of at most 255 "
                                                  "characters")
    zone = spec.get("availability_zone")
    if zone is not None and not isinstance(zone, str):
        raise invalid("availability_zone", zone, f"{zone!r} is not of type 'string', 'null'")
    return CreateRequest(
        size=size(spec["size"]) if spec.get("size") is not None else None,
        name=optional_text(spec.get("name", spec.get("display_name")), "name"),
        description=optional_text(spec.get("description", spec.get("display_description")),
                                  "description"),
        metadata=metadata(meta) if meta is not None else {},
        volume_type=volume_type or None,
        availability_zone=zone or None,
        snapshot_id=optional_uuid(spec.get("snapshot_id"), "snapshot_id"),
        source_volid=optional_uuid(spec.get("source_volid"), "source_volid"),
        multiattach=boolean(spec.get("multiattach", False), "multiattach"),
        group_id=optional_uuid(spec.get("group_id"), "group_id"),
    )


def volume_message(volume_id: str) -> str:
    return f"Volume {volume_id} could not be found."


def find(session: Session, context: RequestContext, volume_id: str) -> Volume:
    """The volume if the caller may see it; 404 otherwise (never 403: ids stay secret)."""
    row = session.get(Volume, volume_id)
    if row is None or not context.can_access(row.project_id):
        raise NotFound(volume_message(volume_id))
    return row


def deltas(volume_type: VolumeType, count: int, gigabytes: int) -> dict[str, int]:
    """Quota deltas of ``count`` volumes totalling ``gigabytes``, overall and per type."""
    return {"volumes": count, "gigabytes": gigabytes,
            f"volumes_{volume_type.name}": count, f"gigabytes_{volume_type.name}": gigabytes}


def reserve(session: Session, conf: Config, project_id: str, wanted: dict[str, int],
            new_size: int) -> list[str]:
    """Reserve ``wanted`` after the per-volume size limit; quota failures become 413."""
    with _quota_errors(session):
        return quota.reserve(session, project_id, wanted, conf=conf.default,
                             volume_size=new_size)


@contextmanager
def _quota_errors(session: Session) -> Iterator[None]:
    """Cinder's answers to a refused quota: 400 for the per-volume size, 413 otherwise;
    the transaction is rolled back either way (it may hold usage rows just created)."""
    try:
        yield
    except quota.VolumeSizeOverLimit as exc:
        session.rollback()
        raise BadRequest(exc.message) from None
    except OverQuota as exc:
        session.rollback()
        raise OverLimit(exc.message) from None


def _source_size(session: Session, context: RequestContext, request: CreateRequest) -> int:
    """Size of the snapshot or volume a new volume copies; both must be ours and ready."""
    if request.snapshot_id and request.source_volid:
        raise BadRequest("Invalid input received: Only one of snapshot_id and source_volid "
                         "may be given.")
    if request.snapshot_id:
        snapshot = session.get(Snapshot, request.snapshot_id)
        if snapshot is None or not context.can_access(snapshot.project_id):
            raise NotFound(f"Snapshot {request.snapshot_id} could not be found.")
        if snapshot.status != "available":
            raise BadRequest("Invalid snapshot: Originating snapshot status must be one of "
                             "'available' values")
        return snapshot.volume_size
    source = session.get(Volume, request.source_volid)
    if source is None or not context.can_access(source.project_id):
        raise NotFound(volume_message(str(request.source_volid)))
    if source.status not in ("available", "in-use"):
        raise BadRequest("Invalid volume: Source volume status must be available or in-use.")
    return source.size


def _size(session: Session, context: RequestContext, request: CreateRequest) -> int:
    if not (request.snapshot_id or request.source_volid):
        if request.size is None:
            raise BadRequest("Invalid input received: Size must be specified when creating "
                             "a volume that is not a copy.")
        return request.size
    source_size = _source_size(session, context, request)
    if request.size is None:
        return source_size
    if request.size < source_size:
        raise BadRequest(f"Invalid input received: Volume size '{request.size}'GB cannot be "
                         f"smaller than the source size of {source_size}GB.")
    return request.size


def add(session: Session, context: RequestContext, conf: Config,
        request: CreateRequest) -> Volume:
    """Write a new volume ``creating`` with its quota, in the caller's transaction (a
    group made from a source adds all its volumes in one)."""
    volume_type = volume_types.find_for_volume(session, context, conf, request.volume_type)
    type_encryption.refuse_encrypted(session, volume_type)
    new_size = _size(session, context, request)
    zone = zones.check(session, conf, request.availability_zone)
    if request.group_id:
        group_membership.check_type(
            group_membership.find_group(session, context, request.group_id), volume_type)
    row = Volume(project_id=context.project_id, user_id=context.user_id,
                 display_name=request.name, display_description=request.description,
                 size=new_size, status="creating", availability_zone=zone,
                 volume_type=volume_type, snapshot_id=request.snapshot_id,
                 source_volid=request.source_volid,
                 multiattach=request.multiattach or volume_types.multiattach(volume_type),
                 group_id=request.group_id,
                 task_owner=context.request_id)
    row.volume_metadata = [VolumeMetadata(key=k, value=v) for k, v in request.metadata.items()]
    row.attachments = []
    row.volume_admin_metadata = []
    session.add(row)
    session.flush()
    # Charged last: the project's usage rows stay locked from here to the commit, the
    # fewest round trips, and concurrent creates in one project queue on those locks.
    with _quota_errors(session):
        quota.consume(session, context.project_id, deltas(volume_type, 1, new_size),
                      conf=conf.default, volume_size=new_size)
    return row


def schedule(session: Session, context: RequestContext, scheduler: SchedulerClient,
             row: Volume) -> None:
    """Ask the scheduler to place a committed new volume; without a broker it ends in
    ``error`` (deletable) and the caller gets 503."""
    try:
        scheduler.create_volume(context.request_id, row.id)
    except MessagingError as exc:
        states.transition(session, row.id, ["creating"], "error",
                          status_reason=f"could not reach the scheduler: {exc}")
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the volume was set to "
                                 "error and may be deleted.") from exc


def create(session: Session, context: RequestContext, conf: Config,
           scheduler: SchedulerClient, request: CreateRequest) -> Volume:
    row = add(session, context, conf, request)
    session.commit()
    schedule(session, context, scheduler, row)
    return row


def update(session: Session, row: Volume, spec: dict[str, Any]) -> Volume:
    reject_unexpected(spec, _UPDATABLE)
    for column, value in display_updates(spec).items():
        setattr(row, column, value)
    if "metadata" in spec:
        replace(session, row.volume_metadata, VolumeMetadata, metadata(spec["metadata"]))
    session.commit()
    return row


def _remove_unplaced(session: Session, conf: Config, row: Volume,
                     expected: Sequence[str]) -> None:
    """Delete a volume that never reached storage and give its quota back, if still in
    ``expected``: of two racing deletes only the one that removed the row releases."""
    volume_type, project_id, gigabytes = row.volume_type, row.project_id, row.size
    counted = row.consumes_quota
    if not states.VOLUME.delete(session, row.id, expected):
        raise BadRequest(not_deletable())
    if not counted:
        return
    quota.consume(session, project_id, deltas(volume_type, -1, -gigabytes), conf=conf.default)


def _has_snapshots(session: Session, row: Volume) -> bool:
    return bool(session.scalar(select(exists().where(Snapshot.volume_id == row.id))))


def _start_delete(session: Session, conf: Config, agent: AgentClient,
                  context: RequestContext, row: Volume, expected: Sequence[str], *,
                  force: bool = False) -> None:
    if row.host is None:
        _remove_unplaced(session, conf, row, expected)
        session.commit()
        return
    if not states.VOLUME.transition(session, row.id, expected, "deleting", force=force,
                                    task_owner=context.request_id):
        raise BadRequest(not_deletable())
    session.commit()
    session.refresh(row)
    try:
        agent.delete_volume(context.request_id, agent_messages.volume_message(row))
    except MessagingError as exc:
        states.transition(session, row.id, ["deleting"], "error_deleting",
                          status_reason=f"could not reach the volume service: {exc}")
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the volume was set to "
                                 "error_deleting and the delete may be retried.") from exc


def not_deletable() -> str:
    return ("Invalid volume: Volume status must be available or error or error_restoring or "
            "error_extending or error_managing and must not be migrating, attached, belong "
            "to a group, have snapshots, awaiting a transfer, or be disassociated from "
            "snapshots after volume transfer.")


def delete_volume(session: Session, context: RequestContext, conf: Config, agent: AgentClient,
                  row: Volume) -> None:
    """Delete at once if never placed, else mark ``deleting`` and ask its agent.

    Quota for a placed volume is released when the agent confirms (controller's
    ``volume_deleted``), so a failed delete keeps counting what still exists.
    """
    check_deletable(session, row)
    _start_delete(session, conf, agent, context, row, DELETABLE)


def check_deletable(session: Session, row: Volume, *, with_snapshots: bool = False) -> None:
    """Cinder's refusal of a delete; ``with_snapshots`` for a cascade that takes them too."""
    if row.status not in DELETABLE or row.attach_status != "detached" \
            or row.migration_status not in _DELETABLE_MIGRATION \
            or row.group_id or (not with_snapshots and _has_snapshots(session, row)):
        raise BadRequest(not_deletable())


def force_delete(session: Session, context: RequestContext, conf: Config, agent: AgentClient,
                 row: Volume) -> None:
    """The admin's delete from any status; as in Cinder, being attached, migrating, in a
    group or having snapshots still block it."""
    if row.attach_status == "attached" or row.migration_status not in _DELETABLE_MIGRATION \
            or row.group_id or _has_snapshots(session, row):
        raise BadRequest(not_deletable())
    _start_delete(session, conf, agent, context, row, FORCE_DELETABLE, force=True)


def _brief_columns() -> Any:
    return select(Volume.id, Volume.display_name, Volume.project_id)


def list_brief(session: Session, context: RequestContext, query: ListQuery
               ) -> tuple[list[Any], int | None]:
    statement, count = VOLUMES.page(session, context, _brief_columns(), query)
    return list(session.execute(statement)), count


@dataclass
class VolumeDetail:
    """One volume as GET shows it: its columns (and its type's name) as a plain row, and
    what the view needs from its relations."""

    row: Any
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: list[Any] = field(default_factory=list)


#: what the GET views render of a volume row (``api.views.volumes``): a long page costs
#: mostly the driver's parsing of each column of each row, so only these are read, and
#: the timestamps come as the text shown (``created_text``, ``updated_text``)
SHOWN_COLUMNS = (Volume.id, Volume.status, Volume.size, Volume.availability_zone,
                 iso_text(Volume.created_at).label("created_text"),
                 iso_text(Volume.updated_at).label("updated_text"), Volume.display_name,
                 Volume.display_description, Volume.snapshot_id, Volume.source_volid,
                 Volume.project_id, Volume.user_id, Volume.bootable, Volume.replication_status,
                 Volume.multiattach, Volume.migration_status, Volume.group_id, Volume.host,
                 VolumeType.name.label("volume_type_name"),
                 # Whether the metadata and attachment queries need the volume at all: most
                 # volumes have neither, and a thousand ids sent for nothing cost a page
                 # a fifth of its time (and a poll of one volume two round trips).
                 or_(exists().where(VolumeMetadata.volume_id == Volume.id),
                     exists().where(VolumeAdminMetadata.volume_id == Volume.id,
                                    VolumeAdminMetadata.key.in_(VISIBLE_ADMIN_KEYS)))
                 .label("has_metadata"),
                 exists().where(VolumeAttachment.volume_id == Volume.id,
                                VolumeAttachment.attach_status == "attached")
                 .label("has_attached"))


_DETAIL = select(*SHOWN_COLUMNS).join(VolumeType, VolumeType.id == Volume.volume_type_id)
# Built once: SQLAlchemy then finds their compiled form without walking them again,
# which was a fifth of the API's time spent answering a poll of one volume.
_SHOW = _DETAIL.where(Volume.id == bindparam("volume_id"))
_IDS = bindparam("ids", expanding=True)
# User keys first, then the admin keys Cinder shows over them.
_SHOWN_METADATA = union_all(
    select(literal(0, Integer).label("rank"), VolumeMetadata.id, VolumeMetadata.volume_id,
           VolumeMetadata.key, VolumeMetadata.value)
    .where(VolumeMetadata.volume_id.in_(_IDS)),
    select(literal(1, Integer), VolumeAdminMetadata.id, VolumeAdminMetadata.volume_id,
           VolumeAdminMetadata.key, VolumeAdminMetadata.value)
    .where(VolumeAdminMetadata.volume_id.in_(_IDS),
           VolumeAdminMetadata.key.in_(VISIBLE_ADMIN_KEYS))).subquery()
_METADATA = (select(_SHOWN_METADATA.c.volume_id, _SHOWN_METADATA.c.key,
                    _SHOWN_METADATA.c.value)
             .order_by(_SHOWN_METADATA.c.rank, _SHOWN_METADATA.c.id))
_ATTACHED = (select(VolumeAttachment.id, VolumeAttachment.volume_id,
                    VolumeAttachment.instance_uuid, VolumeAttachment.attached_host,
                    VolumeAttachment.mountpoint, VolumeAttachment.attach_time)
             .where(VolumeAttachment.volume_id.in_(_IDS),
                    VolumeAttachment.attach_status == "attached")
             .order_by(VolumeAttachment.id))


def _details(session: Session, statement: Any, params: dict[str, Any] | None = None
             ) -> list[VolumeDetail]:
    """The volumes ``statement`` (``_DETAIL`` narrowed) selects, with their shown
    metadata and attached attachments: at most three queries whatever the count, on plain
    rows (ORM objects made up most of a long page's time)."""
    details = {row.id: VolumeDetail(row) for row in session.execute(statement, params)}
    with_metadata = [d.row.id for d in details.values() if d.row.has_metadata]
    if with_metadata:
        for volume_id, key, value in session.execute(_METADATA, {"ids": with_metadata}):
            details[volume_id].metadata[key] = value
    with_attached = [d.row.id for d in details.values() if d.row.has_attached]
    if with_attached:
        for attachment in session.execute(_ATTACHED, {"ids": with_attached}):
            details[attachment.volume_id].attachments.append(attachment)
    return list(details.values())


def show(session: Session, context: RequestContext, volume_id: str) -> VolumeDetail:
    """One volume for GET, as ``find`` decides who may see it."""
    found = _details(session, _SHOW, {"volume_id": volume_id})
    if not found or not context.can_access(found[0].row.project_id):
        raise NotFound(volume_message(volume_id))
    return found[0]


def list_detail(session: Session, context: RequestContext, query: ListQuery
                ) -> tuple[list[VolumeDetail], int | None]:
    """A page of volumes with metadata, type and attached attachments."""
    statement, count = VOLUMES.page(session, context, _DETAIL, query)
    return _details(session, statement), count


def summarize(session: Session, context: RequestContext, query: ListQuery
              ) -> tuple[int, int, dict[str, list[str]]]:
    scoped = VOLUMES.filtered(context, select(Volume.id), query).subquery()
    total_count, total_size = session.execute(
        select(func.count(Volume.id), func.coalesce(func.sum(Volume.size), 0))
        .where(Volume.id.in_(select(scoped.c.id)))).one()
    meta: dict[str, list[str]] = {}
    for key, value in session.execute(
            select(VolumeMetadata.key, VolumeMetadata.value).distinct()
            .where(VolumeMetadata.volume_id.in_(select(scoped.c.id)))
            .order_by(VolumeMetadata.key, VolumeMetadata.value)):
        meta.setdefault(key, []).append(value)
    return total_count, int(total_size), meta
