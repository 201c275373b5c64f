"""Moving a volume to another backend: ``os-migrate_volume`` and the retype that needs it.

The API only checks the request and marks the volume, as Cinder's API does: it
sets ``migration_status = migrating`` (a retype also ``status = retyping``, a
locked migration ``maintenance``), writes the migration record
(``db.migration_request``) in the same transaction, and casts ``migrate_volume``
to the scheduler, which chooses the destination with its filters and weighers.
The copy is the agents' work and the controller ends it (``scheduler.migration``).

An attached volume is refused: moving it would need the instance's hypervisor to
swap the disk under it (Nova's swap_volume), which cinderblock does not drive.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.errors import BadRequest
from api.services.scheduler_client import SCHEDULER_TOPIC
from api.services.services import is_up
from api.services.volume_actions import ActionContext, action
from api.validation import boolean, invalid
from common import messaging
from db import migration_request, states
from db.models import Pool, Service, Snapshot, Volume, VolumeType, utcnow

__all__ = ["start", "check_movable", "migrate_volume"]

VOLUME_BINARY = "cinderblock-volume"


def check_movable(session: Session, row: Volume) -> None:
    """Refuse what no migration takes: an attached volume, or one with snapshots."""
    _refuse_attached(row)
    _refuse_snapshots(session, row)


def _refuse_attached(row: Volume) -> None:
    if row.status == "in-use" or row.attach_status != "detached":
        raise BadRequest(f"Invalid volume: Volume {row.id} is attached (in-use): moving it "
                         "to another backend would need the instance's disk to be swapped "
                         "(Nova's swap_volume), which is not supported; detach it first.")


def _refuse_snapshots(session: Session, row: Volume) -> None:
    if session.scalar(select(func.count(Snapshot.id)).where(Snapshot.volume_id == row.id)):
        raise BadRequest("Invalid volume: Volume must not have snapshots to be moved to "
                         "another backend.")


def start(ctx: ActionContext, row: Volume, *, new_type: VolumeType | None = None,
          host: str | None = None, lock_volume: bool = False,
          reservations: list[str] | None = None) -> None:
    """Mark ``row`` migrating and hand it to the scheduler; commits. A retype passes
    ``new_type`` (its volume goes ``retyping``), an admin's migration ``host``."""
    check_movable(ctx.session, row)
    previous = row.status
    values = {"migration_status": "migrating", "previous_status": previous,
              "task_started_at": utcnow(), "task_owner": (row.host or "").split("#")[0],
              "status_reason": None}
    if new_type is not None:
        won = states.transition(ctx.session, row.id, ["available"], "retyping", **values)
    elif lock_volume:
        won = states.transition(ctx.session, row.id, ["available"], "maintenance", **values)
    else:
        won = bool(ctx.session.execute(
            update(Volume).where(Volume.id == row.id, Volume.status == "available",
                                 Volume.migration_status.is_(None)
                                 | Volume.migration_status.in_(states.MIGRATION_IDLE[1:]))
            .values(**values).execution_options(synchronize_session=False)).rowcount)
    if not won:
        ctx.session.rollback()
        raise BadRequest(f"Invalid volume: Volume {row.id} changed while its migration "
                         "started; retry.")
    ctx.session.refresh(row)
    migration_request.record(row, migration_request.MigrationRequest(
        started=int(time.time()), new_type_id=new_type.id if new_type is not None else None,
        host=host, reservations=list(reservations or [])))
    ctx.session.commit()
    messaging.request_id.set(ctx.context.request_id)
    ctx.agent.transport.cast(SCHEDULER_TOPIC, "migrate_volume", {"volume_id": row.id})


def _service_up(ctx: ActionContext, backend: str) -> bool:
    service = ctx.session.scalars(select(Service).where(
        Service.host == backend, Service.binary == VOLUME_BINARY)).first()
    return service is not None and not service.disabled and is_up(ctx.conf, service)


def _known_pool(session: Session, host: str) -> bool:
    pools = session.scalars(select(Pool.host)).all()
    return any(pool == host or pool.split("#")[0] == host for pool in pools)


@action("os-migrate_volume")
def migrate_volume(ctx: ActionContext, row: Volume, args: Any) -> int:
    if not isinstance(args, dict) or "host" not in args:
        raise invalid("os-migrate_volume", args, "'host' is a required property")
    host = args["host"]
    if not isinstance(host, str) or not host:
        raise invalid("host", host, f"{host!r} is not of type 'string'")
    # Every migration here is a host copy, so force_host_copy is only checked.
    boolean(args.get("force_host_copy", False), "force_host_copy")
    lock_volume = boolean(args.get("lock_volume", False), "lock_volume")
    backend = host.split("#")[0]
    if not _service_up(ctx, backend) \
            or not _known_pool(ctx.session, host):
        raise BadRequest(f"Invalid host: No available service named '{host}'")
    if row.status not in ("available", "in-use") or row.migration_status \
            not in states.MIGRATION_IDLE or row.group_id or row.host == host \
            or (row.host or "").split("#")[0] == host:
        raise BadRequest(f"Invalid volume: Volume {row.id} status must be available or "
                         "in-use, must not be migrating, have snapshots, be replicated, be "
                         "part of a group and destination host/cluster must be different "
                         "than the current one")
    start(ctx, row, host=host, lock_volume=lock_volume)
    return 202
