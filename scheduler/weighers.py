"""Rank the pools that passed the filters; the highest total weight wins.

As in Cinder, each weigher's raw values are normalised to 0..1 over the candidates
and multiplied by its multiplier, so a negative ``capacity_weight_multiplier``
stacks volumes on the fullest pool instead of spreading them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from scheduler.filters import RequestSpec, is_thin_request, virtual_free_capacity
from scheduler.host_manager import PoolState

__all__ = ["Weigher", "CapacityWeigher", "WEIGHERS", "make_weighers", "rank"]

# With a negative multiplier an unbounded pool is weighed beyond the largest known one,
# which the multiplier then turns into the lowest rank.
_UNBOUNDED_OFFSET_MIN = 10000
_UNBOUNDED_OFFSET_MULT = 100


class Weigher(Protocol):
    multiplier: float

    def weigh(self, pools: Sequence[PoolState], spec: RequestSpec) -> list[float]:
        """Raw weights, one per pool, before normalisation."""


def _normalise(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if low == high:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


class CapacityWeigher:
    """Virtual free capacity for thin requests on thin pools, real free space otherwise.
    Pools reporting ``infinite``/``unknown`` rank last whichever way the multiplier
    points, so a driver gains nothing by not reporting its size."""

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, pools: Sequence[PoolState], spec: RequestSpec) -> list[float]:
        thin = is_thin_request(spec)
        raw = []
        for pool in pools:
            unbounded = any(v in ("infinite", "unknown")
                            for v in (pool.free_capacity_gb, pool.total_capacity_gb))
            if unbounded:
                raw.append(-1.0 if self.multiplier > 0 else math.inf)
            else:
                raw.append(virtual_free_capacity(pool, thin))
        finite = [w for w in raw if not math.isinf(w)]
        if finite and len(finite) < len(raw):
            low, high = min(finite), max(finite)
            offset = (high - low) * _UNBOUNDED_OFFSET_MULT or _UNBOUNDED_OFFSET_MIN
            raw = [high + offset if math.isinf(w) else w for w in raw]
        elif not finite:
            raw = [0.0] * len(raw)
        return raw


WEIGHERS = {"CapacityWeigher": CapacityWeigher}


def make_weighers(names: Sequence[str], capacity_weight_multiplier: float) -> list[Weigher]:
    unknown = [name for name in names if name not in WEIGHERS]
    if unknown:
        raise ValueError(f"scheduler_default_weighers: unknown weigher(s) "
                         f"{', '.join(unknown)}; known: {', '.join(WEIGHERS)}")
    return [WEIGHERS[name](capacity_weight_multiplier) for name in names]


def rank(pools: Sequence[PoolState], spec: RequestSpec,
         weighers: Sequence[Weigher]) -> list[PoolState]:
    """Pools best first; equal weights keep host-name order so placement is repeatable."""
    totals = [0.0] * len(pools)
    for weigher in weighers:
        for i, value in enumerate(_normalise(weigher.weigh(pools, spec))):
            totals[i] += weigher.multiplier * value
    order = sorted(range(len(pools)), key=lambda i: (-totals[i], pools[i].host))
    return [pools[i] for i in order]
