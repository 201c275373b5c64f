"""Backend filters with Cinder's semantics; a pool must pass every configured one.

Each filter answers ``passes(pool, spec)``; its ``reason`` says, in words a user
can act on, why no pool passed when it was the filter that emptied the list.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scheduler.extra_specs_ops import match
from scheduler.host_manager import PoolState

__all__ = ["RequestSpec", "Filter", "AvailabilityZoneFilter", "CapacityFilter",
           "CapabilitiesFilter", "FILTERS", "make_filters", "is_thin_request",
           "virtual_free_capacity"]


@dataclass(frozen=True)
class RequestSpec:
    """What a pool must offer for one volume."""

    size: int
    extra_specs: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None


class Filter(Protocol):
    reason: str

    def passes(self, pool: PoolState, spec: RequestSpec) -> bool: ...


def is_thin_request(spec: RequestSpec) -> bool:
    """A type asking ``provisioning:type = thick`` is sized by real free space."""
    return spec.extra_specs.get("provisioning:type") != "thick"


def virtual_free_capacity(pool: PoolState, thin: bool) -> float:
    """Free space left for new volumes after the reserve; thin pools count virtual space
    (total × ratio − provisioned), as Cinder's weigher does."""
    total = float(pool.total_capacity_gb)
    reserve = math.floor(total * pool.reserved_percentage / 100)
    if thin and pool.thin_provisioning_support:
        return total * pool.max_over_subscription_ratio - pool.provisioned_capacity_gb - reserve
    return float(pool.free_capacity_gb) - reserve


class AvailabilityZoneFilter:
    reason = "no backend is in the requested availability zone"

    def passes(self, pool: PoolState, spec: RequestSpec) -> bool:
        return spec.availability_zone is None or pool.availability_zone == spec.availability_zone


class CapacityFilter:
    reason = "no backend has enough free capacity"

    def passes(self, pool: PoolState, spec: RequestSpec) -> bool:
        free, total = pool.free_capacity_gb, pool.total_capacity_gb
        if free is None:
            return False
        if free in ("infinite", "unknown"):
            return True
        if total is None or total in ("infinite", "unknown"):
            return pool.reserved_percentage == 0
        total = float(total)
        if total <= 0:
            return False
        free_after_reserve = float(free) - math.floor(total * pool.reserved_percentage / 100)
        if is_thin_request(spec) and pool.thin_provisioning_support:
            ratio = pool.max_over_subscription_ratio
            if ratio < 1:
                return False
            if (pool.provisioned_capacity_gb + spec.size) / total > ratio:
                return False
            return free_after_reserve * ratio >= spec.size
        return free_after_reserve >= spec.size


class CapabilitiesFilter:
    """Unscoped and ``capabilities:`` extra specs must match the pool's capabilities;
    other scopes (``provisioning:``, vendor ones) are not capabilities and are skipped.
    ``a:b`` looks into nested capability dicts; a list capability matches if any item
    does."""

    reason = "no backend offers the capabilities the volume type asks for"

    def passes(self, pool: PoolState, spec: RequestSpec) -> bool:
        return all(self._satisfied(pool.capabilities, key, wanted)
                   for key, wanted in spec.extra_specs.items())

    @staticmethod
    def _satisfied(capabilities: dict[str, Any], key: str, wanted: str) -> bool:
        path = key.split(":")
        if len(path) > 1:
            if path[0] != "capabilities":
                return True
            path = path[1:]
        value: Any = capabilities
        for part in path:
            if not isinstance(value, dict) or value.get(part) is None:
                return False
            value = value[part]
        values: Iterable[Any] = value if isinstance(value, list) else [value]
        return any(match(item, wanted) for item in values)


FILTERS: dict[str, type[Filter]] = {
    "AvailabilityZoneFilter": AvailabilityZoneFilter,
    "CapacityFilter": CapacityFilter,
    "CapabilitiesFilter": CapabilitiesFilter,
}


def make_filters(names: Sequence[str]) -> list[Filter]:
    """The filters named in ``scheduler_default_filters``; an unknown name stops start-up."""
    unknown = [name for name in names if name not in FILTERS]
    if unknown:
        raise ValueError(f"scheduler_default_filters: unknown filter(s) {', '.join(unknown)}; "
                         f"known: {', '.join(FILTERS)}")
    return [FILTERS[name]() for name in names]
