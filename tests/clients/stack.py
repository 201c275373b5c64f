"""cinderblock behind a real Keystone, as the clients and Tempest meet it.

The real binaries (``cinderblock-api`` with ``auth_strategy = keystone``, the
scheduler, and ``cinderblock-volume`` on the recorded fake backend: the control plane
is what is under test here, not LVM) on SQLite and a RabbitMQ vhost of their own, so
other test sessions on the shared broker cannot take their messages. Keystone lists
the API in its catalog as ``volumev3``; clients find it there, as a user's would.

By hand: ``python -m tests.clients.stack`` runs it all in the foreground and prints
an openrc for each user.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.keystone.server import Keystone, free_port, start

__all__ = ["Stack", "running", "BACKEND"]

BIN = Path(sys.executable).parent
# The fake backend's section; its volume_backend_name is what types can select.
BACKEND = "fake1"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@dataclass
class Stack:
    keystone: Keystone
    api_port: int
    workdir: Path
    vhost: str
    processes: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def config(self) -> str:
        return (
            "[DEFAULT]\nauth_strategy = keystone\nhost = clients\n"
            f"transport_url = rabbit://guest:guest@127.0.0.1:5672/{self.vhost}\n"
            f"osapi_volume_listen = 127.0.0.1\nosapi_volume_listen_port = {self.api_port}\n"
            f"enabled_backends = {BACKEND}\nreport_interval = 2\n"
            "rpc_response_timeout = 30\n"
            f"[database]\nconnection = sqlite:///{self.workdir / 'cinderblock.sqlite'}\n"
            f"{self.keystone.authtoken_section()}"
            f"[{BACKEND}]\nvolume_driver = fake\nvolume_backend_name = {BACKEND}\n"
            "fake_capacity_gb = 10000\n")

    def start(self) -> None:
        conf = self.workdir / "cinderblock.conf"
        conf.write_text(self.config())
        subprocess.run([str(BIN / "cinderblock-manage"), "--config-file", str(conf),
                        "db", "sync"], check=True, capture_output=True, timeout=120)
        for binary in ("cinderblock-scheduler", "cinderblock-volume", "cinderblock-api"):
            log = self.workdir / f"{binary}.log"
            with log.open("wb") as out:
                self.processes.append((subprocess.Popen(
                    [str(BIN / binary), "--config-file", str(conf)],
                    stdout=out, stderr=subprocess.STDOUT), log))
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        """Until the API answers and the fake backend's pool is up in ``os-services``."""
        token, body = self.keystone.token("admin")
        url = f"{self.api_url}/v3/{body['project']['id']}/os-services"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process, log in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{log.name} exited:\n{log.read_text()[-3000:]}")
            try:
                response = httpx.get(url, headers={"X-Auth-Token": token}, timeout=5)
                up = [s for s in response.json().get("services", [])
                      if s["binary"].endswith("-volume") and s["state"] == "up"]
                if response.status_code == 200 and up:
                    return
            except (httpx.TransportError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"cinderblock not ready within {timeout:g} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}"
                         for _, log in self.processes)

    def stop(self) -> None:
        for process, _ in self.processes:
            process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def running(workdir: Path) -> Iterator[Stack]:
    """Keystone and cinderblock serving from ``workdir``, all stopped afterwards."""
    api_port = free_port()
    keystone_dir = workdir / "keystone"
    keystone_dir.mkdir(parents=True, exist_ok=True)
    keystone = start(keystone_dir, api_port=api_port)
    vhost = f"cinderblock-clients-{uuid.uuid4().hex[:12]}"
    stack = Stack(keystone, api_port, workdir, vhost)
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        stack.start()
        yield stack
    finally:
        stack.stop()
        keystone.stop()
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True,
                       timeout=60)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="cinderblock-clients-"))
    # SIGTERM (kill, timeout) must stop the services too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with running(workdir) as stack:
        for user in stack.keystone.users:
            print(f"# {user}\n{stack.keystone.openrc(user)}\n")
        print(f"# cinderblock {stack.api_url} (state in {workdir}); Ctrl-C stops it",
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
