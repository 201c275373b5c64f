"""The snapshot lifecycle the API drives: create, read, update, delete.

A snapshot row is written ``creating`` with its quota committed in the same
transaction, then ``create_snapshot`` is cast to the agent holding the volume;
the controller's ``snapshot_created``/``snapshot_deleted`` finish the work. The
volume is held with a guarded no-op UPDATE while the row is written, so a
racing delete of the volume either sees the snapshot or wins before it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound, ServiceUnavailable
from api.services import volumes
from api.services.agent_client import AgentClient
from api.services.listing import Listing, ListQuery, metadata_condition
from api.validation import (
    boolean,
    display_updates,
    invalid,
    metadata,
    optional_uuid,
    reject_unexpected,
)
from common.config import Config
from common.messaging import MessagingError
from db import quota, states
from db.models import Snapshot, SnapshotMetadata, Volume

__all__ = [
    "SNAPSHOTS", "USER_FILTERS", "CreateRequest", "parse_create", "find", "create", "update",
    "delete", "force_delete", "deltas", "agent_dict", "snapshot_message", "listed",
    "cast_delete", "start_delete", "delete_volume_cascade", "add", "cast_create",
]

DELETABLE = ("available", "error")
# Cinder's force delete ignores the status; only a group snapshot's member is refused.
FORCE_DELETABLE = states.SNAPSHOT_STATUSES
_CREATE_KEYS = {"name", "display_name", "description", "display_description", "volume_id",
                "force", "metadata"}
_UPDATE_KEYS = {"name", "display_name", "description", "display_description"}
# Filters every caller may use (Cinder's resource_filters.json for snapshots).
USER_FILTERS = frozenset({"name", "status", "volume_id", "metadata", "availability_zone"})
_ADMIN_FILTERS = frozenset({"project_id", "user_id", "id", "volume_type_id", "progress"})
_SORT_KEYS = {
    "created_at": Snapshot.created_at,
    "updated_at": func.coalesce(Snapshot.updated_at, Snapshot.created_at),
    "id": Snapshot.id,
    "name": func.coalesce(Snapshot.display_name, ""),
    "display_name": func.coalesce(Snapshot.display_name, ""),
    "description": func.coalesce(Snapshot.display_description, ""),
    "status": Snapshot.status,
    "size": Snapshot.volume_size,
    "volume_size": Snapshot.volume_size,
    "volume_id": Snapshot.volume_id,
    "project_id": Snapshot.project_id,
    "user_id": func.coalesce(Snapshot.user_id, ""),
}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    if key in ("name", "display_name"):
        if like:
            return Snapshot.display_name.contains(text, autoescape=True)
        return Snapshot.display_name == text
    if key == "metadata":
        if not context.microversion.at_least("snapshot_metadata_filter"):
            return true()  # Cinder drops the filter before 3.22
        return metadata_condition(Snapshot.snapshot_metadata, SnapshotMetadata, key, text)
    if key == "availability_zone":
        return Snapshot.volume.has(Volume.availability_zone == text)
    return None


SNAPSHOTS = Listing(model=Snapshot, sort_keys=_SORT_KEYS, user_filters=USER_FILTERS,
                    admin_filters=_ADMIN_FILTERS, condition=_condition)


@dataclass
class CreateRequest:
    volume_id: str
    name: str | None
    description: str | None
    metadata: dict[str, str]
    force: bool


def parse_create(spec: dict[str, Any]) -> CreateRequest:
    """Check a ``snapshot`` object of POST /snapshots against Cinder's create schema."""
    reject_unexpected(spec, _CREATE_KEYS)
    if "volume_id" not in spec:
        raise invalid("snapshot", spec, "'volume_id' is a required property")
    volume_id = optional_uuid(spec["volume_id"], "volume_id")
    if volume_id is None:
        # Cinder looks a null volume_id up like any other id (Tempest checks the 404).
        raise NotFound(volumes.volume_message("None"))
    meta = spec.get("metadata")
    force = spec.get("force")
    shown = display_updates(spec)
    return CreateRequest(
        volume_id=volume_id,
        name=shown.get("display_name"), description=shown.get("display_description"),
        metadata=metadata(meta) if meta is not None else {},
        force=boolean(force, "force") if force is not None else False)


def snapshot_message(snapshot_id: str) -> str:
    return f"Snapshot {snapshot_id} could not be found."


def find(session: Session, context: RequestContext, snapshot_id: str) -> Snapshot:
    """The snapshot if the caller may see it; 404 otherwise."""
    row = session.get(Snapshot, snapshot_id)
    if row is None or not context.can_access(row.project_id):
        raise NotFound(snapshot_message(snapshot_id))
    return row


def deltas(type_name: str, count: int, gigabytes: int) -> dict[str, int]:
    """Quota deltas of ``count`` snapshots totalling ``gigabytes``, overall and per type."""
    return {"snapshots": count, "gigabytes": gigabytes,
            f"snapshots_{type_name}": count, f"gigabytes_{type_name}": gigabytes}


def agent_dict(row: Snapshot, host: str) -> dict[str, Any]:
    """The ``snapshot`` argument of the agent's snapshot methods (docs/design.md)."""
    return {"id": row.id, "volume_id": row.volume_id, "volume_size": row.volume_size,
            "host": host}


def _check_volume(volume: Volume, force: bool) -> tuple[str, ...]:
    """Cinder's refusals, in its order; returns the volume statuses a snapshot may take."""
    if not volume.host:
        raise BadRequest("Invalid volume: The snapshot cannot be created because volume has "
                         "not been scheduled to any host.")
    if volume.status == "maintenance":
        raise BadRequest("Invalid volume: The snapshot cannot be created when the volume is "
                         "in maintenance mode.")
    if volume.migration_status not in states.MIGRATION_IDLE:
        raise BadRequest("Invalid volume: Snapshot cannot be created while volume is "
                         "migrating.")
    if volume.status == "error":
        raise BadRequest("Invalid volume: The snapshot cannot be created when the volume is "
                         "in error status.")
    valid = ("available", "in-use") if force else ("available",)
    if volume.status not in valid:
        raise BadRequest(f"Invalid volume: Volume {volume.id} status must be "
                         f"{', '.join(valid)}, but current status is: {volume.status}.")
    return valid


def _hold_volume(session: Session, volume: Volume, valid: tuple[str, ...]) -> None:
    """Lock the volume row while it is still in ``valid`` (a racing delete waits or wins)."""
    held = session.execute(
        sql_update(Volume).where(Volume.id == volume.id, Volume.status.in_(valid))
        .values(status=Volume.status, updated_at=Volume.updated_at)
        .execution_options(synchronize_session=False)).rowcount
    if not held:
        session.rollback()
        raise BadRequest(f"Invalid volume: Volume {volume.id} changed status while the "
                         "snapshot was requested; retry.")


def add(session: Session, context: RequestContext, conf: Config, volume: Volume,
        request: CreateRequest, group_snapshot_id: str | None = None) -> Snapshot:
    """Write one ``creating`` snapshot of ``volume`` with its quota, in the caller's
    transaction (the caller commits, then casts with :func:`cast_create`)."""
    valid = _check_volume(volume, request.force)
    _hold_volume(session, volume, valid)
    reservations = volumes.reserve(session, conf, context.project_id,
                                   deltas(volume.volume_type.name, 1, volume.size),
                                   volume.size)
    row = Snapshot(project_id=context.project_id, user_id=context.user_id,
                   volume_id=volume.id, status="creating", progress="0%",
                   volume_size=volume.size, display_name=request.name,
                   display_description=request.description,
                   volume_type_id=volume.volume_type_id, task_owner=context.request_id,
                   group_snapshot_id=group_snapshot_id)
    row.snapshot_metadata = [SnapshotMetadata(key=k, value=v)
                             for k, v in request.metadata.items()]
    session.add(row)
    session.flush()
    quota.commit(session, reservations)
    return row


def cast_create(session: Session, agent: AgentClient, request_id: str,
                rows: Sequence[tuple[Snapshot, str]]) -> None:
    """Ask each ``(snapshot, volume host)``'s agent; a lost broker leaves them ``error``."""
    try:
        for row, host in rows:
            agent.create_snapshot(request_id, agent_dict(row, host))
    except MessagingError as exc:
        for row, _ in rows:
            states.SNAPSHOT.transition(session, row.id, ["creating"], "error",
                                       status_reason=f"could not reach the volume service: "
                                                     f"{exc}")
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the snapshot was set to "
                                 "error and may be deleted.") from exc


def create(session: Session, context: RequestContext, conf: Config, agent: AgentClient,
           request: CreateRequest) -> Snapshot:
    volume = volumes.find(session, context, request.volume_id)
    row = add(session, context, conf, volume, request)
    session.commit()
    cast_create(session, agent, context.request_id, [(row, str(volume.host))])
    return row


def update(session: Session, row: Snapshot, spec: dict[str, Any]) -> Snapshot:
    reject_unexpected(spec, _UPDATE_KEYS)
    updates = display_updates(spec)
    if not updates:
        raise invalid("snapshot", spec, f"{spec!r} is not valid under any of the given "
                                        "schemas")
    for column, value in updates.items():
        setattr(row, column, value)
    session.commit()
    return row


def cast_delete(session: Session, agent: AgentClient, request_id: str,
                rows: Sequence[Snapshot], host: str) -> None:
    """Ask the agent to remove ``rows`` (already ``deleting``); a lost broker leaves them
    ``error_deleting`` so the delete can be retried."""
    try:
        for row in rows:
            agent.delete_snapshot(request_id, agent_dict(row, host))
    except MessagingError as exc:
        for row in rows:
            states.SNAPSHOT.transition(session, row.id, ["deleting"], "error_deleting",
                                       status_reason=f"could not reach the volume service: "
                                                     f"{exc}")
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the snapshot was set "
                                 "to error_deleting and the delete may be retried.") from exc


def start_delete(session: Session, context: RequestContext, row: Snapshot,
                 expected: Sequence[str], *, with_group: bool = False,
                 force: bool = False) -> bool:
    """Mark ``deleting`` if still in ``expected``; caller commits. A member of a group
    snapshot goes only with its group snapshot (``with_group``)."""
    if row.group_snapshot_id and not with_group:
        return False
    return states.SNAPSHOT.transition(session, row.id, expected, "deleting", force=force,
                                      task_owner=context.request_id)


def _delete(session: Session, context: RequestContext, agent: AgentClient, row: Snapshot,
            expected: Sequence[str], *, force: bool = False) -> None:
    if not start_delete(session, context, row, expected, force=force):
        raise BadRequest("Invalid snapshot: Snapshot status must be available or error and "
                         "must not be part of a group.")
    session.commit()
    session.refresh(row)
    cast_delete(session, agent, context.request_id, [row], str(row.volume.host))


def delete(session: Session, context: RequestContext, agent: AgentClient,
           row: Snapshot) -> None:
    """Quota is released when the agent confirms (controller's ``snapshot_deleted``)."""
    _delete(session, context, agent, row, DELETABLE)


def force_delete(session: Session, context: RequestContext, agent: AgentClient,
                 row: Snapshot) -> None:
    """The admin's delete from any status, ``deleting`` too (it sends the delete again)."""
    _delete(session, context, agent, row, FORCE_DELETABLE, force=True)


def listed(session: Session, context: RequestContext, query: ListQuery
           ) -> tuple[list[Snapshot], int | None]:
    """A page of snapshots with their metadata in a fixed number of queries."""
    statement, count = SNAPSHOTS.page(session, context, select(Snapshot), query)
    return list(session.scalars(statement)), count



def delete_volume_cascade(session: Session, context: RequestContext, conf: Config,
                          agent: AgentClient, volume: Volume) -> None:
    """``DELETE /volumes/{id}?cascade=true``: the volume and all its snapshots.

    The volume and every snapshot go to ``deleting`` in one transaction (all or none);
    the agent removes the snapshots, and the controller casts the volume's delete when
    the last of them is gone (the agent refuses to remove a volume with snapshots).
    """
    rows = list(session.scalars(select(Snapshot).where(Snapshot.volume_id == volume.id)))
    if not rows:
        volumes.delete_volume(session, context, conf, agent, volume)
        return
    volumes.check_deletable(session, volume, with_snapshots=True)
    marked = states.VOLUME.transition(session, volume.id, volumes.DELETABLE, "deleting",
                                      task_owner=context.request_id)
    if not marked or not all(start_delete(session, context, row, DELETABLE) for row in rows):
        session.rollback()
        raise BadRequest(volumes.not_deletable())
    session.commit()
    try:
        cast_delete(session, agent, context.request_id, rows, str(volume.host))
    except ServiceUnavailable:
        states.VOLUME.transition(session, volume.id, ["deleting"], "error_deleting",
                                 status_reason="could not reach the volume service")
        session.commit()
        raise
