"""The controller side of the walkthrough, on the host: the real ``cinderblock-api`` and
``cinderblock-scheduler`` binaries on SQLite and a private RabbitMQ vhost, as the install
guide sets them up (``cinderblock-manage db sync``, noauth), and a small API client.
"""

from __future__ import annotations

import pathlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
BIN = pathlib.Path(sys.executable).parent
PROJECT = "9c1e7b2d4a6c8e0f1a2b3c4d5e6f5a3f"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 120,
              interval: float = 0.5) -> T:
    """``probe()``'s first truthy answer; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Controller:
    """API and scheduler processes; ``stop()`` ends them and removes the vhost."""

    def __init__(self, workdir: pathlib.Path) -> None:
        self.workdir = workdir
        self.vhost = f"cinderblock-e2e-{uuid.uuid4().hex[:12]}"
        self.port = _free_port()
        self.conf = workdir / "cinderblock.conf"
        self.procs: list[tuple[subprocess.Popen[bytes], pathlib.Path]] = []

    def broker_url(self, host: str) -> str:
        return f"rabbit://guest:guest@{host}:5672/{self.vhost}"

    def start(self) -> Controller:
        _rabbitmqctl("add_vhost", self.vhost)
        _rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.conf.write_text(
            "[DEFAULT]\nhost = controller\nauth_strategy = noauth\n"
            f"transport_url = {self.broker_url('127.0.0.1')}\n"
            f"osapi_volume_listen = 127.0.0.1\nosapi_volume_listen_port = {self.port}\n"
            "report_interval = 2\nrpc_response_timeout = 60\n"
            f"[database]\nconnection = sqlite:///{self.workdir / 'cinderblock.sqlite'}\n")
        subprocess.run([str(BIN / "cinderblock-manage"), "--config-file", str(self.conf),
                        "db", "sync"], check=True, capture_output=True, timeout=120)
        for binary in ("cinderblock-scheduler", "cinderblock-api"):
            log = self.workdir / f"{binary}.log"
            with log.open("wb") as out:
                self.procs.append((subprocess.Popen(
                    [str(BIN / binary), "--config-file", str(self.conf)],
                    stdout=out, stderr=subprocess.STDOUT), log))
        wait_for("the API to listen", self._listening, timeout=60)
        return self

    def _listening(self) -> bool:
        for proc, log in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"{log.name} exited:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/", timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.procs)

    def stop(self) -> None:
        for proc, _ in self.procs:
            proc.terminate()
        for proc, _ in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        _rabbitmqctl("delete_vhost", self.vhost)

    def api(self) -> Api:
        return Api(f"http://127.0.0.1:{self.port}")


class Api:
    """Speaks to ``/v3/{project}`` as an admin with noauth, at the newest microversion
    each call needs."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=f"{base_url}/v3/{PROJECT}", timeout=90, headers={
            "X-Auth-Token": f"admin:{PROJECT}", "OpenStack-API-Version": "volume 3.54"})

    def call(self, method: str, path: str, expect: int, **kw: Any) -> Any:
        response = self.http.request(method, path, **kw)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def volume(self, volume_id: str) -> dict[str, Any]:
        return self.call("GET", f"/volumes/{volume_id}", 200)["volume"]

    def action(self, volume_id: str, body: dict[str, Any], expect: int = 202) -> Any:
        return self.call("POST", f"/volumes/{volume_id}/action", expect, json=body)

    def wait_status(self, volume_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            body = self.volume(volume_id)
            assert body["status"] not in ("error", "error_deleting"), body
            return body if body["status"] == status else None
        return wait_for(f"volume {volume_id} to be {status}", reached, timeout)

    def services(self) -> dict[tuple[str, str], str]:
        return {(s["binary"], s["host"]): s["state"]
                for s in self.call("GET", "/os-services", 200)["services"]}
