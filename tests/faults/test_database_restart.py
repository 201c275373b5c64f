"""The database server (PostgreSQL, then MariaDB) stopped and started under API traffic:
requests in flight or during the outage answer 503 in Cinder's body (never a 500,
never a dropped connection), the same API process serves again once the server is
back, and the work the scheduler lost meanwhile is finished by the sweeper.

Other tests of the machine may use the same servers at the time, so the outage is
kept to a few seconds and the server is started again whatever happens."""

from __future__ import annotations

import collections
import os
import pathlib
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import Transport
from tests.faults.cluster import Api, check_end_state, running
from tests.messaging.cluster import Deployment, wait_for

OUTAGE_SECONDS = 3


@dataclass(frozen=True)
class Server:
    """How this machine stops and starts one database server (the machine page of env
    gives the start commands)."""

    name: str
    stop_command: list[str]
    start_command: list[str]
    ready_command: list[str]

    def _run(self, command: list[str]) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(command, capture_output=True, timeout=120)

    def stop(self) -> None:
        self._run(self.stop_command).check_returncode()

    def ready(self) -> bool:
        return self._run(self.ready_command).returncode == 0

    def start(self) -> None:
        """Start and wait until it takes connections (MariaDB's start returns at once)."""
        self._run(self.start_command).check_returncode()
        wait_for(self.ready, timeout=60)


def _postgresql() -> Server:
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect",
               sorted(os.listdir("/etc/postgresql"))[-1], "main"]
    return Server("PostgreSQL", [*cluster, "stop"], [*cluster, "start"],
                  ["pg_isready", "-h", "127.0.0.1", "-q"])


def _mariadb() -> Server:
    daemon = ["start-stop-daemon", "--oknodo", "--exec", "/usr/sbin/mariadbd"]
    # TERM is MariaDB's clean shutdown; the retry waits until the process is gone.
    return Server("MariaDB", [*daemon, "--stop", "--retry", "TERM/60"],
                  [*daemon, "--start", "--background"],
                  ["mariadb-admin", "-h", "127.0.0.1", "-u", "root", "--silent", "ping"])


SERVERS = {"postgresql": _postgresql, "mysql": _mariadb}


@pytest.fixture
def server(db_url: str) -> Server:
    make = SERVERS.get(db_url.split(":", 1)[0].split("+", 1)[0])
    if make is None:
        pytest.skip("the restart fault needs a database server (PostgreSQL or MariaDB)")
    return make()


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str, db_url: str, server: Server,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    with running(tmp_path, broker_url, db_url, session_factory, transport) as made:
        yield made


class Traffic:
    """Creates and lists in a loop, counting the answers."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.answers: collections.Counter[str] = collections.Counter()
        self.bad: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.is_set():
            for method, path, body in (("POST", "/volumes", {"volume": {"size": 1}}),
                                       ("GET", "/volumes/detail", None)):
                try:
                    response = self.api.client.request(method, path, json=body)
                except httpx.TransportError as exc:
                    self.bad.append(f"{method} {path}: {exc!r}")
                    continue
                self.answers[str(response.status_code)] += 1
                if response.status_code == 503:
                    assert "serviceUnavailable" in response.json(), response.text
                elif response.status_code not in (200, 202):
                    self.bad.append(f"{method} {path}: {response.status_code} "
                                    f"{response.text}")

    def ok_since(self, mark: int) -> bool:
        return self.answers["200"] > mark


def test_database_restart_during_api_traffic(
        deployment: Deployment, server: Server, session_factory: sessionmaker[Session],
        summary: list[str]) -> None:
    started = time.monotonic()
    # An outage shorter than service_down_time and stuck_task_timeout, as in production
    # (60 s and 600 s): agents must not look down for the silence it causes.
    deployment.default["stuck_task_timeout"] = 3 * OUTAGE_SECONDS
    deployment.start_all(deployment.write(down_time=3 * OUTAGE_SECONDS))
    api = Api(deployment).start()
    traffic = Traffic(api)
    traffic.thread.start()
    try:
        wait_for(lambda: traffic.answers["202"] >= 3)
        server.stop()
        time.sleep(OUTAGE_SECONDS)
    finally:
        if not server.ready():
            server.start()
    back = time.monotonic()
    mark = traffic.answers["200"]
    wait_for(lambda: traffic.ok_since(mark), timeout=30)
    recovered = time.monotonic() - back
    time.sleep(1)
    traffic.stop.set()
    traffic.thread.join(timeout=60)
    api.close()

    assert not traffic.bad, (traffic.bad[:5], deployment.logs()[-8000:])
    assert traffic.answers["503"] >= 1, dict(traffic.answers)
    volumes = check_end_state(deployment, session_factory, timeout=60)
    assert {v.status for v in volumes.values()} == {"available"}, \
        [v.status_reason for v in volumes.values()]
    assert len(volumes) == traffic.answers["202"]
    summary.append(f"{server.name} down {OUTAGE_SECONDS}s under API traffic: "
                   f"{dict(sorted(traffic.answers.items()))}, served again {recovered:.1f}s "
                   f"after start without an API restart, {len(volumes)} volumes available "
                   f"({time.monotonic() - started:.0f}s)")
