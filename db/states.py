"""Volume, snapshot and attachment statuses, the moves between them, and the guard.

Every status change is one ``UPDATE ... WHERE id = :id AND status IN (:expected)``:
of two racing requests the database lets exactly one match, and the loser sees
``False`` and answers 400/409 instead of both proceeding. The tables below are
the only place that says which moves exist; asking for any other move is a bug
in the caller and raises :class:`IllegalTransition` before touching the database.

Entering a transitional status (``creating``, ``deleting``, ...) stamps
``task_started_at`` so a reaper can find work that never finished; leaving one
clears the stamp and ``task_owner``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from db.models import Snapshot, Volume, VolumeAttachment, utcnow

__all__ = [
    "IllegalTransition", "StateMachine", "VOLUME", "SNAPSHOT", "ATTACHMENT",
    "VOLUME_STATUSES", "SNAPSHOT_STATUSES", "ATTACHMENT_STATUSES", "VOLUME_ATTACH_STATUSES",
    "VOLUME_TRANSITIONS", "SNAPSHOT_TRANSITIONS", "ATTACHMENT_TRANSITIONS", "transition",
    "MIGRATION_STATUSES", "MIGRATION_IDLE",
]


class IllegalTransition(ValueError):
    """A move the state table does not allow, or a status that does not exist."""


def _moves(table: Mapping[str, str]) -> dict[str, frozenset[str]]:
    return {status: frozenset(targets.split()) for status, targets in table.items()}


# Keys in the order Cinder lists valid statuses in its os-reset_status error.
VOLUME_TRANSITIONS = _moves({
    "creating": "available error deleting downloading",
    "available": "deleting extending reserved attaching maintenance uploading backing-up "
                 "retyping awaiting-transfer reverting",
    "deleting": "error_deleting",
    "error": "deleting",
    "error_deleting": "deleting",
    "error_managing": "deleting",
    "managing": "available error_managing",
    "attaching": "in-use available",
    "in-use": "detaching extending available uploading backing-up retyping",
    "detaching": "available in-use",
    "maintenance": "available",
    "restoring-backup": "available error_restoring",
    "error_restoring": "deleting",
    "reserved": "attaching in-use available",
    "awaiting-transfer": "available",
    "backing-up": "available in-use error_backing-up",
    "error_backing-up": "available deleting",
    "error_extending": "deleting",
    "downloading": "available error",
    "uploading": "available in-use error",
    "retyping": "available in-use error",
    "extending": "available in-use error_extending",
    "reverting": "available error",
})

SNAPSHOT_TRANSITIONS = _moves({
    "creating": "available error deleting",
    "available": "deleting backing-up restoring",
    "deleting": "error_deleting",
    "error": "deleting",
    "error_deleting": "deleting",
    "backing-up": "available",
    "restoring": "available",
    "unmanaging": "deleting available",
})

# A volume_attachment row's own status; "detached" rows are deleted, not kept.
ATTACHMENT_TRANSITIONS = _moves({
    "reserved": "attaching attached detached error_attaching",
    "attaching": "attached detached error_attaching",
    "attached": "detaching detached",
    "detaching": "detached attached error_detaching",
    "detached": "",
    "error_attaching": "attaching detached",
    "error_detaching": "detaching detached",
})

# What os-reset_status accepts: Cinder's list, which has no "reverting" (3.40's own step).
VOLUME_STATUSES = tuple(status for status in VOLUME_TRANSITIONS if status != "reverting")
SNAPSHOT_STATUSES = tuple(SNAPSHOT_TRANSITIONS)
ATTACHMENT_STATUSES = tuple(ATTACHMENT_TRANSITIONS)
# ``volumes.attach_status``: the summary of a volume's attachments the API shows.
VOLUME_ATTACH_STATUSES = ("detached", "reserved", "attaching", "attached", "detaching",
                          "error_attaching", "error_detaching")

# ``volumes.migration_status``: a migration (scheduler.migration) is ``migrating`` until it
# ends in ``success`` or ``error``; ``deleting`` is Cinder's, for a source left behind.
MIGRATION_STATUSES = ("migrating", "success", "error", "deleting")
# The migration statuses of a volume no migration is working on (Cinder's
# AVAILABLE_MIGRATION_STATUS): it may be deleted, snapshotted, retyped or moved again.
MIGRATION_IDLE = (None, "deleting", "error", "success")

_TRANSITIONAL = frozenset({
    "creating", "deleting", "managing", "attaching", "detaching", "restoring-backup",
    "backing-up", "downloading", "uploading", "retyping", "extending", "restoring",
    "unmanaging", "reverting",
})


@dataclass(frozen=True)
class StateMachine:
    """Guarded status changes for one table.

    ``tracks_tasks`` says the table has ``task_owner``/``task_started_at``.
    ``forced`` are the statuses an admin's force action may set from any status:
    Cinder's ``os-force_delete`` goes to ``deleting`` whatever the current status
    (even ``deleting``, to send the delete again); nothing else may use them.
    """

    model: type[Volume] | type[Snapshot] | type[VolumeAttachment]
    status_column: str
    transitions: Mapping[str, frozenset[str]]
    tracks_tasks: bool
    forced: frozenset[str] = frozenset()

    def allowed(self, current: str, new: str, *, force: bool = False) -> bool:
        return new in self.transitions.get(current, frozenset()) or (
            force and new in self.forced)

    def check(self, expected: Collection[str], new: str, *, force: bool = False) -> None:
        """Raise :class:`IllegalTransition` unless every ``expected`` status may become ``new``."""
        if not expected:
            raise IllegalTransition("no expected status given")
        for current in sorted(expected):
            if current not in self.transitions:
                raise IllegalTransition(f"{current!r} is not a {self.model.__name__} status")
            if not self.allowed(current, new, force=force):
                raise IllegalTransition(
                    f"{self.model.__name__} cannot go from {current!r} to {new!r}")

    def transition(self, session: Session, row_id: str, expected: Collection[str], new: str,
                   *, force: bool = False, **values: Any) -> bool:
        """Set ``new`` (and ``values``) only if the row is still in ``expected``.

        ``force`` also allows the moves to :attr:`forced`. Returns whether this caller
        won. Runs in the caller's transaction, which must commit for the change to count.
        """
        self.check(expected, new, force=force)
        return self._update(session, row_id, expected, new, values)

    def reset(self, session: Session, row_id: str, new: str, **values: Any) -> bool:
        """The admin's ``os-reset_status``: any known status, whatever the current one."""
        if new not in self.transitions:
            raise IllegalTransition(f"{new!r} is not a {self.model.__name__} status")
        return self._update(session, row_id, None, new, values)

    def delete(self, session: Session, row_id: str, expected: Collection[str]) -> bool:
        """Remove the row only if it is still in ``expected`` (e.g. ``deleting``)."""
        status = getattr(self.model, self.status_column)
        result = session.execute(
            delete(self.model)
            .where(self.model.id == row_id, status.in_(list(expected)))
            .execution_options(synchronize_session=False))
        instance = session.identity_map.get(identity_key(self.model, row_id))
        if result.rowcount == 1 and instance is not None:
            session.expunge(instance)
        return result.rowcount == 1

    def _update(self, session: Session, row_id: str, expected: Collection[str] | None,
                new: str, values: dict[str, Any]) -> bool:
        values[self.status_column] = new
        if self.tracks_tasks:
            if new in _TRANSITIONAL:
                values.setdefault("task_started_at", utcnow())
            else:
                values.setdefault("task_started_at", None)
                values.setdefault("task_owner", None)
        statement = update(self.model).where(self.model.id == row_id)
        if expected is not None:
            statement = statement.where(
                getattr(self.model, self.status_column).in_(list(expected)))
        result = session.execute(
            statement.values(**values).execution_options(synchronize_session=False))
        # The row changed behind the ORM's back; reload it on next access.
        instance = session.identity_map.get(identity_key(self.model, row_id))
        if instance is not None:
            session.expire(instance)
        return result.rowcount == 1


VOLUME = StateMachine(Volume, "status", VOLUME_TRANSITIONS, tracks_tasks=True,
                      forced=frozenset({"deleting"}))
SNAPSHOT = StateMachine(Snapshot, "status", SNAPSHOT_TRANSITIONS, tracks_tasks=True,
                        forced=frozenset({"deleting"}))
ATTACHMENT = StateMachine(VolumeAttachment, "attach_status", ATTACHMENT_TRANSITIONS,
                          tracks_tasks=False)


def transition(session: Session, volume_id: str, expected: Collection[str], new: str,
               **values: Any) -> bool:
    """Guarded status change of a volume; see :meth:`StateMachine.transition`."""
    return VOLUME.transition(session, volume_id, expected, new, **values)
