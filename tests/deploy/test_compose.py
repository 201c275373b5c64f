"""The compose deployment's contract: each cinderblock service starts through the image's
one entrypoint script, and the volume service gets what LVM and LIO need.

No Docker engine runs on this machine's host (see `make compose-test`, which is not built
yet), so this checks the files, not a running stack: their contract here, and their schema
with docker-compose v1 itself when it is installed (``CINDERBLOCK_DOCKER_COMPOSE`` names
the binary; pip's docker-compose 1.29.2 needs no engine for ``config``).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVICES = {"db-sync", "api", "scheduler", "volume"}


def _compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]


def test_every_part_of_the_system_is_a_service() -> None:
    assert set(_compose()) >= SERVICES | {"mariadb", "rabbitmq", "make-vg"}


def test_cinderblock_services_start_through_the_service_script() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/cinderblock-service"]' in dockerfile
    assert "COPY etc/cinderblock-service /usr/bin/cinderblock-service" in dockerfile
    services = _compose()
    for name in SERVICES:
        assert services[name]["command"] == [name], name
        assert "entrypoint" not in services[name], name
    known = re.search(r"declare -A modules=\((.*?)\)", (REPO / "etc/cinderblock-service")
                      .read_text(), re.S)
    assert known and all(f"[{name}]=" in known.group(1) for name in SERVICES)


def test_volume_service_is_privileged_on_the_host_network_with_storage_mounts() -> None:
    volume = _compose()["volume"]
    assert volume["privileged"] is True
    assert volume["network_mode"] == "host"
    assert volume["user"] == "root"
    mounts = {entry.split(":")[1] for entry in volume["volumes"]}
    assert mounts >= {"/dev", "/sys/kernel/config", "/lib/modules", "/run/lvm",
                      "/run/lock/lvm", "/etc/rtslib-fb-target"}


def test_the_volume_service_waits_for_the_volume_group() -> None:
    services = _compose()
    assert services["make-vg"]["entrypoint"] == ["/usr/bin/cinderblock-make-vg"]
    assert services["volume"]["depends_on"]["make-vg"]["condition"] == \
        "service_completed_successfully"
    assert services["api"]["depends_on"]["db-sync"]["condition"] == \
        "service_completed_successfully"


@pytest.mark.skipif(
    not (os.environ.get("CINDERBLOCK_DOCKER_COMPOSE") or shutil.which("docker-compose")),
    reason="docker-compose is not installed")
@pytest.mark.parametrize("files", [["docker-compose.yml"],
                                   ["docker-compose.yml", "etc/compose/keystone.yml"]],
                         ids=["base", "keystone"])
def test_docker_compose_v1_accepts_the_files(files: list[str]) -> None:
    binary = os.environ.get("CINDERBLOCK_DOCKER_COMPOSE") or shutil.which("docker-compose")
    assert binary
    args = [arg for name in files for arg in ("-f", name)]
    result = subprocess.run([binary, *args, "config", "-q"], cwd=REPO, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
