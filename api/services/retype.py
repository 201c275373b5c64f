"""``os-retype``: change a volume's type when its backend can keep it.

A retype whose new type still matches the backend holding the volume is only a
change of ``volume_type_id`` and of the per-type quota, done in one transaction
(the LVM volume itself does not change). One that needs another backend is a
migration (``api.services.migration``) when ``migration_policy`` is ``on-demand``:
the per-type quota is reserved here and committed when the volume has moved. With
any other policy it is refused up front, with Cinder's message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.errors import BadRequest, OverLimit
from api.services import migration, type_encryption, volume_types
from api.services.volume_actions import ActionContext, action
from api.validation import invalid
from db import quota, states
from db.models import Pool, Snapshot, Volume, VolumeType
from db.quota import OverQuota

__all__ = ["retype"]

_POLICIES = (None, "on-demand", "never")
_RETYPABLE = ("available", "in-use")


def _multiattach(volume_type: VolumeType) -> bool:
    return volume_types.extra_specs(volume_type).get("multiattach") == "<is> True"


def _backend_name(session: Session, host: str | None) -> str | None:
    caps = session.scalar(select(Pool.capabilities).where(Pool.host == host)) or {}
    return caps.get("volume_backend_name")


def _per_type(session: Session, row: Volume, type_name: str, sign: int) -> dict[str, int]:
    """The per-type quota a volume and its snapshots hold under ``type_name``."""
    count, size = session.execute(
        select(func.count(Snapshot.id), func.coalesce(func.sum(Snapshot.volume_size), 0))
        .where(Snapshot.volume_id == row.id)).one()
    deltas = {f"volumes_{type_name}": sign, f"gigabytes_{type_name}": sign * (row.size + size)}
    if count:
        deltas[f"snapshots_{type_name}"] = sign * count
    return deltas


def _new_type(session: Session, name_or_id: Any) -> VolumeType:
    if not isinstance(name_or_id, str):
        raise invalid("new_type", name_or_id, f"{name_or_id!r} is not of type 'string'")
    found = session.scalars(select(VolumeType).where(
        (VolumeType.id == name_or_id) | (VolumeType.name == name_or_id))).first()
    if found is None:
        raise BadRequest(f"Invalid input received: Invalid volume_type passed: {name_or_id}.")
    return found


def _needs_migration(session: Session, row: Volume, new: VolumeType,
                     policy: str | None) -> bool:
    wanted = volume_types.extra_specs(new).get("volume_backend_name")
    if wanted is None or wanted == _backend_name(session, row.host):
        return False
    if policy != "on-demand":
        raise BadRequest("Invalid input received: Retype requires migration but is not "
                         "allowed.")
    return True


@action("os-retype")
def retype(ctx: ActionContext, row: Volume, args: Any) -> int:
    if not isinstance(args, dict) or "new_type" not in args:
        raise invalid("os-retype", args, "'new_type' is a required property")
    policy = args.get("migration_policy")
    if policy not in _POLICIES:
        raise invalid("migration_policy", policy, f"{policy!r} is not one of "
                                                  "['on-demand', 'never', None]")
    session, old = ctx.session, row.volume_type
    new = _new_type(session, args["new_type"])
    type_encryption.refuse_encrypted(session, new)
    if _multiattach(old) != _multiattach(new) and row.status != "available":
        raise BadRequest("Invalid input received: Invalid volume_type passed, retypes "
                         "affecting multiattach are only allowed on available volumes, the "
                         f"specified volume however currently has a status of: {row.status}.")
    if row.status not in _RETYPABLE or row.migration_status not in states.MIGRATION_IDLE \
            or row.group_id or new.id == old.id:
        raise BadRequest("Invalid volume: Retype needs volume to be in available or in-use "
                         "state, not be part of an active migration or a consistency group, "
                         "requested type has to be different that the one from the volume, "
                         "and for in-use volumes front-end qos specs cannot change.")
    moves = _needs_migration(session, row, new, policy)
    if moves:
        migration.check_movable(session, row)
    deltas = {**_per_type(session, row, new.name, 1), **_per_type(session, row, old.name, -1)}
    try:
        ids = quota.reserve(session, row.project_id, deltas, conf=ctx.conf.default) \
            if row.consumes_quota else []
    except OverQuota as exc:
        session.rollback()
        raise OverLimit(exc.message) from None
    if moves:
        migration.start(ctx, row, new_type=new, reservations=ids)
        return 202
    moved = session.execute(
        update(Volume).where(Volume.id == row.id, Volume.volume_type_id == old.id,
                             Volume.status.in_(_RETYPABLE))
        .values(volume_type_id=new.id, multiattach=_multiattach(new))
        .execution_options(synchronize_session=False)).rowcount
    if not moved:
        session.rollback()
        raise BadRequest(f"Invalid volume: Volume {row.id} changed while being retyped; "
                         "retry.")
    session.execute(update(Snapshot).where(Snapshot.volume_id == row.id)
                    .values(volume_type_id=new.id)
                    .execution_options(synchronize_session=False))
    quota.commit(session, ids)
    session.commit()
    return 202
