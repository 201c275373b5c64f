"""``cinderblock-scheduler``: places volumes and persists what agents report.

Serves two durable queues, ``scheduler`` (create requests) and ``controller``
(agent results, heartbeats, capabilities). Any number of these processes may run
against one database and broker: they share the queues, and every change they
make is a guarded UPDATE.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config, parse_args
from common.messaging import VOLUME_FANOUT, Server, Transport
from common.service import run_every, setup_logging, wait_for_signal
from db.session import make_engine, make_session_factory, session_scope
from scheduler.events import ControllerEndpoint, record_heartbeat
from scheduler.host_manager import volume_services_ready
from scheduler.manager import SchedulerManager

__all__ = ["main", "BINARY"]

LOG = logging.getLogger("cinderblock-scheduler")
BINARY = "cinderblock-scheduler"
_READY_POLL = 0.1


def await_volume_services(sessions: sessionmaker[Session], conf: Config,
                          stop: threading.Event) -> None:
    """While no controller ran, heartbeats were not recorded: agents may look down.
    Placing or sweeping then would fail queued creates with "no volume service is up"
    or give up on work of live agents, so wait until every enabled volume service has
    reported (the capability fanout and the agents' queued heartbeats take
    milliseconds), for one report interval at most (a dead agent never reports)."""
    deadline = time.monotonic() + conf.default.report_interval + 1
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with session_scope(sessions) as session:
                if volume_services_ready(session, conf.default.service_down_time):
                    return
        except SQLAlchemyError as exc:
            LOG.warning("cannot read the volume services yet: %s", exc)
        stop.wait(_READY_POLL)


def main(argv: Sequence[str] | None = None) -> None:
    conf, _ = parse_args(BINARY, argv)
    setup_logging(conf.default)
    sessions = make_session_factory(make_engine(conf.database))
    transport = Transport.from_config(conf)
    scheduler = SchedulerManager(sessions, transport, conf)
    controller = ControllerEndpoint(sessions, scheduler, conf)
    servers = [Server(transport), Server(transport)]
    servers[0].listen("controller", controller)
    servers[1].listen("scheduler", scheduler)
    servers[0].start()
    servers[0].ready.wait(30)
    # A new scheduler asks every agent for fresh capabilities instead of waiting a period.
    transport.fanout(VOLUME_FANOUT, "report_capabilities")

    def heartbeat() -> None:
        with session_scope(sessions) as session:
            record_heartbeat(session, conf.default.host, BINARY,
                             conf.default.storage_availability_zone)

    stop = threading.Event()
    await_volume_services(sessions, conf, stop)
    servers[1].start()
    servers[1].ready.wait(30)
    # Listed up only once it places volumes, so waiting for os-services is enough.
    run_every(conf.default.report_interval, heartbeat, stop, "heartbeat")
    run_every(conf.default.task_sweep_interval, controller.sweeper.sweep, stop, "sweeper")
    LOG.info("scheduler %s serving", conf.default.host)
    wait_for_signal(stop)
    for server in servers:
        server.stop()
    transport.close()


if __name__ == "__main__":
    main()
