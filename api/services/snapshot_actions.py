"""``POST /snapshots/{id}/action``: the admin's reset and force delete, and the status
updates an assisted-snapshot client (Nova) reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest
from api.policies import enforce
from api.services import snapshots
from api.services.agent_client import AgentClient
from api.validation import invalid, optional_text
from db import states
from db.models import Snapshot

__all__ = ["perform", "HANDLERS", "RULES"]

# What os-update_snapshot_status may report, by the snapshot's current status.
_REPORTABLE = {"creating": ("creating", "available", "error"),
               "deleting": ("deleting", "error_deleting")}


def _object(name: str, args: Any, required: str | None = None) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise invalid(name, args, f"{args!r} is not of type 'object'")
    if required is not None and required not in args:
        raise invalid(name, args, f"'{required}' is a required property")
    return args


def _reset_status(session: Session, context: RequestContext, _: AgentClient, row: Snapshot,
                  args: Any) -> None:
    status = _object("os-reset_status", args, "status")["status"]
    if not isinstance(status, str) or status.lower() not in states.SNAPSHOT_STATUSES:
        raise BadRequest(f"Snapshot status: {status} is invalid, valid statuses are: "
                         f"{states.SNAPSHOT_STATUSES}.")
    states.SNAPSHOT.reset(session, row.id, status.lower(), status_reason=None)
    session.commit()


def _force_delete(session: Session, context: RequestContext, agent: AgentClient,
                  row: Snapshot, _: Any) -> None:
    snapshots.force_delete(session, context, agent, row)


def _update_snapshot_status(session: Session, context: RequestContext, _: AgentClient,
                            row: Snapshot, args: Any) -> None:
    args = _object("os-update_snapshot_status", args, "status")
    status, current = args["status"], row.status
    if current not in _REPORTABLE:
        raise BadRequest(f"Snapshot status {current} not allowed for update_snapshot_status")
    if status not in _REPORTABLE[current]:
        raise BadRequest(f"Provided snapshot status {status} not allowed for snapshot with "
                         f"status {current}.")
    values: dict[str, Any] = {}
    progress = optional_text(args.get("progress"), "progress")
    if progress:
        values["progress"] = progress
    if status == current:
        for key, value in values.items():
            setattr(row, key, value)
    elif not states.SNAPSHOT.transition(session, row.id, [current], status, **values):
        session.rollback()
        raise BadRequest(f"Provided snapshot status {status} not allowed for snapshot with "
                         f"status {current}.")
    session.commit()


Handler = Callable[[Session, RequestContext, AgentClient, Snapshot, Any], None]
HANDLERS: dict[str, Handler] = {
    "os-reset_status": _reset_status,
    "os-force_delete": _force_delete,
    "os-update_snapshot_status": _update_snapshot_status,
}
# Cinder's rule of each action, enforced on the snapshot's project before its handler.
RULES: dict[str, str] = {
    "os-reset_status": "volume_extension:snapshot_admin_actions:reset_status",
    "os-force_delete": "volume_extension:snapshot_admin_actions:force_delete",
    "os-update_snapshot_status": "snapshot_extension:snapshot_actions:update_snapshot_status",
}


def perform(session: Session, context: RequestContext, agent: AgentClient,
            snapshot_id: str, body: Any) -> None:
    """Run the one action ``body`` names; every snapshot action answers 202."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: give exactly one action.")
    (name, args), = body.items()
    if name not in HANDLERS:
        raise BadRequest(f"There is no such action: {name}. Verify the request body and "
                         "Content-Type header and try again.")
    row = snapshots.find(session, context, snapshot_id)
    enforce(context, RULES[name], {"project_id": row.project_id, "user_id": row.user_id})
    HANDLERS[name](session, context, agent, row, args)
