"""The figures of issue 11, each measured on every system in turn; one module per kind."""

from __future__ import annotations

from bench.harness import Harness

MS = 1000.0


def per_system(harness: Harness) -> dict[str, float | None]:
    return {s.name: None for s in harness.systems}
