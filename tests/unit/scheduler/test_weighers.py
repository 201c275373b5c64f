"""The capacity weigher spreads by default and stacks with a negative multiplier."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.filters import RequestSpec
from scheduler.host_manager import PoolState
from scheduler.weighers import CapacityWeigher, make_weighers, rank


def pool(name: str, **caps: Any) -> PoolState:
    return PoolState(f"{name}@lvm#lvm", caps, 0, "nova", 1)


def best(pools: list[PoolState], multiplier: float = 1.0, **spec: Any) -> str:
    ranked = rank(pools, RequestSpec(size=1, **spec), [CapacityWeigher(multiplier)])
    return ranked[0].host.split("@")[0]


THICK = {"thin_provisioning_support": False}


def test_spreads_to_most_free_space() -> None:
    pools = [pool("a", total_capacity_gb=100, free_capacity_gb=10, **THICK),
             pool("b", total_capacity_gb=100, free_capacity_gb=60, **THICK)]
    assert best(pools) == "b"


def test_negative_multiplier_stacks() -> None:
    pools = [pool("a", total_capacity_gb=100, free_capacity_gb=10, **THICK),
             pool("b", total_capacity_gb=100, free_capacity_gb=60, **THICK)]
    assert best(pools, -1.0) == "a"


def test_reserve_counts_against_free_space() -> None:
    pools = [pool("a", total_capacity_gb=1000, free_capacity_gb=500, reserved_percentage=50,
                  **THICK),
             pool("b", total_capacity_gb=100, free_capacity_gb=60, **THICK)]
    assert best(pools) == "b"


def test_thin_pools_weigh_virtual_free_capacity() -> None:
    # a: 100 × 10 − 200 = 800 virtual GB; b: 300 real GB, thick.
    pools = [pool("a", total_capacity_gb=100, free_capacity_gb=90, provisioned_capacity_gb=200,
                  max_over_subscription_ratio=10, thin_provisioning_support=True),
             pool("b", total_capacity_gb=300, free_capacity_gb=300, **THICK)]
    assert best(pools) == "a"
    assert best(pools, extra_specs={"provisioning:type": "thick"}) == "b"


@pytest.mark.parametrize(("multiplier", "order"), [(1.0, "bca"), (-1.0, "cba")])
def test_unbounded_pool_ranks_last_either_way(multiplier: float, order: str) -> None:
    pools = [pool("a", total_capacity_gb="infinite", free_capacity_gb="infinite"),
             pool("b", total_capacity_gb=100, free_capacity_gb=60, **THICK),
             pool("c", total_capacity_gb=100, free_capacity_gb=5, **THICK)]
    ranked = rank(pools, RequestSpec(size=1), [CapacityWeigher(multiplier)])
    assert "".join(p.host[0] for p in ranked) == order


def test_equal_weights_keep_host_order() -> None:
    pools = [pool("b", total_capacity_gb=10, free_capacity_gb=10, **THICK),
             pool("a", total_capacity_gb=10, free_capacity_gb=10, **THICK)]
    assert best(pools) == "a"


def test_unknown_weigher_is_refused() -> None:
    with pytest.raises(ValueError, match="GoodnessWeigher"):
        make_weighers(["GoodnessWeigher"], 1.0)
