"""``cinderblock-api`` serves the API from a config file with several uvicorn workers."""

from __future__ import annotations

import pathlib
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.api.conftest import PROJECT, headers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def api_server(tmp_path: pathlib.Path, db_url: str) -> str:
    port = _free_port()
    conf = tmp_path / "cinderblock.conf"
    conf.write_text(f"[DEFAULT]\nauth_strategy = noauth\nosapi_volume_listen = 127.0.0.1\n"
                    f"osapi_volume_listen_port = {port}\nosapi_volume_workers = 2\n"
                    f"[database]\nconnection = {db_url}\n")
    process = subprocess.Popen([sys.executable, "-c", "from api.cmd import main; main()",
                                "--config-file", str(conf)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serves_from_config_file(api_server: str) -> None:
    assert httpx.get(api_server + "/").status_code == 300
    listed = httpx.get(f"{api_server}/v3/{PROJECT}/volumes", headers=headers())
    assert listed.status_code == 200 and listed.json() == {"volumes": []}
    assert listed.headers["x-openstack-request-id"].startswith("req-")
