"""Filters keep or drop pools exactly as Cinder's would."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.filters import (
    AvailabilityZoneFilter,
    CapabilitiesFilter,
    CapacityFilter,
    RequestSpec,
    make_filters,
)
from scheduler.host_manager import PoolState


def pool(allocated: int = 0, zone: str | None = "nova", **caps: Any) -> PoolState:
    return PoolState("node@lvm#lvm", caps, allocated, zone, 1)


THICK = {"thin_provisioning_support": False, "thick_provisioning_support": True}
THIN = {"thin_provisioning_support": True, "thick_provisioning_support": False}

CAPACITY_CASES = [
    # (capabilities, controller-allocated GB, requested GB, extra specs, passes)
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, **THICK}, 0, 50, {}, True),
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, **THICK}, 0, 51, {}, False),
    # the reserve is a percentage of the total, rounded down
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, "reserved_percentage": 10, **THICK},
     0, 40, {}, True),
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, "reserved_percentage": 10, **THICK},
     0, 41, {}, False),
    ({"total_capacity_gb": 99, "free_capacity_gb": 50, "reserved_percentage": 10, **THICK},
     0, 41, {}, True),
    # placed but not yet reported volumes are taken off the reported free space
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, "provisioned_capacity_gb": 50, **THICK},
     60, 41, {}, False),
    ({"total_capacity_gb": 100, "free_capacity_gb": 50, "provisioned_capacity_gb": 50, **THICK},
     60, 40, {}, True),
    # unknown sizes
    ({"total_capacity_gb": 100, **THICK}, 0, 1, {}, False),
    ({"total_capacity_gb": "infinite", "free_capacity_gb": "infinite"}, 0, 10**6, {}, True),
    ({"total_capacity_gb": 100, "free_capacity_gb": "unknown"}, 0, 10**6, {}, True),
    ({"total_capacity_gb": "unknown", "free_capacity_gb": 10}, 0, 5, {}, True),
    ({"total_capacity_gb": "unknown", "free_capacity_gb": 10, "reserved_percentage": 5},
     0, 5, {}, False),
    ({"total_capacity_gb": 0, "free_capacity_gb": 0}, 0, 1, {}, False),
    # thin: provisioned/total may reach the ratio, and free × ratio must hold the volume
    ({"total_capacity_gb": 100, "free_capacity_gb": 100, "provisioned_capacity_gb": 150,
      "max_over_subscription_ratio": 2.0, **THIN}, 150, 50, {}, True),
    ({"total_capacity_gb": 100, "free_capacity_gb": 100, "provisioned_capacity_gb": 150,
      "max_over_subscription_ratio": 2.0, **THIN}, 150, 51, {}, False),
    ({"total_capacity_gb": 100, "free_capacity_gb": 10, "provisioned_capacity_gb": 0,
      "max_over_subscription_ratio": 2.0, **THIN}, 0, 20, {}, True),
    ({"total_capacity_gb": 100, "free_capacity_gb": 10, "provisioned_capacity_gb": 0,
      "max_over_subscription_ratio": 2.0, **THIN}, 0, 21, {}, False),
    # a thick type on a thin pool is sized by real free space
    ({"total_capacity_gb": 100, "free_capacity_gb": 10, "provisioned_capacity_gb": 0,
      "max_over_subscription_ratio": 2.0, **THIN}, 0, 20, {"provisioning:type": "thick"},
     False),
    ({"total_capacity_gb": 100, "free_capacity_gb": 10, "provisioned_capacity_gb": 0,
      "max_over_subscription_ratio": 2.0, **THIN}, 0, 10, {"provisioning:type": "thick"},
     True),
]


@pytest.mark.parametrize(("caps", "allocated", "size", "specs", "expected"), CAPACITY_CASES)
def test_capacity_filter(caps: dict[str, Any], allocated: int, size: int,
                         specs: dict[str, str], expected: bool) -> None:
    spec = RequestSpec(size=size, extra_specs=specs)
    assert CapacityFilter().passes(pool(allocated, **caps), spec) is expected


CAPABILITY_CASES = [
    # (capabilities, extra specs, passes)
    ({"volume_backend_name": "lvm"}, {}, True),
    ({"volume_backend_name": "lvm"}, {"volume_backend_name": "lvm"}, True),
    ({"volume_backend_name": "lvm"}, {"volume_backend_name": "lvm2"}, False),
    ({}, {"volume_backend_name": "lvm"}, False),
    ({"thin_provisioning_support": True}, {"capabilities:thin_provisioning_support": "<is> True"},
     True),
    ({"thin_provisioning_support": False}, {"thin_provisioning_support": "<is> True"}, False),
    # scoped keys other than capabilities: are not capabilities
    ({}, {"provisioning:type": "thin", "vendor:feature": "x"}, True),
    # nested capabilities, and lists where any item may match
    ({"qos": {"iops": 500}}, {"capabilities:qos:iops": ">= 400"}, True),
    ({"qos": {"iops": 300}}, {"capabilities:qos:iops": ">= 400"}, False),
    ({"qos": 5}, {"capabilities:qos:iops": ">= 400"}, False),
    ({"storage_protocol": ["iSCSI", "FC"]}, {"storage_protocol": "FC"}, True),
    ({"storage_protocol": ["iSCSI"]}, {"storage_protocol": "<or> FC <or> NVMe"}, False),
    ({"total_capacity_gb": 100, "volume_backend_name": "a"},
     {"total_capacity_gb": ">= 50", "volume_backend_name": "<in> a"}, True),
]


@pytest.mark.parametrize(("caps", "specs", "expected"), CAPABILITY_CASES)
def test_capabilities_filter(caps: dict[str, Any], specs: dict[str, str],
                             expected: bool) -> None:
    spec = RequestSpec(size=1, extra_specs=specs)
    assert CapabilitiesFilter().passes(pool(**caps), spec) is expected


@pytest.mark.parametrize(("pool_zone", "wanted", "expected"), [
    ("nova", None, True), ("nova", "nova", True), ("nova", "az2", False), (None, "nova", False),
])
def test_availability_zone_filter(pool_zone: str | None, wanted: str | None,
                                  expected: bool) -> None:
    spec = RequestSpec(size=1, availability_zone=wanted)
    assert AvailabilityZoneFilter().passes(pool(zone=pool_zone), spec) is expected


def test_unknown_filter_name_is_refused() -> None:
    with pytest.raises(ValueError, match="RetryFilterX"):
        make_filters(["CapacityFilter", "RetryFilterX"])
