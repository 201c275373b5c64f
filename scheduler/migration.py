"""Moving a volume between backends: the scheduler's and the controller's half.

``migrate_volume`` (queue ``scheduler``) chooses the destination pool with the
filters and weighers against the new type (a retype) or the volume's own type (an
admin's ``os-migrate_volume`` to a named host, which must pass them), claims its
capacity and records it, then casts ``migrate_volume`` to the agent holding the
volume. As in Cinder's retype, the current pool is kept when it passes the new
type's filters: the retype then needs no copy and ends at once.

The source agent has the destination agent create the volume and export it to the
source node's initiator, copies the data over iSCSI and reports
``volume_migrated`` (queue ``controller``). On success the volume keeps its id and
takes the destination's ``host``, ``provider_location`` and ``provider_auth`` (and
the new type), and the source's copy is deleted; on failure the volume stays where
it was, usable, with ``migration_status = error``. Either way the migration record
is removed, the status it had returns, and the pool counts and the retype's quota
reservations are settled in the same transaction.

A migration that reports nothing is given up by the sweeper (:func:`sweep`) once
``stuck_task_timeout`` plus a copy allowance per GiB has passed: the destination's
copy is removed and the migration fails as above.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config
from common.messaging import Transport, volume_topic
from db import migration_request, quota
from db.agent_messages import volume_message
from db.models import Volume, VolumeType
from db.session import session_scope
from scheduler.filters import Filter, RequestSpec
from scheduler.host_manager import PoolState, adjust, claim, load_pools
from scheduler.weighers import Weigher, rank

__all__ = ["Migrations", "COPY_SECONDS_PER_GIB"]

LOG = logging.getLogger(__name__)
#: how long a copy may take per GiB before the sweeper gives it up (a 17 MB/s floor)
COPY_SECONDS_PER_GIB = 60


class _NoDestination(Exception):
    """No pool passes; the message becomes the volume's ``status_reason``."""


def _extra_specs(volume_type: VolumeType) -> dict[str, str]:
    return {spec.key: spec.value for spec in volume_type.extra_specs}


class Migrations:
    """The migration steps the scheduler service runs; see the module docstring."""

    def __init__(self, sessions: sessionmaker[Session], transport: Transport, conf: Config,
                 filters: Sequence[Filter], weighers: Sequence[Weigher]) -> None:
        self.sessions = sessions
        self.transport = transport
        self.conf = conf
        self.filters = filters
        self.weighers = weighers

    # -- scheduler queue ------------------------------------------------------------

    def migrate_volume(self, volume_id: str) -> None:
        """Choose and claim the destination, then cast the source agent; a redelivered
        request finds the destination recorded and only casts again."""
        try:
            with session_scope(self.sessions) as session:
                cast = self._place(session, volume_id)
        except _NoDestination as exc:
            LOG.warning("volume %s: migration not started: %s", volume_id, exc)
            self._end(volume_id, None, success=False, reason=str(exc))
            return
        if cast is not None:
            source, destination = cast
            self.transport.cast(volume_topic(source["host"]), "migrate_volume",
                                {"volume": source, "destination": destination})

    def _place(self, session: Session, volume_id: str
               ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        volume = session.get(Volume, volume_id, populate_existing=True)
        request = migration_request.pending(volume) if volume is not None else None
        if volume is None or request is None or volume.migration_status != "migrating":
            LOG.info("volume %s is gone or not migrating; nothing to place", volume_id)
            return None
        new_type = session.get(VolumeType, request.new_type_id) if request.new_type_id \
            else volume.volume_type
        if new_type is None:
            raise _NoDestination("the new volume type no longer exists")
        if request.destination is None:
            pool = self._choose(session, volume, request, _extra_specs(new_type))
            if pool.host == volume.host:
                LOG.info("volume %s: its pool passes the new type; retyped in place",
                         volume_id)
                session.commit()
                self._end(volume_id, None, success=True)
                return None
            if not claim(session, pool, volume.size):
                raise _NoDestination(f"the capacity of {pool.host} changed; retry")
            request.destination, request.host = pool.host, None
            migration_request.record(volume, request)
            LOG.info("volume %s (%d GiB): migrating from %s to %s", volume_id, volume.size,
                     volume.host, pool.host)
        source = volume_message(volume)
        destination = {**source, "host": request.destination, "volume_type_id": new_type.id,
                       "extra_specs": _extra_specs(new_type), "provider_location": None,
                       "snapshot_id": None, "source_volid": None,
                       "provider_auth": None}
        return source, destination

    def _choose(self, session: Session, volume: Volume,
                request: migration_request.MigrationRequest,
                extra_specs: dict[str, str]) -> PoolState:
        pools = load_pools(session, self.conf.default.service_down_time, lock=True)
        if request.host is not None:
            pools = [p for p in pools if request.host in (p.host, p.backend)]
            if not pools:
                raise _NoDestination(f"No valid backend was found: {request.host} is not "
                                     "up and enabled")
        if not pools:
            raise _NoDestination("No valid backend was found: no volume service is up "
                                 "and enabled")
        spec = RequestSpec(size=volume.size, extra_specs=extra_specs,
                           availability_zone=volume.availability_zone)
        current = [p for p in pools if p.host == volume.host]
        if request.host is None and current and all(
                check.passes(current[0], spec) for check in self.filters):
            return current[0]
        pools = [p for p in pools if p.host != volume.host]
        for check in self.filters:
            pools = [pool for pool in pools if check.passes(pool, spec)]
            if not pools:
                raise _NoDestination(f"No valid backend was found: {check.reason} "
                                     f"({spec.size} GiB requested)")
        return rank(pools, spec, self.weighers)[0]

    # -- controller queue -----------------------------------------------------------

    def migration_destination(self, volume_id: str) -> str | None:
        """The pool a migration in flight copies ``volume_id`` to; None when none is.
        The source agent asks before it copies, so a redelivered ``migrate_volume``
        cannot copy the old data over a volume that has moved already."""
        with self.sessions() as session:
            volume = session.get(Volume, volume_id)
            request = migration_request.pending(volume) if volume is not None else None
            if volume is None or request is None or volume.migration_status != "migrating":
                return None
            return request.destination

    def volume_migrated(self, volume_id: str, status: str, host: str | None = None,
                        provider_location: str | None = None,
                        provider_auth: str | None = None, error: str | None = None) -> None:
        """The source agent's result. A stale one (another destination, or a migration
        already given up) is dropped."""
        if status == "success":
            done = self._end(volume_id, host, success=True,
                             provider_location=provider_location, provider_auth=provider_auth)
        else:
            done = self._end(volume_id, host, success=False,
                             reason=f"migration failed: {error}")
        if done is None:
            LOG.info("volume %s: stale migration result (%s from %s) dropped", volume_id,
                     status, host)

    def _end(self, volume_id: str, destination: str | None, *, success: bool,
             reason: str | None = None, provider_location: str | None = None,
             provider_auth: str | None = None) -> str | None:
        """Settle the migration; returns the pool the volume is on now, None when there
        was nothing to settle. ``destination`` None settles what the record says."""
        with session_scope(self.sessions) as session:
            volume = session.scalars(select(Volume).where(Volume.id == volume_id)
                                     .with_for_update()).first()
            request = migration_request.pending(volume) if volume is not None else None
            if volume is None or request is None or volume.migration_status != "migrating" \
                    or (destination is not None and destination != request.destination):
                return None
            moved = success and request.destination is not None
            if moved and volume.attach_status != "detached":
                moved, success = False, False
                reason = "migration failed: the volume was attached while it was copied"
            source = volume_message(volume)
            if moved:
                adjust(session, volume.host, -volume.size)
                volume.host = request.destination
                volume.provider_location = provider_location
                volume.provider_auth = provider_auth
            elif request.destination is not None:
                adjust(session, request.destination, -volume.size)
            if success and request.new_type_id:
                volume.volume_type_id = request.new_type_id
                volume.volume_type = session.get(VolumeType, request.new_type_id)
                volume.multiattach = _extra_specs(volume.volume_type).get(
                    "multiattach") == "<is> True"
                quota.commit(session, request.reservations)
            else:
                quota.rollback(session, request.reservations)
            if volume.status in ("retyping", "maintenance"):
                volume.status = volume.previous_status or "available"
            volume.migration_status = "success" if success else "error"
            volume.status_reason = None if success else reason
            volume.task_started_at = None
            volume.task_owner = None
            migration_request.forget(volume)
            where = volume.host
        if moved:
            self.transport.cast(volume_topic(source["host"]), "delete_migration_source",
                                {"volume": source})
        LOG.info("volume %s: migration %s; on %s", volume_id,
                 "done" if success else f"failed ({reason})", where)
        return where

    # -- sweeper --------------------------------------------------------------------

    def sweep(self, now: datetime, timeout: float) -> list[str]:
        """Give up the migrations that outlived their allowance; returns their ids."""
        with self.sessions() as session:
            rows = session.scalars(select(Volume).where(
                Volume.migration_status == "migrating")).all()
            overdue = []
            for volume in rows:
                request = migration_request.pending(volume)
                allowance = timedelta(seconds=timeout + COPY_SECONDS_PER_GIB * volume.size)
                if request is None or request.started_before(now - allowance):
                    overdue.append((volume.id, volume_message(volume),
                                    request.destination if request else None))
        failed = []
        for volume_id, message, destination in overdue:
            if self._end(volume_id, None, success=False,
                         reason=f"migration did not finish within its {timeout:g} s "
                                f"and {COPY_SECONDS_PER_GIB} s per GiB") is None:
                continue  # its result came meanwhile: the destination's copy is the volume
            failed.append(volume_id)
            if destination is not None:
                self.transport.cast(volume_topic(destination), "remove_migration_target",
                                    {"volume": {**message, "host": destination},
                                     "connector": None, "delete": True})
        return failed
