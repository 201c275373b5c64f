"""The figures of issue 11, each measured on every system in turn."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench.client import POLL_INTERVAL
from bench.harness import Harness
from bench.report import Figure
from bench.stats import median, percentile
from bench.sut import SystemUnderTest

MS = 1000.0
LOAD_THREADS = 20


def _per_system(harness: Harness) -> dict[str, float | None]:
    return {s.name: None for s in harness.systems}


def warm_up(harness: Harness) -> None:
    """One create and delete per system before anything is timed (imports, pools, caches)."""
    for system in harness.systems:
        api = harness.api(system, "warmup")

        def once(api=api) -> None:
            t0 = time.perf_counter()
            api.wait_status(api.create_volume("warmup"), "available", t0)

        harness.guarded(system, "warm-up", once)
        harness.empty_project(system, "warmup")


def sequential_create(harness: Harness, count: int) -> list[Figure]:
    """Create one volume at a time and poll it every POLL_INTERVAL until available; the
    systems take turns volume by volume."""
    samples: dict[str, list[float]] = {s.name: [] for s in harness.systems}
    failed: set[str] = set()
    for n in range(count):
        for system in harness.turns(n):
            if system.name in failed:
                continue
            api = harness.api(system, "sequential")

            def one(api=api, n=n) -> float:
                t0 = time.perf_counter()
                return api.wait_status(api.create_volume(f"seq-{n}"), "available", t0)

            latency = harness.guarded(system, "sequential create", one)
            if latency is None:
                failed.add(system.name)
            else:
                samples[system.name].append(latency * MS)
    p50, p95 = _per_system(harness), _per_system(harness)
    for system in harness.systems:
        harness.record(system, "sequential_create_ms", samples[system.name])
        harness.record(system, "sequential_cleanup_s", harness.empty_project(system, "sequential"))
        if samples[system.name] and system.name not in failed:
            p50[system.name] = percentile(samples[system.name], 50)
            p95[system.name] = percentile(samples[system.name], 95)
    label = f"create -> available, sequential x{count} (poll {POLL_INTERVAL * MS:.0f} ms)"
    return [Figure("create_latency_p50", f"{label}, p50", "ms", True, p50),
            Figure("create_latency_p95", f"{label}, p95", "ms", True, p95)]


def _create_many(harness: Harness, system: SystemUnderTest, figure: str, count: int,
                 threads: int) -> tuple[float, float] | None:
    """Create ``count`` volumes from ``threads`` client threads; (seconds until all are
    available, CPU seconds the system spent meanwhile)."""
    api = harness.api(system, figure)

    def run() -> tuple[float, float]:
        cpu0 = system.cpu_seconds()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            ids = set(pool.map(lambda n: api.create_volume(f"{figure}-{n}"), range(count)))
        wall = api.wait_all(ids, "available", t0, interval=0.05)
        return wall, system.cpu_seconds() - cpu0

    return harness.guarded(system, f"{count} creates", run)


def concurrent_create(harness: Harness, count: int, round_no: int) -> list[Figure]:
    """``count`` creates at once (one client thread each); wall time until all available."""
    figure = f"concurrent{count}"
    wall, rate = _per_system(harness), _per_system(harness)
    for system in harness.turns(round_no):
        result = _create_many(harness, system, figure, count, count)
        if result:
            wall[system.name], rate[system.name] = result[0], count / result[0]
            harness.record(system, f"{figure}_cpu_s", result[1])
        harness.record(system, f"{figure}_cleanup_s", harness.empty_project(system, figure))
    return [Figure(f"{figure}_wall", f"{count} concurrent creates, until all available", "s",
                   True, wall),
            Figure(f"{figure}_rate", f"{count} concurrent creates, throughput", "vol/s", False,
                   rate)]


def load(harness: Harness, count: int) -> list[Figure]:
    """Fill the listing project with ``count`` volumes (LOAD_THREADS client threads)."""
    rate, cpu = _per_system(harness), _per_system(harness)
    for system in harness.systems:
        result = _create_many(harness, system, "listing", count, LOAD_THREADS)
        if result:
            rate[system.name], cpu[system.name] = count / result[0], result[1] / count * MS
    return [Figure("load_rate", f"{count} creates, {LOAD_THREADS} client threads, throughput",
                   "vol/s", False, rate),
            Figure("load_cpu", "CPU per create, all service processes", "ms", True, cpu)]


def listing(harness: Harness, samples: int) -> list[Figure]:
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


def attach_round_trip(harness: Harness, count: int) -> list[Figure]:
    """Attachment create with a connector, os-complete, delete (mv 3.44), ``count`` times on
    one volume; n/a for a system without the attachments API."""
    volume: dict[str, str] = {}
    for system in harness.systems:
        api = harness.api(system, "attach")

        def make(api=api) -> str:
            t0 = time.perf_counter()
            volume_id = api.create_volume("attach")
            api.wait_status(volume_id, "available", t0)
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


def memory(harness: Harness, when: str) -> Figure:
    """Resident memory of every process of each system (children included), from /proc."""
    values: dict[str, float | None] = {}
    for system in harness.systems:
        values[system.name] = system.rss_mib()
        harness.record(system, f"processes_{when}", len(system.pids()))
    return Figure(f"rss_{when}", f"resident memory, all processes, {when}", "MiB", True, values)
