"""Read latency in a project holding the bulk load."""

from __future__ import annotations

from bench.figures import MS
from bench.harness import Harness
from bench.report import Figure
from bench.stats import median


def reads(harness: Harness, samples: int) -> list[Figure]:
    """Medians of ``samples`` GETs in the loaded project, the systems taking turns request
    by request; on fresh connections (Cinder sets no TCP_NODELAY, so a reused connection
    adds delayed-ACK stalls that are not server time) and, as a note, on reused ones."""
    some_id: dict[str, str] = {}
    for system in harness.systems:
        ids = harness.guarded(system, "listing ids",
                              lambda s=system: harness.api(s, "listing").volume_ids())
        if ids:
            some_id[system.name] = sorted(ids)[0]
    requests = [("detail_1000", "GET /volumes/detail?limit=1000", "/volumes/detail?limit=1000"),
                ("summary_100", "GET /volumes?limit=100", "/volumes?limit=100"),
                ("show", "GET /volumes/{id}", "/volumes/{id}")]
    figures = []
    for fresh in (True, False):
        for key, label, path in requests:
            times: dict[str, list[float]] = {s.name: [] for s in harness.systems}
            for n in range(samples + 1):
                for system in harness.turns(n):
                    if system.name not in some_id:
                        continue
                    api = harness.api(system, "listing")
                    url = path.format(id=some_id[system.name])
                    took = harness.guarded(system, label,
                                           lambda api=api, url=url, fresh=fresh:
                                           api.timed_get(url, fresh))
                    if took is not None and n > 0:  # the first round warms caches
                        times[system.name].append(took * MS)
            values = {name: (median(t) if t else None) for name, t in times.items()}
            connection = "fresh connection" if fresh else "reused connection"
            figures.append(Figure(f"{key}_{'fresh' if fresh else 'reused'}",
                                  f"{label}, median of {samples}, {connection}", "ms", True,
                                  values))
    return figures
