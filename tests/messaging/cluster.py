"""An in-process control plane for messaging tests: scheduler, controller consumer and
agents with recorded fake backends, on the real broker and a real database."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kombu import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config, load
from common.messaging import VOLUME_FANOUT, Server, Transport, queue_name
from db import quota
from db.models import Pool, Volume, VolumeType, VolumeTypeExtraSpec
from db.session import session_scope
from scheduler.events import ControllerEndpoint
from scheduler.host_manager import load_pools
from scheduler.manager import SchedulerManager
from volume_agent.fake_driver import FakeVolumeDriver
from volume_agent.manager import VolumeManager

SETTLED = ("available", "error")
T = TypeVar("T")


def write_conf(path: pathlib.Path, broker_url: str, db_url: str,
               backends: dict[str, dict[str, object]] | None = None,
               **default: object) -> str:
    """A cinder.conf for the scheduler and agents under test; returns its path."""
    backends = backends or {}
    lines = ["[DEFAULT]", f"transport_url = {broker_url.replace('amqp://', 'rabbit://')}",
             "host = node", f"enabled_backends = {', '.join(backends)}",
             "report_interval = 1", "service_down_time = 5", "quota_volumes = -1",
             "quota_gigabytes = -1"]
    lines += [f"{key} = {value}" for key, value in default.items()]
    lines += ["[database]", f"connection = {db_url}"]
    for name, options in backends.items():
        lines += [f"[{name}]", "volume_driver = fake"]
        lines += [f"{key} = {value}" for key, value in options.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def wait_for(predicate: Callable[[], T], timeout: float = 15, interval: float = 0.05) -> T:
    """Poll until ``predicate`` returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            assert value, f"condition not met within {timeout}s: {value!r}"
            return value
        time.sleep(interval)



def purge_control_queues(transport: Transport) -> None:
    """Tests share a vhost: drop what an earlier test's services left unconsumed."""
    with transport.connection() as conn:
        for key in ("scheduler", "controller"):
            queue = Queue(queue_name(key), durable=True)(conn.channel())
            queue.declare()
            queue.purge()


class Cluster:
    def __init__(self, conf: Config, sessions: sessionmaker[Session], transport: Transport,
                 drivers: dict[str, FakeVolumeDriver], schedulers: int = 1) -> None:
        self.conf = conf
        self.sessions = sessions
        self.transport = transport
        self.drivers = drivers
        self.node = conf.default.host
        self.schedulers = [SchedulerManager(sessions, transport, conf)
                           for _ in range(schedulers)]
        self.servers: list[Server] = []

    def start(self) -> Cluster:
        purge_control_queues(self.transport)
        controls = []
        for scheduler in self.schedulers:
            control = Server(self.transport)
            control.listen("scheduler", scheduler)
            control.listen("controller", ControllerEndpoint(self.sessions, scheduler,
                                                            self.conf))
            controls.append(control)
        agents = Server(self.transport)
        self.managers = []
        for name, driver in self.drivers.items():
            manager = VolumeManager(self.node, name, driver, self.transport, zone="nova",
                                    backend_name=name)
            agents.listen(f"volume.{manager.service_host}", manager)
            agents.listen_fanout(VOLUME_FANOUT, manager)
            self.managers.append(manager)
        for server in (*controls, agents):
            server.start()
            assert server.ready.wait(10)
            self.servers.append(server)
        self.report()
        wait_for(lambda: self.schedulable() == len(self.drivers))
        return self

    def report(self) -> None:
        for manager in self.managers:
            manager.heartbeat()
            manager.report_capabilities()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def schedulable(self) -> int:
        """Pools whose service is up, i.e. that the scheduler may choose."""
        with self.sessions() as session:
            return len(load_pools(session, self.conf.default.service_down_time))

    def allocated(self) -> dict[str, int]:
        with self.sessions() as session:
            return {p.host: p.allocated_capacity_gb for p in session.scalars(select(Pool))}

    def make_type(self, name: str, **extra_specs: str) -> str:
        with session_scope(self.sessions) as session:
            volume_type = VolumeType(name=name, extra_specs=[
                VolumeTypeExtraSpec(key=k, value=v) for k, v in extra_specs.items()])
            session.add(volume_type)
            session.flush()
            return volume_type.id

    def insert_volume(self, size: int, type_name: str = "__DEFAULT__", **columns: Any) -> str:
        """The row the API writes, with its quota committed as the API does."""
        with session_scope(self.sessions) as session:
            volume_type = session.scalars(select(VolumeType)
                                          .where(VolumeType.name == type_name)).one()
            volume = Volume(id=str(uuid.uuid4()), project_id="p1", size=size,
                            volume_type=volume_type, **{"status": "creating", **columns})
            session.add(volume)
            ids = quota.reserve(session, "p1", {"volumes": 1, "gigabytes": size},
                                conf=self.conf.default)
            quota.commit(session, ids)
            return volume.id

    def create(self, size: int, type_name: str = "__DEFAULT__", **columns: Any) -> str:
        volume_id = self.insert_volume(size, type_name, **columns)
        self.transport.cast("scheduler", "create_volume",
                            {"volume_id": volume_id, "request_spec": {}})
        return volume_id

    def volumes(self, ids: list[str]) -> dict[str, Volume]:
        with self.sessions() as session:
            return {v.id: v for v in session.scalars(select(Volume).where(Volume.id.in_(ids)))}

    def settle(self, ids: list[str], timeout: float = 20) -> dict[str, Volume]:
        """Wait until every volume left ``creating``, or the timeout; returns them as
        they are then, for the caller to assert on."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.volumes(ids)
            done = len(found) == len(ids) and all(v.status in SETTLED for v in found.values())
            if done or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

class Daemon:
    """A cinderblock binary run as a real process, its output kept for failure reports."""

    def __init__(self, binary: str, conf_path: str, log_path: pathlib.Path) -> None:
        self.command = [str(pathlib.Path(sys.executable).parent / binary),
                        "--config-file", conf_path]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        return self

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Deployment:
    """Config, daemons and a DB/broker view (a Cluster with no in-process servers).

    ``default`` adds ``[DEFAULT]`` options to every config it writes."""

    def __init__(self, tmp_path: pathlib.Path, broker_url: str, db_url: str,
                 sessions: sessionmaker[Session], transport: Transport,
                 **default: object) -> None:
        self.tmp_path = tmp_path
        self.broker_url = broker_url
        self.db_url = db_url
        self.default = default
        self.node = f"node-{uuid.uuid4().hex[:6]}"
        self.record = tmp_path / "fake-a.jsonl"
        self.daemons: list[Daemon] = []
        self.conf_path = self.write(fake_create_delay=0)
        self.view = Cluster(load([self.conf_path]), sessions, transport, {})
        purge_control_queues(transport)

    def write(self, down_time: int = 3, **backend: object) -> str:
        name = f"c-{len(list(self.tmp_path.glob('c-*.conf')))}.conf"
        return write_conf(self.tmp_path / name, self.broker_url, self.db_url,
                          {"a": {"fake_capacity_gb": 1000, "fake_record_file": self.record,
                                 **backend}},
                          **{"host": self.node, "auth_strategy": "noauth",
                             "service_down_time": down_time, **self.default})

    def start(self, binary: str, conf_path: str | None = None) -> Daemon:
        log = self.tmp_path / f"{binary}.log"
        daemon = Daemon(binary, conf_path or self.conf_path, log).start()
        self.daemons.append(daemon)
        return daemon

    def start_all(self, conf_path: str | None = None) -> tuple[Daemon, Daemon]:
        scheduler = self.start("cinderblock-scheduler", conf_path)
        agent = self.start("cinderblock-volume", conf_path)
        wait_for(lambda: self.view.schedulable() == 1, timeout=30)
        return scheduler, agent

    def recorded(self, volume_id: str) -> list[str]:
        if not self.record.exists():
            return []
        entries = [json.loads(line) for line in self.record.read_text().splitlines()]
        return [e["effect"] for e in entries if e["id"] == volume_id]

    def logs(self) -> str:
        return "\n".join(f"--- {d.log_path.name}\n{d.log()}" for d in self.daemons)
