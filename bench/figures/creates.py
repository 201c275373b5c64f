"""Create latency and throughput: one at a time, in bursts, and the bulk load."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bench.client import FAILURES, POLL_INTERVAL, Settled
from bench.figures import MS, per_system
from bench.harness import Harness
from bench.report import Figure
from bench.stats import percentile
from bench.sut import SystemUnderTest

LOAD_THREADS = 20


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
                return api.wait_available(api.create_volume(f"seq-{n}"), t0)

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
                 threads: int) -> tuple[Settled, float] | None:
    """Create ``count`` volumes from ``threads`` client threads; how they settled (a create
    the API refused, e.g. a 500 under overload, counts as failed) and the CPU seconds the
    system spent meanwhile. Lost creates are counted and noted."""
    api = harness.api(system, figure)

    def attempt(n: int) -> str | None:
        try:
            return api.create_volume(f"{figure}-{n}")
        except FAILURES:
            return None

    def run() -> tuple[Settled, float]:
        cpu0 = system.cpu_seconds()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            ids = {volume_id for volume_id in pool.map(attempt, range(count)) if volume_id}
        settled = api.wait_all_available(ids, t0) if ids else Settled(0.0, 0, 0)
        refused = count - len(ids)
        return (Settled(settled.seconds, settled.available, settled.failed + refused),
                system.cpu_seconds() - cpu0)

    result = harness.guarded(system, f"{count} creates", run)
    if result and result[0].failed:
        harness.failed_creates[system.name] += result[0].failed
        harness.note(system, f"{figure}: {result[0].failed} of {count} creates were refused, "
                     f"went to error or got stuck")
    return result


def warm_up(harness: Harness, count: int) -> None:
    """``count`` creates at once on each system, deleted again, before any figure: the
    first burst after start-up opens the database connections the bursts need and fills
    compiled-statement caches, costs a long-running service pays once, not per burst."""
    for system in harness.systems:
        _create_many(harness, system, "warmup", count, count)
        harness.empty_project(system, "warmup")


def concurrent_create(harness: Harness, count: int, round_no: int) -> list[Figure]:
    """``count`` creates at once (one client thread each); wall time until all available
    (n/a when any was lost: the burst never completed)."""
    figure = f"concurrent{count}"
    wall, rate = per_system(harness), per_system(harness)
    for system in harness.turns(round_no):
        result = _create_many(harness, system, figure, count, count)
        if result and not result[0].failed:
            wall[system.name], rate[system.name] = result[0].seconds, count / result[0].seconds
        harness.record(system, f"{figure}_cleanup_s", harness.empty_project(system, figure))
    return [Figure(f"{figure}_wall", f"{count} concurrent creates, until all available", "s",
                   True, wall),
            Figure(f"{figure}_rate", f"{count} concurrent creates, throughput", "vol/s", False,
                   rate)]


def load(harness: Harness, count: int) -> list[Figure]:
    """Fill the listing project with ``count`` volumes (LOAD_THREADS client threads);
    throughput and CPU count the creates that completed."""
    rate, cpu = per_system(harness), per_system(harness)
    for system in harness.systems:
        result = _create_many(harness, system, "listing", count, LOAD_THREADS)
        if result and result[0].available:
            settled, cpu_s = result
            rate[system.name] = settled.available / settled.seconds
            cpu[system.name] = cpu_s / settled.available * MS
    return [Figure("load_rate", f"{count} creates, {LOAD_THREADS} client threads, throughput",
                   "vol/s", False, rate),
            Figure("load_cpu", "CPU per create, all service processes", "ms", True, cpu)]


def failures(harness: Harness) -> Figure:
    """Creates lost in all bursts and the load: a control plane must not drop work."""
    return Figure("failed_creates", "creates refused, in error or stuck, all bursts",
                  "count", True, {name: float(n) for name, n in harness.failed_creates.items()})
