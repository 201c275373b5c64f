"""The attachment round trip a compute host makes for every attach and detach."""

from __future__ import annotations

import time

from bench.figures import MS
from bench.harness import Harness
from bench.report import Figure
from bench.stats import median


def round_trips(harness: Harness, count: int) -> list[Figure]:
    """Attachment create with a connector, os-complete, delete (mv 3.44), ``count`` times on
    one volume; n/a for a system without the attachments API."""
    volume: dict[str, str] = {}
    for system in harness.systems:
        api = harness.api(system, "attach")

        def make(api=api) -> str:
            t0 = time.perf_counter()
            volume_id = api.create_volume("attach")
            api.wait_available(volume_id, t0)
            return volume_id

        volume_id = harness.guarded(system, "attach volume", make)
        if volume_id:
            volume[system.name] = volume_id
    totals: dict[str, list[float]] = {s.name: [] for s in harness.systems}
    for n in range(count):
        for system in harness.turns(n):
            if system.name not in volume:
                continue
            api = harness.api(system, "attach")
            steps = harness.guarded(system, "attach round trip",
                                    lambda api=api, s=system: api.attach_round_trip(
                                        volume[s.name]))
            if steps is None:
                volume.pop(system.name)
                continue
            totals[system.name].append(steps["total"] * MS)
    for system in harness.systems:
        harness.record(system, "attach_round_trip_ms", totals[system.name])
        harness.empty_project(system, "attach")
    values = {name: (median(t) if t else None) for name, t in totals.items()}
    return [Figure("attach_round_trip", f"attach create -> os-complete -> delete, median of "
                   f"{count}", "ms", True, values)]
