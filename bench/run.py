"""``make bench``: start Cinder and cinderblock on this machine, measure every figure of
issue 11 on both in turn, print the table and write ``bench/results/latest.json``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import agent_vm
from bench.cinder_side import Cinder
from bench.cinderblock_side import Cinderblock
from bench.client import POLL_INTERVAL
from bench.figures import attach, creates, listing, memory
from bench.harness import Harness
from bench.report import Figure, format_table
from bench.sut import ServiceDied, SystemUnderTest

RESULTS = Path(__file__).resolve().parent / "results"
STARTUP_FAILURES = (ServiceDied, TimeoutError, RuntimeError, OSError)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--warm-up", type=int, default=50,
                        help="concurrent creates (then deleted) before the figures; 0: none")
    parser.add_argument("--sequential", type=int, default=20, help="sequential creates")
    parser.add_argument("--concurrent", type=int, nargs="+", default=[50, 200],
                        help="sizes of the concurrent-create bursts")
    parser.add_argument("--load", type=int, default=1000, help="volumes in the listed project")
    parser.add_argument("--samples", type=int, default=20, help="GETs per listing median")
    parser.add_argument("--attach", type=int, default=10, help="attach round trips")
    parser.add_argument("--agent-vm-counts", default="25,50,100,200",
                        help="exports at which the VM agent's start-up is timed; '' skips "
                             "the storage-node VM part (bench.agent_vm)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args(argv)


def _step(name: str, since: float) -> None:
    print(f"[bench] {time.perf_counter() - since:6.1f} s  {name}", flush=True)


def _start(systems: list[SystemUnderTest], errors: dict[str, list[str]]) -> list[Figure]:
    """Prepare and start each system alone, timing start until every service is up and
    until the first volume is served (which also warms every system up before figures)."""
    up = Figure("startup", "start -> all services up in os-services", "s", True,
                {s.name: None for s in systems})
    serving = Figure("serving", "start -> first volume available", "s", True,
                     {s.name: None for s in systems})
    for system in systems:
        try:
            system.prepare()
            system.start()
            up.values[system.name] = system.wait_up()
            serving.values[system.name] = system.wait_serving()
        except STARTUP_FAILURES as exc:
            print(f"[bench] {system.name} did not start: {exc}", flush=True)
            errors[system.name].append(f"start: {exc}")
            up.values[system.name] = None
            system.stop()
    return [up, serving]


def _meta(args: argparse.Namespace) -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=RESULTS.parent).stdout.strip()
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
            "poll_interval_s": POLL_INTERVAL, "cinderblock_commit": commit,
            "counts": {"warm_up": args.warm_up, "sequential": args.sequential,
                       "concurrent": args.concurrent, "load": args.load,
                       "samples": args.samples, "attach": args.attach}}


def _measure(harness: Harness, args: argparse.Namespace, since: float) -> list[Figure]:
    results = [memory.resident(harness, "idle")]
    if args.warm_up:
        creates.warm_up(harness, args.warm_up)
        _step(f"warmed up with {args.warm_up} creates", since)
    results += creates.sequential_create(harness, args.sequential)
    _step("sequential creates done", since)
    for round_no, count in enumerate(args.concurrent):
        results += creates.concurrent_create(harness, count, round_no)
        _step(f"{count} concurrent creates done", since)
    results += creates.load(harness, args.load)
    results.append(creates.failures(harness))
    _step(f"{args.load} volumes loaded", since)
    results += listing.reads(harness, args.samples)
    _step("listing done", since)
    results += attach.round_trips(harness, args.attach)
    _step("attach round trips done", since)
    results.append(memory.resident(harness, "after load"))
    return results


def _agent_vm(counts: str, errors: list[str]) -> list[Figure]:
    """The real agent in the storage-node VM, once both systems are stopped; Cinder has
    no counterpart, so these rows have cinderblock's figure only."""
    if not counts:
        return []
    try:
        return agent_vm.figures(agent_vm.measure(agent_vm.parse_counts(counts), samples=3))
    except Exception as exc:  # a VM that did not boot must not cost the other figures
        print(f"[bench] agent VM part failed: {exc}", flush=True)
        errors.append(f"agent VM: {exc}")
        return []


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # make's SIGTERM must still run the finally below, which stops every service.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    since = time.perf_counter()
    systems: list[SystemUnderTest] = [Cinder(RESULTS / "cinder"),
                                      Cinderblock(RESULTS / "cinderblock")]
    errors: dict[str, list[str]] = {s.name: [] for s in systems}
    meta = _meta(args)
    harness = None
    try:
        startup = _start(systems, errors)
        _step("systems started", since)
        harness = Harness([s for s in systems if startup[0].values[s.name] is not None])
        results = [*startup, *_measure(harness, args, since)]
    finally:
        if harness:
            harness.close()
        for system in systems:
            system.stop()
            system.drop_state()
    results += _agent_vm(args.agent_vm_counts, errors[systems[1].name])
    _step("agent VM part done", since)
    for name, messages in harness.errors.items():
        errors[name] += messages
    baseline, candidate = systems[0].name, systems[1].name
    for figure in results:
        figure.values = {s.name: figure.values.get(s.name) for s in systems}
    print()
    print(format_table(results, baseline, candidate))
    meta["loadavg_at_end"] = os.getloadavg()
    meta["wall_s"] = time.perf_counter() - since
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(
        {"meta": meta, "figures": [f.as_dict(baseline, candidate) for f in results],
         "details": harness.details, "errors": errors}, indent=2))
    print(f"\n[bench] {meta['wall_s']:.0f} s; machine load average "
          f"{meta['loadavg_at_start'][1]:.1f} -> {meta['loadavg_at_end'][1]:.1f} (5 min) on "
          f"{meta['cpus']} CPUs; figures in {args.output}")
    for name, messages in errors.items():
        for message in messages:
            print(f"[bench] {name}: {message}")
    return 0 if len(harness.systems) == len(systems) else 1
