"""The interface both systems are driven through, so every figure treats them alike."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path

from bench import infra, procs
from bench.client import FAILURES, Api

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
    #: console scripts are ``<prefix>-api``, ``<prefix>-manage`` ...
    prefix: str
    database: str
    vhost: str
    #: roles os-services must list as up (a binary named ``*-<role>``) before it is started
    roles: tuple[str, ...] = ("scheduler", "volume")

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = infra.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._procs: list[subprocess.Popen] = []
        self._started_at = 0.0

    @abstractmethod
    def install(self) -> None:
        """Set ``self.bin``, the directory of the console scripts (may take minutes the
        first time)."""

    @abstractmethod
    def own_config(self) -> dict[str, dict[str, str]]:
        """Options only this system needs, by section, on top of ``shared_config``."""

    def db_sync(self, config: Path) -> None:
        """Create the schema in the (empty) database: both have ``<prefix>-manage db sync``."""
        run_checked([str(self.bin / f"{self.prefix}-manage"), "--config-file", str(config),
                     "db", "sync"], self.workdir / "db-sync.log", f"{self.prefix}-manage db sync")

    def service_commands(self, config: Path) -> dict[str, list[str]]:
        """Both split into ``<prefix>-api``, ``-scheduler`` and ``-volume``."""
        return {f"{self.prefix}-{s}": [str(self.bin / f"{self.prefix}-{s}"),
                                       "--config-file", str(config)]
                for s in ("api", "scheduler", "volume")}

    def shared_config(self) -> dict[str, dict[str, str]]:
        """What both systems are configured alike with; cinder.conf names serve both."""
        return {
            "DEFAULT": {"auth_strategy": "noauth", "transport_url": infra.rabbit_url(self.vhost),
                        "enabled_backends": "fake", "host": "bench",
                        "osapi_volume_listen": "127.0.0.1",
                        "osapi_volume_listen_port": str(self.port),
                        "quota_volumes": "-1", "quota_snapshots": "-1", "quota_gigabytes": "-1"},
            "database": {"connection": infra.mysql_url(self.database)},
            "fake": {"volume_backend_name": "fake"},
        }

    def write_config(self) -> Path:
        config = configparser.ConfigParser(interpolation=None)
        config.read_dict(self.shared_config())
        config.read_dict(self.own_config())
        path = self.workdir / "service.conf"
        with open(path, "w") as out:
            config.write(out)
        return path

    def prepare(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
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
                up = {s["binary"].rpartition("-")[2] for s in services
                      if s.get("state") == "up"}
                if set(self.roles) <= up:
                    return time.perf_counter() - self._started_at
                if time.perf_counter() - self._started_at > timeout:
                    raise TimeoutError(f"{self.name}: services not up after {timeout:.0f} s "
                                       f"(seen: {sorted(up)}); logs in {self.workdir}")
                time.sleep(UP_POLL_INTERVAL)
        finally:
            api.close()

    def wait_serving(self, timeout: float = 180.0) -> float:
        """Seconds from ``start`` until a volume created now becomes available.

        os-services can say up before the scheduler knows any backend (Cinder's volume
        service reports capabilities on a 60 s period, and a report sent before the
        scheduler listens is lost), so this is when the system really serves. Creates
        that fail meanwhile are retried each second and cleaned up.
        """
        api = Api(self.endpoint, ADMIN_PROJECT)
        try:
            while True:
                self._check_alive()
                t0 = time.perf_counter()
                try:
                    api.wait_available(api.create_volume("probe"), t0)
                    return time.perf_counter() - self._started_at
                except FAILURES:
                    if time.perf_counter() - self._started_at > timeout:
                        raise TimeoutError(f"{self.name}: no volume became available within "
                                           f"{timeout:.0f} s; logs in {self.workdir}") from None
                    time.sleep(1)
        finally:
            for volume_id in api.volume_ids():
                api.purge_volume(volume_id)
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

    def cpu_seconds(self) -> float:
        return procs.cpu_seconds(self.pids())

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
