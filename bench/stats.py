"""Summary statistics of latency samples."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["percentile", "median"]


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile, interpolating linearly between closest ranks (numpy's default),
    so p50 of an even count is the mean of the middle two and p95 of 20 samples lies
    between the 19th and 20th rather than jumping to the maximum."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 50)
