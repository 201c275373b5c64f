"""``POST /volumes/{id}/action``: one handler per action name, registered in ``ACTIONS``.

Another module adds its actions (attach, connections) with ``@action("os-...")``;
the route only dispatches, so an unknown name gets Cinder's 400 in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import RequestContext
from api.errors import ApiError, BadRequest, Conflict, ServiceUnavailable
from api.policies import enforce
from api.services import snapshots, volumes
from api.services.agent_client import AgentClient
from api.services.volume_rpc import VolumeRpc
from api.validation import boolean, size
from common.config import Config
from common.messaging import MessagingError
from db import agent_messages, quota, states
from db.models import Snapshot, Volume, VolumeAdminMetadata

__all__ = ["ActionContext", "ACTIONS", "ACTION_RULES", "action", "perform"]

_ATTACH_RULE = "volume_extension:volume_actions:"
# Cinder's policy rule of each action, enforced for every action before its handler,
# so an operator's policy file decides each one (the route itself only needs a member).
ACTION_RULES: dict[str, str] = {
    "os-extend": "volume:extend",
    "os-set_bootable": "volume:update",
    "os-update_readonly_flag": "volume:update_readonly_flag",
    "os-retype": "volume:retype",
    "revert": "volume:revert_to_snapshot",
    "os-reset_status": "volume_extension:volume_admin_actions:reset_status",
    "os-force_delete": "volume_extension:volume_admin_actions:force_delete",
    "os-force_detach": "volume_extension:volume_admin_actions:force_detach",
    "os-migrate_volume": "volume_extension:volume_admin_actions:migrate_volume",
    **{f"os-{step}": f"{_ATTACH_RULE}{step}" for step in (
        "reserve", "unreserve", "initialize_connection", "attach", "begin_detaching",
        "roll_detaching", "terminate_connection", "detach")},
}


@dataclass(frozen=True)
class ActionContext:
    """What a handler may use; handlers return the response status (200/202), or the
    response itself when the action answers with a body (os-initialize_connection)."""

    session: Session
    context: RequestContext
    conf: Config
    agent: AgentClient
    rpc: VolumeRpc


Handler = Callable[[ActionContext, Volume, Any], int | Response]
ACTIONS: dict[str, Handler] = {}


def action(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler
    return register


def perform(ctx: ActionContext, volume_id: str, body: Any) -> int | Response:
    """Run the one action ``body`` names on the volume; returns the status to answer."""
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: give exactly one action.")
    (name, args), = body.items()
    handler = ACTIONS.get(name)
    if handler is None:
        raise _no_such_action(name)
    row = volumes.find(ctx.session, ctx.context, volume_id)
    enforce(ctx.context, ACTION_RULES[name], _target(row))
    return handler(ctx, row, args)


def _target(row: Volume) -> dict[str, Any]:
    """Policy checks of an action look at the volume's project, as Cinder's do."""
    return {"project_id": row.project_id, "user_id": row.user_id}


def _no_such_action(name: str) -> BadRequest:
    return BadRequest(f"There is no such action: {name}. Verify the request body and "
                      "Content-Type header and try again.")


def _args(name: str, args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         f"{args!r} is not of type 'object'")
    return args


def _required(name: str, args: dict[str, Any], key: str) -> Any:
    if key not in args:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         f"'{key}' is a required property")
    return args[key]


def _won(session: Session, won: bool, refusal: ApiError) -> None:
    """After a guarded status change: a lost race undoes the transaction and answers."""
    if not won:
        session.rollback()
        raise refusal


@action("os-extend")
def extend(ctx: ActionContext, row: Volume, args: Any) -> int:
    """Grow an available volume: hold the extra quota, mark it extending, ask the agent."""
    new_size = size(_required("os-extend", _args("os-extend", args), "new_size"), "new_size")
    # From 3.42 an attached volume grows too: LIO reports the larger LV on the next
    # READ CAPACITY, and the controller returns the volume to in-use when done.
    allowed = ["available"]
    if ctx.context.microversion.at_least("extend_in_use"):
        allowed.append("in-use")
        if row.status == "in-use":
            enforce(ctx.context, "volume:extend_attached_volume", _target(row))
    if row.status not in allowed:
        raise BadRequest(f"Invalid volume: Volume {row.id} status must be "
                         f"{' or '.join(allowed)} to extend, but current status is: "
                         f"{row.status}.")
    if new_size <= row.size:
        raise BadRequest("Invalid input received: New size for extend must be greater than "
                         f"current size. (current: {row.size}, extended: {new_size}).")
    if row.host is None:
        raise BadRequest(f"Invalid volume: Volume {row.id} is not placed on a backend.")
    session, growth = ctx.session, new_size - row.size
    wanted = volumes.deltas(row.volume_type, 0, growth) if row.consumes_quota else {}
    reservations = volumes.reserve(session, ctx.conf, row.project_id, wanted, new_size)
    previous = row.status
    _won(session, states.transition(session, row.id, [previous], "extending",
                                    task_owner=ctx.context.request_id),
         BadRequest(f"Invalid volume: Volume {row.id} changed status while being "
                    "extended; retry."))
    agent_messages.record_extend(row, new_size, reservations)
    session.commit()
    session.refresh(row)
    try:
        ctx.agent.extend_volume(ctx.context.request_id, agent_messages.volume_message(row),
                                new_size, reservations)
    except MessagingError as exc:
        states.transition(session, row.id, ["extending"], previous)
        quota.rollback(session, reservations)
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the volume was not "
                                 "extended.") from exc
    return 202


@action("os-set_bootable")
def set_bootable(ctx: ActionContext, row: Volume, args: Any) -> int:
    flag = _required("os-set_bootable", _args("os-set_bootable", args), "bootable")
    row.bootable = boolean(flag, "bootable")
    ctx.session.commit()
    return 200


@action("os-update_readonly_flag")
def update_readonly_flag(ctx: ActionContext, row: Volume, args: Any) -> int:
    """Stored as admin metadata ``readonly``, which attachments read for their mode."""
    flag = boolean(_required("os-update_readonly_flag",
                             _args("os-update_readonly_flag", args), "readonly"), "readonly")
    if row.status != "available":
        raise BadRequest(f"Invalid volume: Volume {row.id} status must be available to "
                         "update readonly flag.")
    value = "True" if flag else "False"
    existing = ctx.session.scalars(select(VolumeAdminMetadata).where(
        VolumeAdminMetadata.volume_id == row.id, VolumeAdminMetadata.key == "readonly")).first()
    if existing is None:
        row.volume_admin_metadata.append(VolumeAdminMetadata(key="readonly", value=value))
    else:
        existing.value = value
    ctx.session.commit()
    return 202


_ATTACH_STATUSES = ("attached", "detached")


@action("os-reset_status")
def reset_status(ctx: ActionContext, row: Volume, args: Any) -> int:
    """The admin's override of a stuck status; no transition rules apply."""
    args = _args("os-reset_status", args)
    if not {"status", "attach_status", "migration_status"} & args.keys():
        raise BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for "
                         "update.")
    values: dict[str, Any] = {}
    attach_status = args.get("attach_status")
    if attach_status is not None:
        if attach_status not in _ATTACH_STATUSES:
            raise BadRequest(f"Invalid attach status: {attach_status} is invalid, valid "
                             f"attach statuses are: {_ATTACH_STATUSES}.")
        values["attach_status"] = attach_status
    if "migration_status" in args:
        values["migration_status"] = args["migration_status"] or None
    status = args.get("status")
    if status is None:
        for key, value in values.items():
            setattr(row, key, value)
    elif status not in states.VOLUME_STATUSES:
        raise BadRequest(f"Volume status: {status} is invalid, valid statuses are: "
                         f"{states.VOLUME_STATUSES}.")
    else:
        states.VOLUME.reset(ctx.session, row.id, status, status_reason=None, **values)
    ctx.session.commit()
    return 202


@action("os-force_delete")
def force_delete(ctx: ActionContext, row: Volume, args: Any) -> int:
    volumes.force_delete(ctx.session, ctx.context, ctx.conf, ctx.agent, row)
    return 202


@action("revert")
def revert(ctx: ActionContext, row: Volume, args: Any) -> int:
    """3.40: give the volume its latest snapshot's content again; the snapshot stays.
    Only the latest one, of the volume's own size, as Cinder allows."""
    if not ctx.context.microversion.at_least("revert_to_snapshot"):
        raise _no_such_action("revert")
    snapshot_id = _args("revert", args).get("snapshot_id")
    session = ctx.session
    latest = session.scalars(select(Snapshot).where(Snapshot.volume_id == row.id)
                             .order_by(Snapshot.created_at.desc()).limit(1)).first()
    if latest is None:
        raise BadRequest(f"Volume {row.id} doesn't have any snapshots.")
    if snapshot_id != latest.id:
        raise BadRequest(f"Specified snapshot {snapshot_id} is None or not the latest one "
                         f"of volume {row.id}.")
    refused = f"Can't revert volume {row.id} to its latest snapshot {latest.id}."
    if row.size != latest.volume_size:
        raise BadRequest(f"{refused} The volume size must be equal to the snapshot size.")
    _won(session, states.transition(session, row.id, ["available"], "reverting",
                                    task_owner=ctx.context.request_id),
         Conflict(f"Invalid volume: {refused} Volume's status must be 'available'."))
    _won(session, states.SNAPSHOT.transition(session, latest.id, ["available"], "restoring"),
         Conflict(f"Invalid snapshot: {refused} Snapshot's status must be 'available'."))
    session.commit()
    session.refresh(row)
    try:
        ctx.agent.revert_to_snapshot(ctx.context.request_id, agent_messages.volume_message(row),
                                     snapshots.agent_dict(latest, row.host))
    except MessagingError as exc:
        states.transition(session, row.id, ["reverting"], "available")
        states.SNAPSHOT.transition(session, latest.id, ["restoring"], "available")
        session.commit()
        raise ServiceUnavailable("The message broker is unavailable; the volume was not "
                                 "reverted.") from exc
    return 202
