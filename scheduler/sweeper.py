"""No row stays in a transitional status for ever: the controller's sweeper.

Work in flight is a row in a transitional status stamped with ``task_started_at``.
Its owner is the volume service the volume is placed on (``host`` up to ``#``;
a snapshot's is its volume's), or the schedulers while a create is unplaced.
Every ``task_sweep_interval`` each scheduler sweeps; for work older than
``stuck_task_timeout``:

- an unplaced create is cast to the scheduler again (the API died between its
  commit and its cast);
- a create, delete or extend whose owner is up is cast to the owner again: every
  handler is idempotent (an extend to a size already reached succeeds), so a lost
  cast is redone and a slow one costs one look-up; an extend's new size and
  reservations come from the record the API left (``db.agent_messages``);
- work whose owner has been down (no heartbeat) for longer than the timeout fails
  into its error status with a ``status_reason`` naming the owner; a failed create
  keeps its host, so deleting the volume removes whatever the backend made;
- other work (reverting, an extend with no record, ...) cannot be sent again and
  fails into its error status, or for the API's own attach and detach steps
  returns to the status it came from;
- a migration (``migration_status = migrating``, whatever the status) has a longer
  allowance, for its copy, and is given up by ``scheduler.migration``.

Several schedulers may sweep at once: each change is an UPDATE guarded on the
status and the stamp it read, so exactly one of them acts on a row.

An agent that comes back after being down gets its unfinished creates, deletes and
extends cast again at its first heartbeat (:meth:`Sweeper.resume`), instead of waiting for
the timeout. The same sweep also expires quota reservations and settles a group made
from a source whose volumes all left ``creating`` some other way (``scheduler.groups``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config
from common.messaging import volume_topic
from db import quota
from db.agent_messages import pending_extend, volume_message
from db.models import Service, Snapshot, Volume, VolumeAttachment, utcnow
from db.session import session_scope
from db.states import ATTACHMENT, SNAPSHOT, VOLUME, StateMachine
from scheduler.groups import settle_stuck_groups
from scheduler.manager import SchedulerManager

__all__ = ["Sweeper", "Task", "SweepReport", "stuck_tasks", "returning", "VOLUME_BINARY"]

LOG = logging.getLogger(__name__)
VOLUME_BINARY = "cinderblock-volume"

# Where stuck work goes when it is given up. Attach and detach are the API's own
# synchronous steps: a crashed API leaves the volume as it was before them.
_VOLUME_FAILED = {
    "creating": "error", "deleting": "error_deleting", "extending": "error_extending",
    "managing": "error_managing", "restoring-backup": "error_restoring",
    "backing-up": "error_backing-up", "downloading": "error", "uploading": "error",
    "retyping": "error", "reverting": "error",
}
_SNAPSHOT_FAILED = {
    "creating": "error", "deleting": "error_deleting", "backing-up": "available",
    "restoring": "available", "unmanaging": "available",
}
_ATTACH_STEPS = ("attaching", "detaching")
_ATTACHMENT_UNDONE = {"attaching": "error_attaching", "detaching": "attached"}
_RESENDABLE = ("creating", "deleting", "extending")


@dataclass(frozen=True)
class Task:
    """One row in a transitional status, as ``cinderblock-manage task list`` shows it."""

    kind: str
    id: str
    status: str
    owner: str | None
    owner_up: bool
    started_at: datetime | None
    age: float


@dataclass
class SweepReport:
    resent: list[str]
    failed: list[str]
    reservations_expired: int
    groups_settled: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"resent {len(self.resent)}, failed {len(self.failed)}, "
                f"reservations expired {self.reservations_expired}, "
                f"groups settled {len(self.groups_settled)}")


def _owner(host: str | None) -> str | None:
    return host.split("#", 1)[0] if host else None


def _services_seen(session: Session) -> dict[str, datetime | None]:
    return dict(session.execute(select(Service.host, Service.last_seen_at)
                                .where(Service.binary == VOLUME_BINARY)).all())


def _started(model: type[Volume] | type[Snapshot]) -> Any:
    """When the work began: a row written straight into ``creating`` (the API's create)
    has no stamp, and its last change is when it started."""
    return func.coalesce(model.task_started_at, model.updated_at, model.created_at)


def stuck_tasks(session: Session, now: datetime, down_after: float,
                older_than: float = 0.0) -> list[Task]:
    """Rows in a transitional status whose work started more than ``older_than`` s ago.

    ``owner_up`` is whether the owner sent a heartbeat within ``down_after`` s
    (the schedulers count as up for unplaced work: this runs inside one)."""
    seen = _services_seen(session)
    cutoff = now - timedelta(seconds=older_than)

    def up(owner: str | None) -> bool:
        if owner is None:
            return True
        last = seen.get(owner)
        return last is not None and (now - last).total_seconds() <= down_after

    def task(kind: str, row_id: str, status: str, host: str | None,
             started: datetime | None) -> Task:
        owner = _owner(host)
        age = (now - started).total_seconds() if started else 0.0
        return Task(kind, row_id, status, owner, up(owner), started, age)

    volume_started = _started(Volume)
    volumes = session.execute(
        select(Volume.id, Volume.status, Volume.host, volume_started)
        .where(Volume.status.in_((*_VOLUME_FAILED, *_ATTACH_STEPS)),
               or_(Volume.migration_status.is_(None), Volume.migration_status != "migrating"),
               volume_started <= cutoff)
        .order_by(volume_started))
    snapshot_started = _started(Snapshot)
    snapshots = session.execute(
        select(Snapshot.id, Snapshot.status, Volume.host, snapshot_started)
        .join(Volume, Volume.id == Snapshot.volume_id)
        .where(Snapshot.status.in_(list(_SNAPSHOT_FAILED)), snapshot_started <= cutoff)
        .order_by(snapshot_started))
    return ([task("volume", *row) for row in volumes]
            + [task("snapshot", *row) for row in snapshots])


class Sweeper:
    def __init__(self, sessions: sessionmaker[Session], scheduler: SchedulerManager,
                 conf: Config) -> None:
        self.sessions = sessions
        self.scheduler = scheduler
        self.timeout = conf.default.stuck_task_timeout
        self._blind_until: datetime | None = None

    def sweep(self, older_than: float | None = None) -> SweepReport:
        """One pass over work older than ``older_than`` s (default: the timeout); an
        owner counts as down after ``stuck_task_timeout`` either way."""
        try:
            return self._sweep(self.timeout if older_than is None else older_than)
        except Exception:
            # The database is out of reach, so heartbeats are not being recorded either:
            # until a timeout after it is back, an owner's silence proves nothing.
            self._blind_until = utcnow() + timedelta(seconds=self.timeout)
            raise

    def _sweep(self, older_than: float) -> SweepReport:
        now = utcnow()
        with self.sessions() as session:
            tasks = stuck_tasks(session, now, self.timeout, older_than=older_than)
        if self._blind_until is not None and now < self._blind_until:
            tasks = [replace(task, owner_up=True) for task in tasks]
        report = SweepReport([], [], 0)
        report.failed.extend(self.scheduler.migrations.sweep(now, self.timeout))
        for task in tasks:
            if task.kind == "volume":
                self._sweep_volume(task, now, report)
            else:
                self._fail(SNAPSHOT, task, _SNAPSHOT_FAILED[task.status], report)
        with session_scope(self.sessions) as session:
            report.reservations_expired = quota.expire(session, now)
            report.groups_settled = settle_stuck_groups(session)
        if report.resent or report.failed or report.reservations_expired \
                or report.groups_settled:
            LOG.info("sweep: %s", report)
        return report

    def _sweep_volume(self, task: Task, now: datetime, report: SweepReport) -> None:
        if task.status in _ATTACH_STEPS:
            self._undo_attach_step(task, report)
        elif task.status in _RESENDABLE and task.owner_up:
            if not self._restamp(task, now):
                return
            if self._resend(task.id):
                report.resent.append(task.id)
            else:
                self._fail(VOLUME, task, _VOLUME_FAILED[task.status], report)
        else:
            self._fail(VOLUME, task, _VOLUME_FAILED[task.status], report)

    def _fail(self, machine: StateMachine, task: Task, new: str, report: SweepReport) -> None:
        if task.owner_up:
            reason = f"{task.status} did not finish within {self.timeout} s"
        else:
            reason = (f"{task.status} did not finish: its volume service {task.owner} "
                      f"has been down for more than {self.timeout} s")
        with session_scope(self.sessions) as session:
            if machine.transition(session, task.id, [task.status], new, status_reason=reason):
                LOG.warning("%s %s: %s; now %s", task.kind, task.id, reason, new)
                report.failed.append(task.id)

    def _restamp(self, task: Task, now: datetime) -> bool:
        """Claim the resend: of several sweepers, only the one whose UPDATE matched."""
        with session_scope(self.sessions) as session:
            return bool(session.execute(
                update(Volume)
                .where(Volume.id == task.id, Volume.status == task.status,
                       or_(Volume.task_started_at == task.started_at,
                           Volume.task_started_at.is_(None)))
                .values(task_started_at=now)
                .execution_options(synchronize_session=False)).rowcount)

    def _undo_attach_step(self, task: Task, report: SweepReport) -> None:
        """An API that died mid-attach or mid-detach: back to what the attachments say."""
        with session_scope(self.sessions) as session:
            for row_id, status in session.execute(
                    select(VolumeAttachment.id, VolumeAttachment.attach_status)
                    .where(VolumeAttachment.volume_id == task.id,
                           VolumeAttachment.attach_status.in_(_ATTACH_STEPS))).all():
                ATTACHMENT.transition(session, row_id, [status], _ATTACHMENT_UNDONE[status])
            attached = session.scalar(
                select(VolumeAttachment.id)
                .where(VolumeAttachment.volume_id == task.id,
                       VolumeAttachment.attach_status == "attached")
                .limit(1))
            target = "in-use" if attached else "available"
            reason = f"{task.status} did not finish within {self.timeout} s"
            if VOLUME.transition(session, task.id, [task.status], target,
                                 status_reason=reason):
                LOG.warning("volume %s: %s; back to %s", task.id, reason, target)
                report.failed.append(task.id)

    def _resend(self, volume_id: str) -> bool:
        """Cast the volume's work again; False when it cannot be (an extend with no
        record of its new size)."""
        with self.sessions() as session:
            volume = session.get(Volume, volume_id)
            if volume is None:
                return True
            message = volume_message(volume)
            status = volume.status
            extend = pending_extend(volume)
        if status == "creating" and not message["host"]:
            LOG.warning("volume %s: unplaced create sent to the scheduler again", volume_id)
            self.scheduler.transport.cast("scheduler", "create_volume",
                                          {"volume_id": volume_id, "request_spec": {}})
        elif status == "creating":
            LOG.warning("volume %s: create sent to %s again", volume_id, message["host"])
            self.scheduler.cast_create(message, {})
        elif status == "deleting":
            LOG.warning("volume %s: delete sent to %s again", volume_id, message["host"])
            self.scheduler.transport.cast(volume_topic(message["host"]), "delete_volume",
                                          {"volume": message})
        elif status == "extending":
            if extend is None:
                return False
            LOG.warning("volume %s: extend to %d GiB sent to %s again", volume_id,
                        extend.new_size, message["host"])
            self.scheduler.transport.cast(volume_topic(message["host"]), "extend_volume",
                                          {"volume": message, "new_size": extend.new_size,
                                           "reservations": extend.reservations})
        return True

    def resume(self, owner: str) -> list[str]:
        """Send again the creates, deletes and extends placed on ``owner`` (``node@backend``):
        it has just come back, and what it held when it went down must not wait for
        the timeout."""
        with self.sessions() as session:
            ids = list(session.scalars(
                select(Volume.id)
                .where(Volume.host.startswith(f"{owner}#", autoescape=True),
                       Volume.status.in_(_RESENDABLE))))
        resent = [volume_id for volume_id in ids if self._resend(volume_id)]
        if resent:
            LOG.info("%s is back: %d unfinished create(s), delete(s) or extend(s) sent "
                     "again", owner, len(resent))
        return resent


def returning(session: Session, host: str, binary: str, down_after: float) -> bool:
    """Whether this heartbeat is the first from ``host`` after it was down: its last
    one is older than ``down_after`` s. A service never seen before has nothing to
    resume."""
    last = session.scalar(select(Service.last_seen_at)
                          .where(Service.host == host, Service.binary == binary))
    return last is not None and (utcnow() - last).total_seconds() > down_after
