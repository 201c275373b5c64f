"""The controller queue's consumer: agent results, heartbeats and capability reports.

It runs inside ``cinderblock-scheduler`` because it needs the database, which
agents never see. Every handler is idempotent: a result for a volume that has
already left the transitional status, or moved to another backend, is a
duplicate or a leftover and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config
from common.messaging import volume_topic
from db import quota
from db.agent_messages import volume_message
from db.messages import Action, Detail, record
from db.models import (
    GroupSnapshot,
    Service,
    Snapshot,
    Volume,
    VolumeAdminMetadata,
    VolumeAttachment,
    VolumeType,
    utcnow,
)
from db.session import session_scope
from db.states import SNAPSHOT, VOLUME
from scheduler.host_manager import adjust, save_capabilities
from scheduler.manager import ROW_WITH_TYPE, SchedulerManager, finish_create
from scheduler.sweeper import VOLUME_BINARY, Sweeper, returning

__all__ = ["ControllerEndpoint", "record_heartbeat"]

LOG = logging.getLogger(__name__)
_EXPORTED_ATTACH_STATUSES = ("reserved", "attaching", "attached", "detaching")


def record_heartbeat(session: Session, host: str, binary: str, zone: str | None) -> None:
    """Stamp the service with the controller's clock, creating its row on first sight."""
    values = {"last_seen_at": utcnow(), "report_count": Service.report_count + 1,
              "availability_zone": zone}
    statement = (update(Service).where(Service.host == host, Service.binary == binary)
                 .values(**values).execution_options(synchronize_session=False))
    if session.execute(statement).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(Service(host=host, binary=binary, topic=binary,
                                availability_zone=zone, last_seen_at=utcnow(),
                                report_count=1))
    except IntegrityError:
        session.execute(statement)


def _set_admin_metadata(session: Session, volume_id: str, key: str, value: str) -> None:
    """Upsert one admin metadata key; of two concurrent first writes the loser updates."""
    statement = (update(VolumeAdminMetadata)
                 .where(VolumeAdminMetadata.volume_id == volume_id,
                        VolumeAdminMetadata.key == key)
                 .values(value=value).execution_options(synchronize_session=False))
    if session.execute(statement).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
    except IntegrityError:
        session.execute(statement)


def _tell_user(session: Session, snapshot_id: str, action: Action, detail: Detail) -> None:
    """A user message for a snapshot the backend failed on (``/messages``)."""
    project_id = session.scalar(select(Snapshot.project_id).where(Snapshot.id == snapshot_id))
    if project_id is not None:
        record(session, project_id=project_id, action=action, detail=detail,
               resource_type="VOLUME_SNAPSHOT", resource_uuid=snapshot_id)


def _lock_group_snapshot(session: Session, group_snapshot_id: str | None
                         ) -> GroupSnapshot | None:
    """Take the group snapshot's row lock before touching a member, so results for two
    members are handled one after the other (and always in this order: no deadlock)."""
    if not group_snapshot_id:
        return None
    return session.get(GroupSnapshot, group_snapshot_id, with_for_update=True,
                       populate_existing=True)


def _settle_group_snapshot(session: Session, row: GroupSnapshot | None) -> None:
    """A group snapshot follows its members: available when all are, error when one
    failed, gone when the last one of a deleting group snapshot is gone. The members'
    statuses are read with a locking read: MariaDB's plain reads would show the
    transaction's older snapshot, not the member another result just committed."""
    if row is None:
        return
    statuses = set(session.scalars(select(Snapshot.status).with_for_update()
                                   .where(Snapshot.group_snapshot_id == row.id)))
    if row.status == "creating" and "error" in statuses:
        row.status = "error"
    elif row.status == "creating" and statuses <= {"available"}:
        row.status = "available"
    elif row.status == "deleting" and "error_deleting" in statuses:
        row.status = "error_deleting"
    elif row.status == "deleting" and not statuses:
        session.delete(row)


class ControllerEndpoint:
    def __init__(self, sessions: sessionmaker[Session], scheduler: SchedulerManager,
                 conf: Config) -> None:
        self.sessions = sessions
        self.scheduler = scheduler
        self.conf = conf
        self.sweeper = Sweeper(sessions, scheduler, conf)

    def service_heartbeat(self, host: str, binary: str, zone: str | None = None,
                          sent_at: float | None = None) -> None:
        with session_scope(self.sessions) as session:
            came_back = binary == VOLUME_BINARY and returning(
                session, host, binary, self.conf.default.service_down_time)
            record_heartbeat(session, host, binary, zone)
        if came_back:
            self.sweeper.resume(host)

    def capabilities(self, host: str, backend: str, pools: list[dict[str, Any]]) -> None:
        with session_scope(self.sessions) as session:
            save_capabilities(session, f"{host}@{backend}", pools)

    def volume_created(self, volume_id: str, status: str,
                       provider_location: str | None = None,
                       provider_auth: str | None = None, host: str | None = None,
                       error: str | None = None,
                       request_spec: dict[str, Any] | None = None) -> None:
        request_spec = request_spec or {}
        if status == "available":
            done = finish_create(self.sessions, volume_id, request_spec, "available",
                                 guard=lambda volume: volume.host == host,
                                 provider_location=provider_location,
                                 provider_auth=provider_auth, launched_at=utcnow(),
                                 status_reason=None)
            if not done:
                LOG.info("volume %s: stale or duplicate create result ignored", volume_id)
            return
        self._create_failed(volume_id, host, error or "the backend failed to create it",
                            request_spec)

    def _create_failed(self, volume_id: str, host: str | None, error: str,
                       request_spec: dict[str, Any]) -> None:
        attempts = (request_spec.get("retry") or {}).get("num_attempts", 1)
        with session_scope(self.sessions) as session:
            volume = session.get(Volume, volume_id, populate_existing=True)
            if volume is None or volume.status != "creating":
                return
            if volume.host and volume.host != host:
                # A newer placement exists; its cast may have been lost with a crash.
                resend = volume_message(volume)
            else:
                resend = None
                if volume.host:
                    adjust(session, volume.host, -volume.size)
                    session.execute(update(Volume).where(Volume.id == volume_id)
                                    .values(host=None, task_owner=None, status_reason=error)
                                    .execution_options(synchronize_session=False))
        if resend is not None:
            self.scheduler.cast_create(resend, request_spec)
            return
        if attempts >= self.conf.default.scheduler_max_attempts:
            reason = (f"Create failed on {attempts} backend(s); last error: {error}")
            finish_create(self.sessions, volume_id, request_spec, "error",
                          status_reason=reason, message=(Action.CREATE_VOLUME_FROM_BACKEND,
                                                         Detail.DRIVER_FAILED_CREATE))
            return
        LOG.warning("volume %s failed on %s (%s); rescheduling", volume_id, host, error)
        self.scheduler.create_volume(volume_id, request_spec)

    def volume_deleted(self, volume_id: str, status: str, error: str | None = None) -> None:
        with session_scope(self.sessions) as session:
            volume = session.get(Volume, volume_id, populate_existing=True,
                                 options=ROW_WITH_TYPE)
            if volume is None or volume.status != "deleting":
                return
            if status != "deleted":
                VOLUME.transition(session, volume_id, ["deleting"], "error_deleting",
                                  status_reason=error)
                return
            if not VOLUME.delete(session, volume_id, ["deleting"]):
                return
            adjust(session, volume.host, -volume.size)
            if volume.consumes_quota:
                type_name = volume.volume_type.name
                quota.consume(
                    session, volume.project_id,
                    {"volumes": -1, "gigabytes": -volume.size, f"volumes_{type_name}": -1,
                     f"gigabytes_{type_name}": -volume.size}, conf=self.conf.default)

    def volume_extended(self, volume_id: str, status: str, new_size: int,
                        error: str | None = None,
                        reservations: list[str] | None = None) -> None:
        with session_scope(self.sessions) as session:
            volume = session.get(Volume, volume_id, populate_existing=True)
            if volume is None or volume.status != "extending":
                return
            if status != "available":
                if VOLUME.transition(session, volume_id, ["extending"], "error_extending",
                                     status_reason=error):
                    quota.rollback(session, reservations or [])
                return
            old_size, pool = volume.size, volume.host
            settled = "in-use" if volume.attach_status == "attached" else "available"
            if VOLUME.transition(session, volume_id, ["extending"], settled, size=new_size,
                                 status_reason=None):
                adjust(session, pool, new_size - old_size)
                quota.commit(session, reservations or [])

    def migration_destination(self, volume_id: str) -> str | None:
        """Call from a source agent (scheduler.migration)."""
        return self.scheduler.migrations.migration_destination(volume_id)

    def volume_migrated(self, volume_id: str, status: str, host: str | None = None,
                        provider_location: str | None = None,
                        provider_auth: str | None = None, error: str | None = None) -> None:
        """The end of a migration (scheduler.migration)."""
        self.scheduler.migrations.volume_migrated(volume_id, status, host, provider_location,
                                                  provider_auth, error)

    def volume_reverted(self, volume_id: str, snapshot_id: str, status: str,
                        error: str | None = None) -> None:
        """The volume leaves ``reverting`` (``available``, or ``error`` as Cinder leaves
        it after a failed revert) and the snapshot returns from ``restoring``."""
        with session_scope(self.sessions) as session:
            settled = "available" if status == "available" else "error"
            if not VOLUME.transition(session, volume_id, ["reverting"], settled,
                                     status_reason=error):
                LOG.info("volume %s: stale or duplicate revert result ignored", volume_id)
                return
            SNAPSHOT.transition(session, snapshot_id, ["restoring"], "available")

    def volume_progress(self, volume_id: str, percent: int, operation: str) -> None:
        """How far a copy, wipe or revert got, as admin metadata ``progress`` (``"42%"``)
        and ``progress_operation``; a report for a volume already gone is dropped."""
        with session_scope(self.sessions) as session:
            if session.get(Volume, volume_id) is None:
                return
            _set_admin_metadata(session, volume_id, "progress", f"{int(percent)}%")
            _set_admin_metadata(session, volume_id, "progress_operation", str(operation))

    def snapshot_created(self, snapshot_id: str, status: str,
                         provider_location: str | None = None,
                         error: str | None = None) -> None:
        """``available`` (progress 100%) or ``error``; quota stays counted either way,
        since the row exists until it is deleted."""
        with session_scope(self.sessions) as session:
            group_snapshot = _lock_group_snapshot(session, session.scalar(
                select(Snapshot.group_snapshot_id).where(Snapshot.id == snapshot_id)))
            if status == "available":
                SNAPSHOT.transition(session, snapshot_id, ["creating"], "available",
                                    progress="100%", provider_location=provider_location,
                                    status_reason=None)
            elif SNAPSHOT.transition(session, snapshot_id, ["creating"], "error",
                                     status_reason=error or "the backend failed to create it"):
                _tell_user(session, snapshot_id, Action.SNAPSHOT_CREATE,
                           Detail.SNAPSHOT_CREATE_ERROR)
            _settle_group_snapshot(session, group_snapshot)

    def snapshot_deleted(self, snapshot_id: str, status: str,
                         error: str | None = None) -> None:
        """Remove the row and release its quota; when it was the last snapshot of a volume
        being deleted (``?cascade=true``), cast the volume's own delete."""
        volume_delete = None
        with session_scope(self.sessions) as session:
            snapshot = session.get(Snapshot, snapshot_id, populate_existing=True)
            if snapshot is None or snapshot.status != "deleting":
                return
            group_snapshot = _lock_group_snapshot(session, snapshot.group_snapshot_id)
            # Locked too: of two snapshots of a cascading volume deleted at once, the
            # second must see the first gone (a locking read) to cast the volume's delete.
            volume = session.get(Volume, snapshot.volume_id, with_for_update=True,
                                 populate_existing=True)
            if status != "deleted":
                if SNAPSHOT.transition(session, snapshot_id, ["deleting"], "error_deleting",
                                       status_reason=error):
                    _tell_user(session, snapshot_id, Action.SNAPSHOT_DELETE,
                               Detail.SNAPSHOT_DELETE_ERROR)
                if volume is not None:
                    VOLUME.transition(session, volume.id, ["deleting"], "error_deleting",
                                      status_reason=f"snapshot {snapshot_id}: {error}")
                _settle_group_snapshot(session, group_snapshot)
                return
            if not SNAPSHOT.delete(session, snapshot_id, ["deleting"]):
                return
            _settle_group_snapshot(session, group_snapshot)
            if snapshot.consumes_quota:
                type_name = session.scalar(select(VolumeType.name).where(
                    VolumeType.id == snapshot.volume_type_id))
                quota.consume(
                    session, snapshot.project_id,
                    {"snapshots": -1, "gigabytes": -snapshot.volume_size,
                     f"snapshots_{type_name}": -1,
                     f"gigabytes_{type_name}": -snapshot.volume_size},
                    conf=self.conf.default)
            last = session.scalar(select(Snapshot.id).with_for_update().where(
                Snapshot.volume_id == snapshot.volume_id).limit(1)) is None
            if volume is not None and volume.status == "deleting" and last and volume.host:
                volume_delete = volume_message(volume)
        if volume_delete is not None:
            self.scheduler.transport.cast(volume_topic(volume_delete["host"]),
                                          "delete_volume", {"volume": volume_delete})

    def volumes_for_host(self, host: str) -> list[str]:
        """Ids of every volume placed on backend ``host`` (``node@backend``), whatever
        its status: an agent removes at start-up only the LVs of volumes not among them."""
        with session_scope(self.sessions) as session:
            return list(session.scalars(select(Volume.id).where(
                Volume.host.startswith(f"{host}#", autoescape=True) | (Volume.host == host))))

    def exports_for_host(self, host: str) -> list[dict[str, Any]]:
        """What backend ``host`` (``node@backend``) must export: attached volumes and
        their initiators, for the agent's start-up reconciliation."""
        with session_scope(self.sessions) as session:
            rows = session.execute(
                select(Volume, VolumeAttachment)
                .join(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
                .where(Volume.host.startswith(f"{host}#", autoescape=True),
                       VolumeAttachment.attach_status.in_(_EXPORTED_ATTACH_STATUSES)))
            exports: dict[str, dict[str, Any]] = {}
            for volume, attachment in rows:
                entry = exports.setdefault(volume.id, {"volume": volume_message(volume),
                                                       "initiators": []})
                initiator = (attachment.connector or {}).get("initiator")
                if initiator and initiator not in entry["initiators"]:
                    entry["initiators"].append(initiator)
            return list(exports.values())
