"""The agents' half of a volume migration: Cinder's generic (host-assisted) copy.

The source agent (the one holding the volume) asks the destination agent to create
the volume on its backend and export it to the source node's initiator, through the
same export path attachments use (its own target, CHAP and an ACL for that one
initiator). It logs in with ``iscsiadm``, copies the volume with ``dd`` (direct I/O,
flushed before logout), logs out, and has the destination remove the export. Any
failure removes the destination's copy and export, and the volume stays where it is.
The source's own copy is deleted only when the controller has recorded the move
(``delete_migration_source``): until then the volume is still the source's.

The destination's LV has the volume's name (``volume-<id>``) in its own VG: the
volume keeps its id, so the controller only swaps ``host`` and the provider fields.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from volume_agent.driver import DriverError, Volume, VolumeDriver

__all__ = ["local_connector", "copy_to", "create_target", "remove_target", "attached",
           "copy_blocks", "TARGET_TIMEOUT"]

LOG = logging.getLogger(__name__)
#: how long the source waits for the destination to create and export the volume
TARGET_TIMEOUT = 300
INITIATOR_FILE = Path("/etc/iscsi/initiatorname.iscsi")
_DISK_WAIT = 30.0

Call = Callable[[str, str, dict[str, Any]], Any]


def local_connector(node: str, initiator_file: Path | None = None) -> dict[str, Any]:
    """This node as an iSCSI initiator, as os-brick describes one."""
    initiator_file = initiator_file or INITIATOR_FILE
    try:
        for line in initiator_file.read_text().splitlines():
            if line.startswith("InitiatorName="):
                return {"initiator": line.split("=", 1)[1].strip(), "host": node,
                        "multipath": False}
    except OSError as exc:
        raise DriverError(f"cannot read this node's iSCSI initiator name: {exc}") from exc
    raise DriverError(f"{initiator_file} names no iSCSI initiator")


def _iscsiadm(*args: str) -> str:
    try:
        done = subprocess.run(["iscsiadm", *args], capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"iscsiadm {' '.join(args[:2])} failed: {exc}") from exc
    if done.returncode != 0:
        raise DriverError(f"iscsiadm {' '.join(a for a in args if 'password' not in a)} "
                          f"failed: {done.stderr.strip()}")
    return done.stdout


def _session_disk(iqn: str) -> str | None:
    """The SCSI disk of the session to ``iqn``: asked of iscsiadm, not of udev's
    by-path links (a storage node may run without udev)."""
    with suppress(DriverError):
        target = None
        for line in _iscsiadm("-m", "session", "-P3").splitlines():
            words = line.split()
            if words[:1] == ["Target:"]:
                target = words[1]
            elif "Attached scsi disk" in line and target == iqn:
                disk = Path("/dev") / words[3]
                if disk.is_block_device():
                    return str(disk)
    return None


@contextmanager
def attached(data: dict[str, Any]) -> Iterator[str]:
    """Log in to the exported volume (``connection_info['data']``); yields its disk."""
    iqn, portal = data["target_iqn"], data["target_portal"]
    node = ("-m", "node", "-T", iqn, "-p", portal)
    _iscsiadm(*node, "-o", "new")
    try:
        for key, value in (("node.session.auth.authmethod", data.get("auth_method", "CHAP")),
                           ("node.session.auth.username", data["auth_username"]),
                           ("node.session.auth.password", data["auth_password"])):
            _iscsiadm(*node, "-o", "update", "-n", key, "-v", value)
        _iscsiadm(*node, "--login")
        try:
            deadline = time.monotonic() + _DISK_WAIT
            while (disk := _session_disk(iqn)) is None:
                if time.monotonic() > deadline:
                    raise DriverError(f"no disk appeared for {iqn} after login")
                time.sleep(0.2)
            yield disk
        finally:
            _iscsiadm(*node, "--logout")
    finally:
        with suppress(DriverError):
            _iscsiadm(*node, "-o", "delete")


def copy_blocks(source: str, dest: str, size_bytes: int) -> None:
    """``dd`` with direct I/O in 4 MiB requests, flushed (fsync) before it returns."""
    args = ["dd", f"if={source}", f"of={dest}", "bs=4M", f"count={size_bytes}",
            "iflag=direct,count_bytes", "oflag=direct", "conv=fsync", "status=none"]
    done = subprocess.run(args, capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C"})
    if done.returncode != 0:
        raise DriverError(f"copy to the destination failed: {done.stderr.strip()}")


def copy_to(driver: VolumeDriver, volume: Volume, destination: dict[str, Any],
            connector: dict[str, Any], call: Call,
            attach: Callable[[dict[str, Any]], Any] = attached,
            copy: Callable[[str, str, int], None] = copy_blocks) -> dict[str, Any]:
    """Copy ``volume`` to a new volume on ``destination['host']``; returns the
    destination's ``provider_location`` and ``provider_auth``. ``call(host, method,
    args)`` asks the destination agent. On failure the destination is cleaned up and
    the error raised."""
    source_path = driver.local_path(volume)
    target = call(destination["host"], "create_migration_target",
                  {"volume": destination, "connector": connector})
    exported = {**destination, **target["model_update"]}
    try:
        with attach(target["data"]) as disk:
            copy(source_path, disk, volume.size << 30)
    except Exception:
        with suppress(Exception):
            call(destination["host"], "remove_migration_target",
                 {"volume": exported, "connector": connector, "delete": True})
        raise
    call(destination["host"], "remove_migration_target",
         {"volume": exported, "connector": connector, "delete": False})
    LOG.info("volume %s copied to %s", volume.id, destination["host"])
    return target["model_update"]


def create_target(driver: VolumeDriver, volume: Volume,
                  connector: dict[str, Any]) -> dict[str, Any]:
    """The destination's step: the volume, exported to the source's initiator. A
    failed export removes the volume again."""
    update = driver.create_volume(volume) or {}
    try:
        info = driver.initialize_connection(replace(volume, **update),
                                            {**connector, "mode": "rw"})
    except Exception:
        with suppress(Exception):
            driver.delete_volume(volume)
        raise
    return {**info, "model_update": {**update, **info.get("model_update", {})}}


def remove_target(driver: VolumeDriver, volume: Volume, connector: dict[str, Any] | None,
                  delete: bool) -> None:
    """Undo the export (every initiator's without ``connector``); ``delete`` removes the
    destination's copy instead, with its whole export, as a failed or abandoned
    migration must (also when the export was never made)."""
    if delete:
        driver.delete_volume(volume)
    else:
        driver.terminate_connection(volume, connector)
