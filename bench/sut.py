"""The interface both systems are driven through, so every figure treats them alike."""

from __future__ import annotations

import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path

from bench import infra, procs
from bench.client import Api

# noauth accepts any hex project id; this one only checks services.
ADMIN_PROJECT = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
UP_POLL_INTERVAL = 0.05


class ServiceDied(RuntimeError):
    """A service process of the system exited while it should be running."""


class SystemUnderTest(ABC):
    """A block-storage control plane: its processes, its database, its vhost, its port.

    ``prepare`` (install, configure, schema) is not timed; ``start`` to ``wait_up``
    is the start-up figure; ``stop`` ends every process it started, children included.
    """

    name: str
    database: str
    vhost: str
    #: binaries os-services must list as up before the system counts as started
    binaries: tuple[str, ...]

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = infra.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._procs: list[subprocess.Popen] = []
        self._started_at = 0.0

    @abstractmethod
    def install(self) -> None:
        """Make the binaries available (may take minutes the first time)."""

    @abstractmethod
    def write_config(self) -> Path:
        """Write the service configuration into the workdir; returns its path."""

    @abstractmethod
    def db_sync(self, config: Path) -> None:
        """Create the schema in the (empty) database."""

    @abstractmethod
    def service_commands(self, config: Path) -> dict[str, list[str]]:
        """Service name to argv, for every long-running process of the system."""

    def prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.install()
        infra.reset_database(self.database)
        infra.reset_vhost(self.vhost)
        self.config = self.write_config()
        self.db_sync(self.config)

    def start(self) -> None:
        self._started_at = time.perf_counter()
        for service, argv in self.service_commands(self.config).items():
            self._procs.append(procs.launch(argv, self.workdir / f"{service}.log"))

    def wait_up(self, timeout: float = 180.0) -> float:
        """Seconds from ``start`` until os-services shows every binary up."""
        api = Api(self.endpoint, ADMIN_PROJECT)
        try:
            while True:
                self._check_alive()
                services = api.services() or []
                up = {s["binary"] for s in services if s.get("state") == "up"}
                if set(self.binaries) <= up:
                    return time.perf_counter() - self._started_at
                if time.perf_counter() - self._started_at > timeout:
                    raise TimeoutError(f"{self.name}: services not up after {timeout:.0f} s "
                                       f"(seen: {sorted(up)}); logs in {self.workdir}")
                time.sleep(UP_POLL_INTERVAL)
        finally:
            api.close()

    def _check_alive(self) -> None:
        for p in self._procs:
            if p.poll() is not None:
                raise ServiceDied(f"{self.name}: {' '.join(p.args[:1])} exited with "
                                  f"{p.returncode}; logs in {self.workdir}")

    def pids(self) -> list[int]:
        return procs.session_members(p.pid for p in self._procs)

    def rss_mib(self) -> float:
        return procs.rss_kib(self.pids()) / 1024

    def stop(self) -> None:
        procs.terminate(self._procs)
        self._procs = []

    def drop_state(self) -> None:
        """Remove the database and vhost (the workdir with logs stays for reading)."""
        infra.drop_database(self.database)
        infra.delete_vhost(self.vhost)


def run_checked(argv: list[str], log: Path, what: str) -> None:
    """Run a set-up command, its output in ``log``; a failure names the log."""
    with open(log, "ab") as out:
        if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT).returncode:
            raise RuntimeError(f"{what} failed; see {log}")
