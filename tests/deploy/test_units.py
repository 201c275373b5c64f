"""The systemd units and the one script every deployment starts services with."""

from __future__ import annotations

import configparser
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SERVICE = REPO / "etc" / "cinderblock-service"
UNITS = sorted((REPO / "etc" / "systemd").glob("*.service"))


def test_there_is_a_unit_for_each_binary_and_the_schema_sync() -> None:
    assert [unit.name for unit in UNITS] == [
        "cinderblock-api.service", "cinderblock-db-sync.service",
        "cinderblock-scheduler.service", "cinderblock-volume.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_verify_with_the_service_script(tmp_path: pathlib.Path) -> None:
    for unit in UNITS:
        text = unit.read_text().replace("/usr/bin/cinderblock-service", str(SERVICE))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / u.name) for u in UNITS)],
        capture_output=True, text=True, env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
        check=False)
    assert result.returncode == 0, result.stderr
    assert "cinderblock" not in result.stderr, result.stderr


def _exec_start(unit: pathlib.Path) -> str:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(unit.read_text())
    return parser["Service"]["ExecStart"]


def test_units_start_services_only_through_the_service_script() -> None:
    wanted = {"cinderblock-api.service": "api", "cinderblock-scheduler.service": "scheduler",
              "cinderblock-volume.service": "volume", "cinderblock-db-sync.service": "db-sync"}
    assert {unit.name: _exec_start(unit) for unit in UNITS} == {
        name: f"/usr/bin/cinderblock-service {service}" for name, service in wanted.items()}


def test_volume_unit_keeps_devices_and_configfs_reachable() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string((REPO / "etc/systemd/cinderblock-volume.service").read_text())
    service = parser["Service"]
    assert service["User"] == "root"
    for breaking in ("PrivateDevices", "ProtectKernelTunables", "ProtectKernelModules"):
        assert service.get(breaking, "no") == "no", breaking


def _service(*args: str, config: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CINDERBLOCK_PYTHON": sys.executable,
           "CINDERBLOCK_CONFIG_FILES": f"{config}:{config.with_suffix('.override')}"}
    return subprocess.run([str(SERVICE), *args], capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)


def test_service_script_passes_every_config_file_in_order(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "cinderblock.conf"
    config.write_text("[DEFAULT]\nhost = first\nstorage_availability_zone = az1\n")
    config.with_suffix(".override").write_text("[DEFAULT]\nhost = second\n")
    result = _service("manage", "config", "dump", config=config)
    assert result.returncode == 0, result.stderr
    assert "host = second" in result.stdout
    assert "storage_availability_zone = az1" in result.stdout


def test_service_script_refuses_an_unknown_service(tmp_path: pathlib.Path) -> None:
    result = _service("cinder-backup", config=tmp_path / "none.conf")
    assert result.returncode == 2
    assert "usage" in result.stderr
