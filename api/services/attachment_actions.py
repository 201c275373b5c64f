"""The legacy attach and detach volume actions, on top of ``api.services.attachments``.

Nova's old sequence is os-reserve, os-initialize_connection, os-attach and, to
detach, os-begin_detaching, os-terminate_connection, os-detach. Each maps onto the
same attachment rows and guarded moves the attachments API uses; statuses follow
Cinder's legacy flow (os-reserve makes the volume ``attaching``).
"""

from __future__ import annotations

from typing import Any

from api.errors import BadRequest, NotFound
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import attachments
from api.services.attachments import Attacher
from api.services.volume_actions import ActionContext, action
from api.validation import optional_uuid
from api.views.attachments import legacy_info
from db import states
from db.models import Volume, VolumeAttachment

__all__: list[str] = []


def _attacher(ctx: ActionContext) -> Attacher:
    return Attacher(ctx.session, ctx.context, ctx.rpc)


def _args(name: str, args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         f"{args!r} is not of type 'object'")
    return args


def _connector(name: str, args: Any) -> dict[str, Any]:
    args = _args(name, args)
    if "connector" not in args:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {args}. "
                         "'connector' is a required property")
    return attachments.check_connector(args["connector"])


@action("os-reserve")
def reserve(ctx: ActionContext, volume: Volume, args: Any) -> int:
    attachments.reserve(ctx.session, volume, None, status="attaching")
    return 202


@action("os-unreserve")
def unreserve(ctx: ActionContext, volume: Volume, args: Any) -> int:
    """Drop the reservation os-reserve made; nothing to do when there is none."""
    row = attachments.pending(volume)
    if volume.status == "attaching" and row is not None:
        attachments.delete(_attacher(ctx), row)
    return 202


@action("os-initialize_connection")
def initialize_connection(ctx: ActionContext, volume: Volume, args: Any) -> JSONResponse:
    """Export to the connector: on the reservation os-reserve made, again for an initiator
    already attached, or (as Cinder allows) on a volume nobody reserved.

    A reservation goes first, even for an initiator already attached (a second
    instance of the same host on a multiattach volume): its row then records the
    connector too, so the initiator's access outlives the other attachment's end."""
    connector = _connector("os-initialize_connection", args)
    att = _attacher(ctx)
    known = [row for row in attachments.by_initiator(volume, connector["initiator"])
             if row.attach_status in ("attaching", "attached")]
    row = attachments.pending(volume)
    if row is None and known:
        info = attachments.reexport(att, known[0], connector)
    else:
        if row is None:
            row = VolumeAttachment(volume=volume, attach_status="reserved")
            ctx.session.add(row)
            ctx.session.commit()
        # The legacy flow has no call that would delete a failed attachment, so a
        # failure drops it and the volume goes back to where os-reserve found it.
        info = attachments.connect(att, row, connector, undo_reservation=True)
    return JSONResponse({"connection_info": legacy_info(info)})


@action("os-attach")
def attach(ctx: ActionContext, volume: Volume, args: Any) -> int:
    """Record the attach to an instance or host as done: attachment ``attached``,
    volume ``in-use``; reserves first when the caller skipped os-reserve."""
    args = _args("os-attach", args)
    instance_uuid = optional_uuid(args.get("instance_uuid"), "instance_uuid")
    host_name = args.get("host_name")
    if instance_uuid is None and not host_name:
        raise BadRequest("Invalid request to attach volume to an invalid target")
    if instance_uuid is not None and host_name:
        raise BadRequest("Invalid request to attach volume to an instance and a host")
    if "mountpoint" not in args:
        raise BadRequest(f"Invalid input for field/attribute os-attach. Value: {args}. "
                         "'mountpoint' is a required property")
    mode = args.get("mode", "rw")
    if mode not in ("rw", "ro") or (attachments.readonly(volume) and mode != "ro"):
        raise BadRequest(f"Invalid attaching mode '{mode}' for volume {volume.id}.")
    row = next((a for a in volume.attachments if a.attach_status in ("reserved", "attaching")),
               None) or attachments.reserve(ctx.session, volume, instance_uuid,
                                            status="attaching")
    attachments.complete(ctx.session, row, instance_uuid=instance_uuid,
                         attached_host=host_name or row.attached_host,
                         mountpoint=args.get("mountpoint"), attach_mode=mode)
    return 202


@action("os-begin_detaching")
def begin_detaching(ctx: ActionContext, volume: Volume, args: Any) -> int:
    if volume.attach_status != "attached" or not states.transition(
            ctx.session, volume.id, ["in-use"], "detaching"):
        ctx.session.rollback()
        raise BadRequest("Invalid volume: Unable to detach volume. Volume status must be "
                         "'in-use' and attach_status must be 'attached' to detach.")
    ctx.session.commit()
    return 202


@action("os-roll_detaching")
def roll_detaching(ctx: ActionContext, volume: Volume, args: Any) -> int:
    states.transition(ctx.session, volume.id, ["detaching"], "in-use")
    ctx.session.commit()
    return 202


@action("os-terminate_connection")
def terminate_connection(ctx: ActionContext, volume: Volume, args: Any) -> int:
    """Remove the initiator's access. The attachment stays until os-detach, which then
    has nothing left to unexport."""
    connector = _connector("os-terminate_connection", args)
    rows = attachments.by_initiator(volume, connector["initiator"])
    attachments.disconnect(_attacher(ctx), volume, rows, connector)
    return 202


def _attachment(volume: Volume, attachment_id: Any) -> VolumeAttachment:
    """The named attachment of ``volume``, or its only one when none is named."""
    if attachment_id is None:
        if len(volume.attachments) != 1:
            raise BadRequest(f"Invalid volume: Volume {volume.id} has "
                             f"{len(volume.attachments)} attachments; give attachment_id.")
        return volume.attachments[0]
    wanted = optional_uuid(attachment_id, "attachment_id")
    for row in volume.attachments:
        if row.id == wanted:
            return row
    raise NotFound(f"Volume attachment could not be found with filter: "
                   f"attachment_id = {wanted}.")


@action("os-detach")
def detach(ctx: ActionContext, volume: Volume, args: Any) -> int:
    row = _attachment(volume, _args("os-detach", args).get("attachment_id"))
    attachments.delete(_attacher(ctx), row)
    return 202


@action("os-force_detach")
def force_detach(ctx: ActionContext, volume: Volume, args: Any) -> int:
    """The admin's detach whatever the status: unexport (the given connector, the
    attachment's, or every initiator) and drop the attachment."""
    require_admin(ctx.context, "volume_extension:volume_admin_actions:force_detach")
    args = _args("os-force_detach", args)
    row = _attachment(volume, args.get("attachment_id"))
    connector = args.get("connector")
    if connector is not None:
        connector = attachments.check_connector(connector)
    attachments.force_delete(_attacher(ctx), row, connector)
    return 202
