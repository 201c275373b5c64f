"""A backend's capability report, with the keys Cinder's scheduler reads.

Thin pools are reported by the pool's own size and the data it holds, plus the
data and metadata usage Cinder leaves out: a pool whose metadata fills up fails
every write, whatever its free space says.
"""

from __future__ import annotations

from typing import Any

from common.config import Section
from volume_agent.lvm import GiB, LogicalVolume, VolumeGroup

__all__ = ["pool_report", "DRIVER_VERSION"]

DRIVER_VERSION = "1.0.0"


def _gb(size_bytes: float) -> float:
    return round(size_bytes / GiB, 2)


def pool_report(conf: Section, backend_name: str, thin: bool, vg: VolumeGroup,
                lvs: dict[str, LogicalVolume], pool_lv: str) -> dict[str, Any]:
    """One pool per backend, named like the backend, as Cinder's LVM driver does."""
    volumes = [lv for lv in lvs.values() if lv.name.startswith("volume-")]
    snapshots = [lv for lv in lvs.values() if lv.name.startswith("_snapshot-")]
    pool: dict[str, Any] = {
        "pool_name": backend_name,
        "volume_backend_name": backend_name,
        "vendor_name": "Open Source",
        "driver_version": DRIVER_VERSION,
        "storage_protocol": "iSCSI",
        "reserved_percentage": conf.reserved_percentage,
        "max_over_subscription_ratio": conf.max_over_subscription_ratio,
        "thin_provisioning_support": thin,
        "thick_provisioning_support": not thin,
        "total_volumes": len(volumes) + len(snapshots),
        "allocated_capacity_gb": _gb(sum(lv.size for lv in volumes)),
        "multiattach": True,
        "QoS_support": False,
        "backend_state": "up",
    }
    thin_pool = lvs.get(pool_lv)
    if thin and thin_pool is not None:
        free = thin_pool.size * (1 - (thin_pool.data_percent or 0.0) / 100)
        pool.update(
            total_capacity_gb=_gb(thin_pool.size),
            free_capacity_gb=_gb(free),
            provisioned_capacity_gb=_gb(sum(lv.size for lv in lvs.values() if lv.is_thin)),
            thin_pool_total_gb=_gb(thin_pool.size),
            thin_pool_free_gb=_gb(free),
            pool_data_percent=thin_pool.data_percent or 0.0,
            pool_metadata_percent=thin_pool.metadata_percent or 0.0)
    else:
        pool.update(total_capacity_gb=_gb(vg.size), free_capacity_gb=_gb(vg.free),
                    provisioned_capacity_gb=_gb(vg.size - vg.free))
    return pool
