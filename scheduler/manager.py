"""Places new volumes: the endpoint of the ``scheduler`` queue.

Placement is one transaction: read the volume, lock and read the pools, filter
and weigh, claim the pool's capacity (a compare-and-swap, which the lock makes
certain), record ``host`` with an UPDATE guarded on ``status = creating``, commit,
then cast the agent. Schedulers thus place one after another per set of pools, and a
create never fails for contention. A redelivered or duplicated request finds
``host`` already set and only re-sends the cast, which the agent handles
idempotently; a lost race (a duplicate placed meanwhile) is retried with fresh
numbers until the volume is placed or no pool can take it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, lazyload, sessionmaker

from common.config import Config
from common.messaging import Transport, request_id, volume_topic
from db import quota
from db.agent_messages import volume_message
from db.messages import Action, Detail, record
from db.models import Snapshot, Volume, VolumeType, utcnow
from db.session import session_scope
from db.states import VOLUME
from scheduler.filters import RequestSpec, make_filters
from scheduler.groups import lock_group, settle_group
from scheduler.host_manager import PoolState, claim, load_pools
from scheduler.migration import Migrations
from scheduler.weighers import make_weighers, rank

__all__ = ["SchedulerManager", "NoValidBackend", "finish_create", "ROW_WITH_TYPE"]

LOG = logging.getLogger(__name__)
#: loader options reading a volume row with its type and the type's extra specs in one
#: joined query (not three), never its metadata or attachments (loaded only if read)
ROW_WITH_TYPE = (lazyload(Volume.volume_metadata), lazyload(Volume.volume_admin_metadata),
               lazyload(Volume.attachments),
               joinedload(Volume.volume_type).joinedload(VolumeType.extra_specs))


class NoValidBackend(Exception):
    """No pool can take the volume; the message becomes the volume's ``status_reason``."""


class _LostRace(Exception):
    """Another scheduler changed the volume or the chosen pool since we read them."""


@dataclass(frozen=True)
class _Placed:
    volume: dict[str, Any]
    request_spec: dict[str, Any]


class SchedulerManager:
    def __init__(self, sessions: sessionmaker[Session], transport: Transport,
                 conf: Config) -> None:
        self.sessions = sessions
        self.transport = transport
        self.conf = conf
        self.filters = make_filters(conf.default.scheduler_default_filters)
        self.weighers = make_weighers(conf.default.scheduler_default_weighers,
                                      conf.default.capacity_weight_multiplier)
        self.migrations = Migrations(sessions, transport, conf, self.filters, self.weighers)

    def migrate_volume(self, volume_id: str) -> None:
        """A retype to another backend or an admin's migration (scheduler.migration)."""
        self.migrations.migrate_volume(volume_id)

    def create_volume(self, volume_id: str | None = None,
                      request_spec: dict[str, Any] | None = None,
                      volume: dict[str, Any] | None = None) -> None:
        """Place the volume and cast its agent. ``volume`` (a dict with ``id``) is
        accepted from callers that send the row they wrote; only its id is read."""
        volume_id = volume_id or (volume or {}).get("id")
        if not volume_id:
            LOG.error("create_volume without a volume id: dropped")
            return
        placed = self.place(volume_id, dict(request_spec or {}))
        if placed is not None:
            self.cast_create(placed.volume, placed.request_spec)

    def cast_create(self, volume: dict[str, Any], request_spec: dict[str, Any]) -> None:
        self.transport.cast(volume_topic(volume["host"]), "create_volume",
                            {"volume": volume, "request_spec": request_spec})

    def place(self, volume_id: str, request_spec: dict[str, Any]) -> _Placed | None:
        """Choose and record a pool; None when there is nothing (more) to do."""
        while True:
            try:
                with session_scope(self.sessions) as session:
                    return self._place(session, volume_id, request_spec)
            except _LostRace:
                LOG.debug("volume %s: placement raced another; trying again", volume_id)
            except NoValidBackend as exc:
                self._fail(volume_id, request_spec, str(exc))
                return None

    def _place(self, session: Session, volume_id: str,
               request_spec: dict[str, Any]) -> _Placed | None:
        volume = session.get(Volume, volume_id, populate_existing=True, options=ROW_WITH_TYPE)
        if volume is None or volume.status != "creating":
            LOG.info("volume %s is gone or no longer creating; nothing to place", volume_id)
            return None
        if volume.host:
            LOG.info("volume %s is already placed on %s; re-sending", volume_id, volume.host)
            return _Placed(volume_message(volume), request_spec)
        retry = dict(request_spec.get("retry") or {"num_attempts": 0, "backends": []})
        spec = RequestSpec(
            size=volume.size,
            extra_specs={s.key: s.value for s in volume.volume_type.extra_specs},
            availability_zone=volume.availability_zone)
        candidates = self._candidates(session, volume, retry["backends"])
        pool = self._choose(candidates, spec)
        if not claim(session, pool, volume.size):
            raise _LostRace
        won = session.execute(
            update(Volume)
            .where(Volume.id == volume_id, Volume.status == "creating", Volume.host.is_(None))
            .values(host=pool.host, task_owner=pool.backend, task_started_at=utcnow(),
                    scheduled_at=utcnow(), status_reason=None)
            .execution_options(synchronize_session=False)).rowcount
        if not won:
            raise _LostRace
        retry = {"num_attempts": retry["num_attempts"] + 1,
                 "backends": [*retry["backends"], pool.backend]}
        LOG.info("volume %s (%d GiB) placed on %s", volume_id, volume.size, pool.host)
        return _Placed({**volume_message(volume), "host": pool.host},
                       {**request_spec, "retry": retry})

    def _candidates(self, session: Session, volume: Volume,
                    tried: list[str]) -> list[PoolState]:
        pools = load_pools(session, self.conf.default.service_down_time, lock=True)
        source_host = self._source_host(session, volume)
        if source_host is not None:
            pools = [p for p in pools if p.host == source_host]
            if not pools:
                raise NoValidBackend(f"No valid backend was found: the backend holding the "
                                     f"source ({source_host.split('#')[0]}) is not available")
        if not pools:
            raise NoValidBackend("No valid backend was found: no volume service is up "
                                 "and enabled")
        untried = [p for p in pools if p.backend not in tried]
        if not untried:
            raise NoValidBackend("No valid backend was found: every backend that could take "
                                 "the volume has already failed to create it")
        return untried

    @staticmethod
    def _source_host(session: Session, volume: Volume) -> str | None:
        """Volumes from a snapshot or a volume go to the pool that holds the source."""
        if volume.snapshot_id:
            host = session.scalar(select(Volume.host)
                                  .join(Snapshot, Snapshot.volume_id == Volume.id)
                                  .where(Snapshot.id == volume.snapshot_id))
        elif volume.source_volid:
            host = session.scalar(select(Volume.host).where(Volume.id == volume.source_volid))
        else:
            return None
        if not host:
            raise NoValidBackend("No valid backend was found: the source of the volume "
                                 "is not on any backend")
        return host

    def _choose(self, pools: list[PoolState], spec: RequestSpec) -> PoolState:
        for check in self.filters:
            passed = [pool for pool in pools if check.passes(pool, spec)]
            if not passed:
                raise NoValidBackend(f"No valid backend was found: {check.reason} "
                                     f"({spec.size} GiB requested)")
            pools = passed
        return rank(pools, spec, self.weighers)[0]

    def _fail(self, volume_id: str, request_spec: dict[str, Any], reason: str) -> None:
        LOG.warning("volume %s: %s", volume_id, reason)
        finish_create(self.sessions, volume_id, request_spec, "error", status_reason=reason,
                      message=(Action.SCHEDULE_ALLOCATE_VOLUME, Detail.NO_BACKEND_AVAILABLE))


def finish_create(sessions: sessionmaker[Session], volume_id: str,
                  request_spec: dict[str, Any], status: str,
                  guard: Callable[[Any], bool] = lambda volume: True,
                  message: tuple[Action, Detail] | None = None, **values: Any) -> bool:
    """End a create in ``available`` or ``error`` and commit its quota reservations
    (the row exists either way and counts until it is deleted). False when the volume
    was no longer creating, or ``guard`` refused it: a duplicate or stale result.
    ``message`` is the user message (``/messages``) a failed create leaves. ``guard``
    gets the volume's ``status``, ``host`` and ``project_id`` (one column query). A
    group made from a source leaves ``creating`` with its last volume
    (``scheduler.groups``)."""
    with session_scope(sessions) as session:
        volume = session.execute(select(Volume.status, Volume.host, Volume.project_id,
                                        Volume.group_id)
                                 .where(Volume.id == volume_id)).first()
        if volume is None or volume.status != "creating" or not guard(volume):
            return False
        group = lock_group(session, volume.group_id)
        if not VOLUME.transition(session, volume_id, ["creating"], status, **values):
            return False
        settle_group(session, group)
        quota.commit(session, request_spec.get("reservations") or [])
        if message is not None:
            record(session, project_id=volume.project_id, action=message[0],
                   detail=message[1], resource_uuid=volume_id, request_id=request_id.get())
        return True
