"""Attach and detach: the one implementation behind the attachments API and the legacy actions.

Every export the agent makes is recorded on a ``volume_attachment`` row with the
connector it was made for, so the controller can tell a restarted agent what must
stay exported. Status moves are guarded UPDATEs (``db.states``): of racing
requests for a single-attach volume exactly one reserves it. The agent is called
only after the transitional status is committed, and a failed or silent agent
puts the volume back where it was, so no volume stays ``attaching``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import ApiError, BadRequest, Conflict, NotFound, ServiceUnavailable
from api.services import volume_types
from api.services.listing import Listing, ListQuery
from api.services.volume_rpc import VolumeRpc
from common.messaging import MessagingError, MessagingTimeout, RemoteError
from db import agent_messages, states
from db.models import Volume, VolumeAttachment, utcnow

__all__ = [
    "ATTACHMENTS", "Attacher", "BackendFailure", "check_connector", "is_multiattach", "find",
    "list_rows", "reserve", "connect", "reexport", "complete", "delete", "force_delete",
    "disconnect", "settle", "pending", "by_initiator", "readonly",
]

LOG = logging.getLogger(__name__)

# iSCSI names per RFC 3720: the agent checks the full syntax, this catches what is
# plainly not one before anything is reserved.
_INITIATOR = re.compile(r"^(iqn|eui|naa)\.\S+$")
_MODES = ("rw", "ro")
# Volume statuses an attach or detach moves through; ``settle`` only touches these.
_ATTACH_FAMILY = ("reserved", "attaching", "in-use", "detaching")


class BackendFailure(ApiError):
    """The volume service answered with an error; the request was rolled back."""

    status = 500
    kind = "computeFault"


@dataclass(frozen=True)
class Attacher:
    """What every attach step needs: the transaction, the caller and the agent client."""

    session: Session
    context: RequestContext
    rpc: VolumeRpc


def check_connector(connector: Any) -> dict[str, Any]:
    """An iSCSI connector with an initiator name; a 400 saying what is missing otherwise."""
    if not isinstance(connector, dict) or not connector:
        raise BadRequest("Invalid input received: Connector doesn't have required "
                         "information: initiator")
    initiator = connector.get("initiator")
    if not isinstance(initiator, str) or not _INITIATOR.match(initiator):
        raise BadRequest("Invalid input received: Connector doesn't have required "
                         "information: initiator (an iSCSI name such as "
                         "iqn.1993-08.org.debian:01:cad181614cec)")
    if connector.get("mode") not in (None, *_MODES):
        raise BadRequest(f"Invalid input received: Connector mode {connector['mode']!r} "
                         "is not rw or ro")
    return dict(connector)


def is_multiattach(volume: Volume) -> bool:
    """Created multiattach, or of a type whose ``multiattach`` spec is ``<is> True``."""
    return volume.multiattach or volume_types.multiattach(volume.volume_type)


def _not_found(attachment_id: str) -> NotFound:
    return NotFound("Volume attachment could not be found with filter: "
                    f"attachment_id = {attachment_id}.")


def find(session: Session, context: RequestContext, attachment_id: str) -> VolumeAttachment:
    """The attachment if its volume is the caller's (or the caller is admin); 404 otherwise."""
    row = session.get(VolumeAttachment, attachment_id)
    if row is None or not context.can_access(row.volume.project_id):
        raise _not_found(attachment_id)
    return row


def _filter_condition(context: RequestContext, key: str, text: str, like: bool
                      ) -> ColumnElement[bool]:
    return _FILTER_COLUMNS[key] == text


_FILTER_COLUMNS = {"volume_id": VolumeAttachment.volume_id,
                   "instance_id": VolumeAttachment.instance_uuid,
                   "status": VolumeAttachment.attach_status,
                   "attach_status": VolumeAttachment.attach_status}
_SORT_KEYS = {name: getattr(VolumeAttachment, name) for name in (
    "id", "created_at", "updated_at", "volume_id", "instance_uuid", "attached_host",
    "mountpoint", "attach_time", "detach_time", "attach_status", "attach_mode")}
# Attachments belong to their volume's project.
ATTACHMENTS = Listing(model=VolumeAttachment, sort_keys=_SORT_KEYS,
                      user_filters=frozenset(_FILTER_COLUMNS), admin_filters=frozenset(),
                      condition=_filter_condition,
                      owned_by=lambda project: VolumeAttachment.volume.has(
                          Volume.project_id == project))


def list_rows(session: Session, context: RequestContext, query: ListQuery
              ) -> Sequence[VolumeAttachment]:
    """One page of the caller's attachments (of all projects for an admin who asks)."""
    statement, _ = ATTACHMENTS.page(session, context, select(VolumeAttachment), query)
    return session.scalars(statement).all()


def pending(volume: Volume) -> VolumeAttachment | None:
    """The reservation a legacy os-reserve left that has no export yet, if any."""
    return next((a for a in volume.attachments
                 if a.attach_status in ("reserved", "error_attaching") and not a.connector),
                None)


def by_initiator(volume: Volume, initiator: str) -> list[VolumeAttachment]:
    return [a for a in volume.attachments
            if a.connector and a.connector.get("initiator") == initiator]


def _invalid_volume(volume: Volume, statuses: Sequence[str], doing: str) -> BadRequest:
    return BadRequest(f"Invalid volume: Volume {volume.id} status must be "
                      f"{' or '.join(statuses)} to {doing}, but the current status is "
                      f"{volume.status}.")


def reserve(session: Session, volume: Volume, instance_uuid: str | None,
            status: str = "reserved", mode: str | None = None) -> VolumeAttachment:
    """Claim the volume for one more attachment and record it as ``reserved``.

    ``status`` is what the volume becomes: ``reserved`` for the attachments API,
    ``attaching`` for the legacy os-reserve, as in Cinder. A multiattach volume
    already in use stays ``in-use``. ``mode`` (3.54) fixes the access mode. Commits.
    """
    if "error" in volume.status:
        raise BadRequest(f"Invalid volume: Volume attachments can not be created if the "
                         f"volume is in an error state. The Volume {volume.id} currently "
                         f"has a status of: {volume.status}")
    multi = is_multiattach(volume)
    if multi and volume.status == "in-use":
        claimed = True
    else:
        claimed = states.transition(session, volume.id, ["available"], status)
    # Cinder lets an instance reserve a volume it has attached (a live migration);
    # not one it is still attaching, or racing retries would all get through.
    migrating = bool(instance_uuid) and volume.status == "in-use" and any(
        a.instance_uuid == instance_uuid and a.attach_status == "attached"
        for a in volume.attachments)
    if not claimed and not migrating:
        session.rollback()
        session.refresh(volume)
        allowed = ("available", "in-use") if multi else ("available",)
        raise _invalid_volume(volume, allowed, "reserve")
    row = VolumeAttachment(volume=volume, instance_uuid=instance_uuid,
                           attach_status="reserved", attach_mode=mode)
    session.add(row)
    session.flush()
    _summarize(session, volume.id)
    session.commit()
    return row


def readonly(volume: Volume) -> bool:
    """Set by os-update_readonly_flag; such a volume is only ever exported read-only."""
    return any(m.key == "readonly" and m.value == "True" for m in volume.volume_admin_metadata)


def _mode(volume: Volume, row: VolumeAttachment, connector: dict[str, Any]) -> str:
    """The access mode: a read-only volume is always ``ro``; else the attachment's mode
    (3.54 ``mode``), else the connector's, else ``rw``."""
    if readonly(volume):
        return "ro"
    return row.attach_mode or connector.get("mode") or "rw"


def connect(att: Attacher, row: VolumeAttachment, connector: dict[str, Any], *,
            undo_reservation: bool = False) -> dict[str, Any]:
    """Export the volume to ``connector`` for attachment ``row``; returns connection_info
    as the agent gives it (``driver_volume_type`` and ``data``).

    The attachment goes ``attaching`` (and a ``reserved`` volume with it) before the
    agent is called. If the agent fails or stays silent the attachment becomes
    ``error_attaching`` (or is removed when ``undo_reservation``: the caller never saw
    its id) and the volume settles back to ``available`` or ``in-use``.
    """
    session, volume, row_id = att.session, row.volume, row.id
    if "error" in volume.status:
        raise BadRequest(f"Invalid volume: Volume attachments can not be updated if the "
                         f"volume is in an error state. The Volume {volume.id} currently "
                         f"has a status of: {volume.status}")
    if volume.host is None:
        raise BadRequest(f"Invalid volume: Volume {volume.id} is not placed on a backend.")
    previous = row.attach_status
    if not states.ATTACHMENT.transition(session, row.id, ["reserved", "error_attaching"],
                                        "attaching"):
        session.rollback()
        raise BadRequest(f"Invalid attachment: attachment {row.id} is {previous}; only a "
                         "reserved attachment can be connected.")
    if volume.status == "reserved" and not states.transition(
            session, volume.id, ["reserved"], "attaching"):
        session.rollback()
        raise _invalid_volume(volume, ["reserved"], "attach")
    connector = {**connector, "mode": _mode(volume, row, connector)}
    target = agent_messages.volume_message(volume)
    # No transaction may stay open while the agent works (on SQLite it holds the lock).
    session.commit()
    try:
        info = att.rpc.initialize_connection(att.context.request_id, target, connector,
                                             row_id)
    except MessagingError as exc:
        _attach_failed(session, row, undo_reservation)
        if isinstance(exc, MessagingTimeout):
            _revoke_late_export(att, target, connector, row_id)
        raise _agent_error(target, "attach", exc) from exc
    if not _store(session, row, connector, info, expected=["attaching"]):
        # Deleted while the agent worked: take back what it just made, and only that.
        try:
            att.rpc.terminate_connection(att.context.request_id, target, connector, row_id)
        except MessagingError:
            _revoke_late_export(att, target, connector, row_id)
        raise Conflict(f"Attachment {row_id} was deleted while it was being connected.")
    return info


def reexport(att: Attacher, row: VolumeAttachment, connector: dict[str, Any]
             ) -> dict[str, Any]:
    """Export again for an attachment that is already connected (Nova asks again on a
    reboot); no status moves, and a failure changes nothing."""
    connector = {**connector, "mode": _mode(row.volume, row, connector)}
    target = agent_messages.volume_message(row.volume)
    row_id, status = row.id, row.attach_status
    att.session.commit()
    try:
        info = att.rpc.initialize_connection(att.context.request_id, target, connector,
                                             row_id)
    except MessagingError as exc:
        raise _agent_error(target, "attach", exc) from exc
    if not _store(att.session, row, connector, info, expected=[status]):
        raise Conflict(f"Attachment {row_id} changed while it was being connected; retry.")
    return info


def _store(session: Session, row: VolumeAttachment, connector: dict[str, Any],
           info: dict[str, Any], expected: Sequence[str]) -> bool:
    """Keep what the agent made, if the attachment is still in ``expected``: the
    volume's location and CHAP credentials (the agent keeps no state and reuses them
    next time), the connector and connection_info. Pops ``model_update`` off ``info``."""
    model_update = info.pop("model_update", None) or {}
    row_id, volume_id = row.id, row.volume_id
    stored = session.execute(
        update(VolumeAttachment)
        .where(VolumeAttachment.id == row_id,
               VolumeAttachment.attach_status.in_(list(expected)))
        .values(connector=connector, connection_info=info, attach_mode=connector["mode"],
                # Cinder's defaults when the connector names no host or mountpoint.
                attached_host=connector.get("host", ""),
                mountpoint=connector.get("mountpoint", "na"))
        .execution_options(synchronize_session=False)).rowcount == 1
    if not stored:
        session.rollback()
        return False
    values = {key: model_update[key] for key in ("provider_location", "provider_auth")
              if model_update.get(key)}
    if values:
        session.execute(update(Volume).where(Volume.id == volume_id).values(**values))
    _summarize(session, volume_id)
    session.commit()
    session.expire(row)
    return True


def _revoke_late_export(att: Attacher, target: dict[str, Any],
                        connector: dict[str, Any], attachment_id: str) -> None:
    """A silent agent may still export later: queue the undo behind the request. If the
    broker is gone too, the agent's start-up reconciliation removes the stray export."""
    try:
        att.rpc.revoke_later(att.context.request_id, target, connector, attachment_id)
    except MessagingError:
        LOG.warning("cannot queue the undo of a timed-out export of volume %s", target["id"])


def _attach_failed(session: Session, row: VolumeAttachment, remove: bool) -> None:
    session.rollback()
    volume_id = row.volume_id
    if remove:
        states.ATTACHMENT.delete(session, row.id, ["attaching"])
    else:
        states.ATTACHMENT.transition(session, row.id, ["attaching"], "error_attaching")
    settle(session, volume_id)
    session.commit()


def _agent_error(target: dict[str, Any], doing: str, exc: MessagingError) -> ApiError:
    """Cinder-style error for a failed agent call, naming the service that failed."""
    service, volume_id = target["host"].split("#", 1)[0], target["id"]
    if isinstance(exc, RemoteError):
        return BackendFailure(f"Unable to {doing} volume {volume_id}: the volume service "
                              f"{service} failed: {exc.message}. The request was rolled "
                              "back.")
    if isinstance(exc, MessagingTimeout):
        return ServiceUnavailable(f"Unable to {doing} volume {volume_id}: the volume "
                                  f"service {service} did not answer in time. The request "
                                  "was rolled back; retry when the service is up.")
    return ServiceUnavailable(f"Unable to {doing} volume {volume_id}: the message broker "
                              "is unavailable. The request was rolled back.")


def complete(session: Session, row: VolumeAttachment, **values: Any) -> None:
    """The consumer is connected: attachment ``attached``, volume ``in-use``. ``values``
    are the legacy os-attach's instance, host, mountpoint and mode. Repeating it on an
    attached attachment changes nothing."""
    if row.attach_status == "attached" and not values:
        return
    if not states.ATTACHMENT.transition(session, row.id, ["reserved", "attaching"],
                                        "attached", attach_time=utcnow(), **values):
        session.rollback()
        session.refresh(row)
        raise BadRequest(f"Invalid attachment: attachment {row.id} is {row.attach_status} "
                         "and cannot be completed.")
    settle(session, row.volume_id)
    session.commit()


def delete(att: Attacher, row: VolumeAttachment) -> list[VolumeAttachment]:
    """Remove the initiator's access (unless another attachment of the volume shares
    it), then the attachment; the volume settles to ``available`` or stays ``in-use``
    for its other attachments. Returns the attachments left. On an agent failure
    nothing changes and the caller may retry."""
    session, volume = att.session, row.volume
    status = row.attach_status
    connector = row.connector
    shared = connector is not None and len(by_initiator(volume, connector["initiator"])) > 1
    if connector is not None and not shared:
        marked = (status == "attached" and volume.status == "in-use"
                  and not any(a.attach_status == "attached" for a in volume.attachments
                              if a.id != row.id))
        target = agent_messages.volume_message(volume)
        if marked and not states.transition(session, volume.id, ["in-use"], "detaching"):
            session.rollback()
            raise _invalid_volume(volume, ["in-use"], "detach")
        session.commit()
        try:
            att.rpc.terminate_connection(att.context.request_id, target, connector)
        except MessagingError as exc:
            if marked:
                states.transition(session, target["id"], ["detaching"], "in-use")
                session.commit()
            raise _agent_error(target, "detach", exc) from exc
    return _drop(session, row, status)


def force_delete(att: Attacher, row: VolumeAttachment, connector: dict[str, Any] | None
                 ) -> None:
    """The admin's detach from any status: unexport for ``connector``, else for the
    attachment's own, else for every initiator; then drop the attachment."""
    volume = row.volume
    status = row.attach_status
    if volume.host is not None:
        target = agent_messages.volume_message(volume)
        connector = connector or row.connector
        att.session.commit()
        try:
            att.rpc.terminate_connection(att.context.request_id, target, connector)
        except MessagingError as exc:
            raise _agent_error(target, "detach", exc) from exc
    _drop(att.session, row, status)


def disconnect(att: Attacher, volume: Volume, rows: Sequence[VolumeAttachment],
               connector: dict[str, Any]) -> None:
    """The legacy os-terminate_connection: unexport for ``connector``. Attached rows
    (``rows`` are those made for it) forget the connector and wait for os-detach; rows
    that never got attached are dropped, as nothing else would remove them.

    The call names no attachment, so while another attachment of the volume is
    attached through the same initiator (two instances of one compute host on a
    multiattach volume) the initiator keeps its access and the attached rows their
    connector, as Cinder's LVM driver does: os-detach of each then says which one
    ended, and the last removes the access."""
    attached = [row for row in rows if row.attach_status in ("attached", "detaching")]
    shared = len(rows) > 1 and bool(attached)
    target = agent_messages.volume_message(volume)
    if volume.host is not None and not shared:
        att.session.commit()
        try:
            att.rpc.terminate_connection(att.context.request_id, target, connector)
        except MessagingError as exc:
            raise _agent_error(target, "detach", exc) from exc
    for row in rows:
        if row not in attached:
            states.ATTACHMENT.delete(att.session, row.id, [row.attach_status])
        elif not shared:
            row.connector = None
            row.connection_info = None
    settle(att.session, volume.id)
    att.session.commit()


def _drop(session: Session, row: VolumeAttachment, status: str) -> list[VolumeAttachment]:
    """Delete the attachment if still in ``status`` and settle its volume; returns the
    volume's other attachments."""
    row_id, volume_id = row.id, row.volume_id
    if not states.ATTACHMENT.delete(session, row_id, [status]):
        session.rollback()
        raise _not_found(row_id)
    settle(session, volume_id)
    session.commit()
    return list(session.scalars(select(VolumeAttachment)
                                .where(VolumeAttachment.volume_id == volume_id)))


def _summarize(session: Session, volume_id: str) -> list[str]:
    """Set the volume's ``attach_status`` from its attachments (Cinder's order: attached,
    attaching, detaching, reserved; failed ones only when nothing else is left), so a
    volume with any attachment is never deletable. Returns the live statuses."""
    found = list(session.scalars(select(VolumeAttachment.attach_status)
                                 .where(VolumeAttachment.volume_id == volume_id)))
    live = sorted(s for s in found if not s.startswith("error_"))
    summary = live[0] if live else (found[0] if found else "detached")
    session.execute(update(Volume).where(Volume.id == volume_id).values(attach_status=summary))
    return live


def settle(session: Session, volume_id: str) -> None:
    """After an attachment changed: ``in-use`` while one is attached, ``available`` when
    none is live; a volume still reserved or attaching for another one stays so."""
    live = _summarize(session, volume_id)
    target = "in-use" if "attached" in live else None if live else "available"
    current = session.scalar(select(Volume.status).where(Volume.id == volume_id))
    if target and current != target and current in _ATTACH_FAMILY:
        states.transition(session, volume_id, [current], target)
