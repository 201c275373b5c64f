"""Volume transfers: offer a volume to another project, which accepts it with a key.

Offering moves the volume to ``awaiting-transfer`` (so it cannot be deleted or
attached meanwhile); the auth key is returned once and only its salted HMAC is
stored. Accepting is one transaction: the key is checked, the receiving project's
quota is reserved (413 if it has no room) and the giver's released, the volume
(and its snapshots unless ``no_snapshots``) change project under a guarded
UPDATE, and the offer is marked accepted, so a quota can never count a volume twice
or not at all. An accepted transfer stays as a record of who gave the volume to whom
(3.57: ``source_project_id``, ``destination_project_id``, ``accepted``) but, as in
Cinder, where it is soft-deleted, no list, show, accept or delete finds it again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound, OverLimit
from api.services import snapshots, volumes
from api.services.listing import Listing, ListQuery
from api.validation import boolean, display_updates, invalid, optional_uuid, reject_unexpected
from common.config import Config
from db import quota, states
from db.models import Snapshot, Transfer, Volume
from db.quota import OverQuota

__all__ = ["TRANSFERS", "Offer", "create", "find", "accept", "withdraw", "listed"]

_SORT_KEYS = {
    "created_at": Transfer.created_at,
    "id": Transfer.id,
    "name": func.coalesce(Transfer.display_name, ""),
    "volume_id": Transfer.volume_id,
}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    if key == "name":
        return Transfer.display_name == text
    return None


TRANSFERS = Listing(model=Transfer, sort_keys=_SORT_KEYS,
                    user_filters=frozenset({"name", "volume_id"}),
                    admin_filters=frozenset({"project_id", "id"}), condition=_condition)


class Offer:
    """A new transfer and the key the receiver needs, which exists only here."""

    def __init__(self, row: Transfer, auth_key: str) -> None:
        self.row = row
        self.auth_key = auth_key


def _hash(salt: str, auth_key: str) -> str:
    return hmac.new(salt.encode(), auth_key.encode(), hashlib.sha256).hexdigest()


def _open(session: Session, transfer_id: str) -> Transfer:
    """A transfer not accepted yet, whoever offered it."""
    row = session.get(Transfer, transfer_id)
    if row is None or row.accepted:
        raise NotFound(f"Transfer {transfer_id} could not be found.")
    return row


def find(session: Session, context: RequestContext, transfer_id: str) -> Transfer:
    """The giver's view: other projects get 404 (they accept by id and key instead)."""
    row = _open(session, transfer_id)
    if not context.can_access(row.project_id):
        raise NotFound(f"Transfer {transfer_id} could not be found.")
    return row


def create(session: Session, context: RequestContext, spec: dict[str, Any],
           with_snapshots_flag: bool) -> Offer:
    """``with_snapshots_flag``: ``no_snapshots`` is accepted (3.55 volume-transfers)."""
    allowed = {"volume_id", "name", "no_snapshots"} if with_snapshots_flag \
        else {"volume_id", "name"}
    reject_unexpected(spec, allowed)
    if "volume_id" not in spec:
        raise invalid("transfer", spec, "'volume_id' is a required property")
    volume_id = optional_uuid(spec["volume_id"], "volume_id")
    no_snapshots = boolean(spec.get("no_snapshots", False), "no_snapshots")
    volume = volumes.find(session, context, str(volume_id))
    if volume.status != "available":
        raise BadRequest("Invalid volume: status must be available")
    if not no_snapshots:
        for snapshot in session.scalars(select(Snapshot).where(Snapshot.volume_id == volume.id)):
            if snapshot.status != "available":
                raise BadRequest(f"Invalid snapshot: snapshot: {snapshot.id} status must be "
                                 "available")
    if not states.VOLUME.transition(session, volume.id, ["available"], "awaiting-transfer"):
        session.rollback()
        raise BadRequest("Invalid volume: status must be available")
    auth_key, salt = secrets.token_hex(8), secrets.token_hex(8)
    row = Transfer(volume_id=volume.id, project_id=volume.project_id,
                   display_name=display_updates(spec).get("display_name"), salt=salt,
                   crypt_hash=_hash(salt, auth_key), no_snapshots=no_snapshots)
    session.add(row)
    session.commit()
    return Offer(row, auth_key)


def withdraw(session: Session, row: Transfer) -> None:
    """Withdraw the offer; the volume is available to its owner again."""
    volume_id = row.volume_id
    session.execute(delete(Transfer).where(Transfer.id == row.id)
                    .execution_options(synchronize_session=False))
    states.VOLUME.transition(session, volume_id, ["awaiting-transfer"], "available")
    session.commit()


def _deltas(volume: Volume, moved: list[Snapshot], sign: int) -> dict[str, int]:
    type_name = volume.volume_type.name
    deltas: dict[str, int] = {}
    if volume.consumes_quota:
        deltas.update(volumes.deltas(volume.volume_type, sign, sign * volume.size))
    counted = [s for s in moved if s.consumes_quota]
    if counted:
        size = sum(s.volume_size for s in counted)
        for resource, delta in snapshots.deltas(type_name, sign * len(counted),
                                                sign * size).items():
            deltas[resource] = deltas.get(resource, 0) + delta
    return deltas


def accept(session: Session, context: RequestContext, conf: Config, transfer_id: str,
           body: Any) -> Transfer:
    args = body.get("accept") if isinstance(body, dict) else None
    if not isinstance(args, dict) or "auth_key" not in args:
        raise BadRequest("'accept' is a required property with an 'auth_key'")
    auth_key = args["auth_key"]
    if isinstance(auth_key, bool) or not isinstance(auth_key, (str, int)):
        raise invalid("auth_key", auth_key, f"{auth_key!r} is not of type 'string', "
                                            "'integer'")
    row = _open(session, transfer_id)
    if not hmac.compare_digest(_hash(row.salt, str(auth_key)), row.crypt_hash):
        raise BadRequest(f"Invalid auth key: Attempt to transfer {transfer_id} with invalid "
                         "auth key.")
    volume = session.get(Volume, row.volume_id)
    if volume is None or volume.status != "awaiting-transfer":
        raise BadRequest(f"Invalid volume: Volume {row.volume_id} is not awaiting a transfer.")
    giver = volume.project_id
    moved = [] if row.no_snapshots else list(session.scalars(
        select(Snapshot).where(Snapshot.volume_id == volume.id)))
    taken = volumes.reserve(session, conf, context.project_id, _deltas(volume, moved, 1),
                            volume.size)
    try:
        released = quota.reserve(session, giver, _deltas(volume, moved, -1),
                                 conf=conf.default)
    except OverQuota as exc:
        session.rollback()
        raise OverLimit(exc.message) from None
    won = session.execute(
        update(Volume).where(Volume.id == volume.id, Volume.status == "awaiting-transfer",
                             Volume.project_id == giver)
        .values(project_id=context.project_id, user_id=context.user_id, status="available")
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        session.rollback()
        raise BadRequest(f"Invalid volume: Volume {volume.id} was transferred or changed "
                         "meanwhile.")
    if moved:
        session.execute(update(Snapshot).where(Snapshot.id.in_([s.id for s in moved]))
                        .values(project_id=context.project_id, user_id=context.user_id)
                        .execution_options(synchronize_session=False))
    row.accepted = True
    row.destination_project_id = context.project_id
    quota.commit(session, [*taken, *released])
    session.commit()
    return row


def listed(session: Session, context: RequestContext, query: ListQuery) -> list[Transfer]:
    statement, _ = TRANSFERS.page(session, context,
                                  select(Transfer).where(Transfer.accepted.is_(False)), query)
    return list(session.scalars(statement))
