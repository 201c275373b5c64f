"""A recorded fake backend: an in-memory pool of a configured size, no storage at all.

For tests and benchmarks of the layers above the driver contract (messaging,
scheduling, the agent's handlers). It keeps the contract's idempotency rules and
records every call; with a record file the volumes and the record survive a
restart, so a test can count how often work was really done across a kill -9.
Never use it to claim anything about LVM or LIO.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from volume_agent.driver import (
    DriverError,
    Export,
    ReconcileReport,
    Snapshot,
    Volume,
)

__all__ = ["FakeVolumeDriver"]


class FakeVolumeDriver:
    """Implements ``VolumeDriver``. ``calls`` holds ``(method, id, effect)`` tuples; the
    effect says what really happened (``created`` versus ``exists``)."""

    def __init__(self, pool_name: str, capacity_gb: int = 1000, *,
                 record_file: str | None = None, create_delay: float = 0.0,
                 delete_delay: float = 0.0,
                 reserved_percentage: int = 0, thin: bool = False,
                 max_over_subscription_ratio: float = 20.0,
                 fail_creates: bool = False) -> None:
        self.pool_name = pool_name
        self.capacity_gb = capacity_gb
        self.record_file = record_file
        self.create_delay = create_delay
        self.delete_delay = delete_delay
        self.reserved_percentage = reserved_percentage
        self.thin = thin
        self.max_over_subscription_ratio = max_over_subscription_ratio
        self.fail_creates = fail_creates
        self.volumes: dict[str, int] = {}
        self.exports: dict[str, tuple[str, ...]] = {}
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._replay()

    def _replay(self) -> None:
        if not self.record_file or not os.path.exists(self.record_file):
            return
        with open(self.record_file, encoding="utf-8") as handle:
            for line in handle:
                entry = json.loads(line)
                self._apply(entry["method"], entry["id"], entry["effect"], entry.get("size"))
                self.calls.append((entry["method"], entry["id"], entry["effect"]))

    def _apply(self, method: str, volume_id: str, effect: str, size: int | None) -> None:
        if effect in ("created", "extended"):
            self.volumes[volume_id] = int(size or 0)
        elif effect == "deleted":
            self.volumes.pop(volume_id, None)

    def _record(self, method: str, volume_id: str, effect: str, size: int | None = None) -> None:
        self._apply(method, volume_id, effect, size)
        self.calls.append((method, volume_id, effect))
        if self.record_file:
            with open(self.record_file, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"method": method, "id": volume_id, "effect": effect,
                                         "size": size}) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    @property
    def used_gb(self) -> int:
        return sum(self.volumes.values())

    def check_setup(self) -> None:
        if self.capacity_gb < 0:
            raise DriverError("fake backend capacity must not be negative")

    def create_volume(self, volume: Volume) -> dict[str, Any]:
        with self._lock:
            if volume.id in self.volumes:
                self._record("create_volume", volume.id, "exists", volume.size)
            else:
                if self.fail_creates:
                    self._record("create_volume", volume.id, "failed")
                    raise DriverError(f"fake backend {self.pool_name} refuses to create")
                if not self.thin and self.used_gb + volume.size > self.capacity_gb:
                    self._record("create_volume", volume.id, "no-space")
                    raise DriverError(f"not enough space in {self.pool_name} for "
                                      f"{volume.size} GiB")
                self._record("create_volume", volume.id, "created", volume.size)
        if self.create_delay:
            time.sleep(self.create_delay)
        return {"provider_location": f"fake:{self.pool_name}/volume-{volume.id}"}

    def delete_volume(self, volume: Volume) -> None:
        with self._lock:
            effect = "deleted" if volume.id in self.volumes else "absent"
            self.exports.pop(volume.id, None)
            self._record("delete_volume", volume.id, effect)
        if self.delete_delay:
            time.sleep(self.delete_delay)

    def local_path(self, volume: Volume) -> str:
        raise DriverError(f"volume {volume.id}: the fake driver holds no data to copy")

    def extend_volume(self, volume: Volume, new_size: int) -> None:
        with self._lock:
            if volume.id not in self.volumes:
                raise DriverError(f"volume {volume.id} does not exist")
            self._record("extend_volume", volume.id, "extended", new_size)

    def create_snapshot(self, snapshot: Snapshot) -> dict[str, Any]:
        with self._lock:
            self._record("create_snapshot", snapshot.id, "created")
        return {}

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._record("delete_snapshot", snapshot.id, "deleted")

    def revert_to_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        with self._lock:
            if volume.id not in self.volumes:
                raise DriverError(f"volume {volume.id} does not exist")
            self._record("revert_to_snapshot", volume.id, "reverted")

    def initialize_connection(self, volume: Volume, connector: dict[str, Any]
                              ) -> dict[str, Any]:
        with self._lock:
            initiators = set(self.exports.get(volume.id, ()))
            initiators.add(connector.get("initiator", ""))
            self.exports[volume.id] = tuple(sorted(initiators))
            self._record("initialize_connection", volume.id, "exported")
        return {"driver_volume_type": "fake",
                "data": {"volume_id": volume.id, "target_lun": 0},
                "model_update": {"provider_auth": None}}

    def terminate_connection(self, volume: Volume, connector: dict[str, Any] | None) -> None:
        with self._lock:
            remaining = set(self.exports.get(volume.id, ()))
            if connector is None:
                remaining.clear()
            else:
                remaining.discard(connector.get("initiator", ""))
            if remaining:
                self.exports[volume.id] = tuple(sorted(remaining))
            else:
                self.exports.pop(volume.id, None)
            self._record("terminate_connection", volume.id, "unexported")

    def get_pools(self) -> list[dict[str, Any]]:
        with self._lock:
            used = self.used_gb
        return [{
            "pool_name": self.pool_name,
            # Cinder's capabilities schema requires a driver version string.
            "driver_version": "1.0.0",
            "total_capacity_gb": self.capacity_gb,
            "free_capacity_gb": max(0, self.capacity_gb - used),
            "provisioned_capacity_gb": used,
            "allocated_capacity_gb": used,
            "reserved_percentage": self.reserved_percentage,
            "thin_provisioning_support": self.thin,
            "thick_provisioning_support": not self.thin,
            "max_over_subscription_ratio": self.max_over_subscription_ratio,
            "multiattach": False,
        }]

    def reconcile_exports(self, exports: list[Export]) -> ReconcileReport:
        report = ReconcileReport()
        with self._lock:
            wanted = {export.volume.id: tuple(sorted(export.initiators)) for export in exports}
            for volume_id in set(self.exports) - set(wanted):
                report.targets_removed.append(volume_id)
            for volume_id in set(wanted) - set(self.exports):
                report.targets_created.append(volume_id)
            self.exports = wanted
        return report

    def remove_orphans(self, known: set[str]) -> list[str]:
        with self._lock:
            orphans = sorted(set(self.volumes) - known)
            for volume_id in orphans:
                self.exports.pop(volume_id, None)
                self._record("remove_orphan", volume_id, "deleted")
        return orphans
