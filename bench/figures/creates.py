"""Create latency and throughput: one at a time, in bursts, and the bulk load."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench.client import POLL_INTERVAL
from bench.figures import MS, per_system
from bench.harness import Harness
from bench.report import Figure
from bench.stats import percentile
from bench.sut import SystemUnderTest

LOAD_THREADS = 20


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
    p50, p95 = per_system(harness), per_system(harness)
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
    wall, rate = per_system(harness), per_system(harness)
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
    rate, cpu = per_system(harness), per_system(harness)
    for system in harness.systems:
        result = _create_many(harness, system, "listing", count, LOAD_THREADS)
        if result:
            rate[system.name], cpu[system.name] = count / result[0], result[1] / count * MS
    return [Figure("load_rate", f"{count} creates, {LOAD_THREADS} client threads, throughput",
                   "vol/s", False, rate),
            Figure("load_cpu", "CPU per create, all service processes", "ms", True, cpu)]
