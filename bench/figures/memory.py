"""Resident memory of each system."""

from __future__ import annotations

from bench.harness import Harness
from bench.report import Figure


def resident(harness: Harness, when: str) -> Figure:
    """Resident memory of every process of each system (children included), from /proc."""
    key = when.replace(" ", "_")
    values: dict[str, float | None] = {}
    for system in harness.systems:
        values[system.name] = system.rss_mib()
        harness.record(system, f"processes_{key}", len(system.pids()))
    return Figure(f"rss_{key}", f"resident memory, all processes, {when}", "MiB", True, values)
