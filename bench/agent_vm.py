"""The real agent's own costs in the storage-node VM (issue 11, VM part); reports only.

``python -m bench.agent_vm [--counts 25,50,100,200] [--samples 3]`` boots the VM and runs
``cinderblock-volume`` there as it is deployed (``etc/cinderblock-service volume``, real
LVM and LIO under emulation), against a stand-in controller on this host that answers
its start-up calls and records its casts (a private RabbitMQ vhost). It measures:

- create + export and delete of one thin 1 GiB volume, as the controller sees them
  (``create_volume`` cast until ``volume_created``, then the ``initialize_connection``
  call; ``delete_volume`` cast until ``volume_deleted``), the median of ``--samples``,
  with no other export and again with the largest count exported;
- start-up reconciliation with 25, 50, 100 and 200 attached volumes, each with one
  initiator and its CHAP, after the target configuration was lost (``targetctl clear``,
  as after a reboot: every export rebuilt), and with the largest count in place (an
  agent restart: every export checked). The time is the agent's own (its log line for
  ``reconcile_exports``); a linear pass shows a flat time per export and per export
  added since the count before.

The volumes for reconciliation are made in bulk (one ``lvm`` process reading every
``lvcreate``, tagged as the agent tags its own): a create through the agent costs
seconds under emulation and is measured above. Figures go to stdout and
``bench/results/agent_vm.json``; ``make bench`` adds them to its table.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.infra import delete_vhost, reset_vhost
from bench.report import Figure
from common.messaging import Server, Transport, volume_topic
from tests.storage_vm.vm import GuestProcess, StorageVM

SYSTEM = "cinderblock"
VHOST = "cinderblock_bench_agent"
NODE = "bench-node"
SERVICE = f"{NODE}@lvm"
WORK = "/var/tmp/bench-agent"
LOG = f"{WORK}/volume.log"
PYCACHE = "/var/tmp/bench-agent-pycache"
INITIATOR = "iqn.1993-08.org.debian:01:bench-compute"
VG = "cinder-volumes"
RESULTS = Path(__file__).parent / "results" / "agent_vm.json"
START_TIMEOUT = 900
RECONCILED = re.compile(r"reconcile_exports\s+on lvm done in ([0-9.]+) s")


def agent_conf(vhost: str, address: str) -> str:
    return (f"[DEFAULT]\nhost = {NODE}\nenabled_backends = lvm\nreport_interval = 600\n"
            f"transport_url = rabbit://guest:guest@{address}:5672/{vhost}\n"
            f"[lvm]\nvolume_driver = lvm\nvolume_group = {VG}\nlvm_type = thin\n"
            "target_helper = lioadm\ntarget_ip_address = 127.0.0.1\n")


class StandInController:
    """Answers the agent's start-up calls from fixed lists and records every cast it
    sends (``volume_created``, ``capabilities``, ...) with the time it arrived."""

    def __init__(self) -> None:
        self.exports: list[dict[str, Any]] = []
        self.known: list[str] = []
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._arrived = threading.Condition()

    def exports_for_host(self, host: str) -> list[dict[str, Any]]:
        return self.exports

    def volumes_for_host(self, host: str) -> list[str]:
        return self.known

    def __getattr__(self, method: str) -> Callable[..., None]:
        if method.startswith("_"):
            raise AttributeError(method)
        return functools.partial(self._record, method)

    def _record(self, method: str, **args: Any) -> None:
        with self._arrived:
            self.events.append((time.perf_counter(), method, args))
            self._arrived.notify_all()

    def wait(self, method: str, volume_id: str, timeout: float = 600) -> float:
        """When ``method`` about ``volume_id`` arrived; fails on an error status."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for at, name, args in self.events:
                    if name == method and args.get("volume_id") == volume_id:
                        if args.get("error"):
                            raise RuntimeError(f"{method} {volume_id}: {args['error']}")
                        return at
                if not self._arrived.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"no {method} for {volume_id} in {timeout:g} s")


class Agent:
    """``cinderblock-volume`` in the VM, started as deployments start it."""

    def __init__(self, vm: StorageVM, transport: Transport) -> None:
        self.vm = vm
        self.transport = transport
        self.process: GuestProcess | None = None
        self.starts: list[float] = []

    def start(self) -> float:
        """Start and wait until it serves (after reconciliation); returns the seconds its
        reconciliation took, from its own log."""
        began = time.perf_counter()
        self.vm.run(f": > {LOG}", check=True)
        self.process = self.vm.spawn(
            f"cd {self.vm.src} && PYTHONPYCACHEPREFIX={PYCACHE} "
            f"CINDERBLOCK_CONFIG_FILES={WORK}/cinder.conf exec etc/cinderblock-service volume",
            LOG)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            log = self.vm.read_file(LOG)
            if f"serving {SERVICE}" in log:
                break
            if not self.process.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the agent did not start:\n{log[-3000:]}")
            time.sleep(1)
        self.starts.append(time.perf_counter() - began)
        found = RECONCILED.search(log)
        if found is None:
            raise RuntimeError(f"no reconciliation in the agent's log:\n{log[-3000:]}")
        return float(found.group(1))

    def stop(self) -> None:
        if self.process is not None and self.process.alive():
            self.process.stop(timeout=60)

    def one_volume(self, controller: StandInController) -> tuple[float, float]:
        """Create + export, then delete, of one new volume: seconds of each."""
        volume = {"id": str(uuid.uuid4()), "size": 1, "host": f"{SERVICE}#lvm"}
        topic = volume_topic(SERVICE)
        began = time.perf_counter()
        self.transport.cast(topic, "create_volume", {"volume": volume})
        controller.wait("volume_created", volume["id"])
        self.transport.call(topic, "initialize_connection",
                            {"volume": volume, "connector": {"initiator": INITIATOR}},
                            timeout=600)
        exported = time.perf_counter()
        self.transport.cast(topic, "delete_volume", {"volume": volume})
        deleted = controller.wait("volume_deleted", volume["id"])
        return exported - began, deleted - exported


def _bulk_volumes(vm: StorageVM, count: int) -> list[str]:
    """``count`` thin volumes as the agent makes them (name, size, owner tag), from one
    ``lvm`` process: no start-up of LVM per volume."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    script = "".join(f"lvcreate -q -y -An -T -V 1g --addtag cinderblock -n volume-{i} "
                     f"{VG}/{VG}-pool\n" for i in ids)
    vm.write_file(f"{WORK}/volumes.lvm", script)
    vm.run(f"lvm < {WORK}/volumes.lvm > {WORK}/volumes.out 2>&1", check=True,
           timeout=60 * 60)
    made = vm.run(f"lvs --noheadings -o lv_name {VG} | grep -c ' volume-'", check=True)
    if int(made.stdout.strip()) < count:
        raise RuntimeError(f"only {made.stdout.strip()} of {count} volumes were made")
    return ids


def _exports(ids: list[str]) -> list[dict[str, Any]]:
    return [{"volume": {"id": volume_id, "size": 1, "host": f"{SERVICE}#lvm",
                        "provider_auth": f"CHAP user{n:04d} secret{n:012d}"},
             "initiators": [INITIATOR]} for n, volume_id in enumerate(ids)]


def _one_volume(agent: Agent, controller: StandInController, samples: int,
                exported: int) -> dict[str, float]:
    exports, deletes = zip(*(agent.one_volume(controller) for _ in range(samples)),
                           strict=True)
    row = {"exports": exported, "create_and_export_s": statistics.median(exports),
           "delete_s": statistics.median(deletes)}
    print(f"  one thin 1 GiB volume with {exported} other exports, median of {samples}: "
          f"create + export {row['create_and_export_s']:.2f} s, delete "
          f"{row['delete_s']:.2f} s", flush=True)
    return row


def _start_after(vm: StorageVM, agent: Agent, clear: bool) -> float:
    """Restart the agent, the target configuration lost first (as by a reboot) or not;
    the seconds its reconciliation took."""
    agent.stop()
    if clear:
        vm.run("targetctl clear", check=True, timeout=600)
    return agent.start()


def _reconcile(vm: StorageVM, agent: Agent, controller: StandInController,
               ids: list[str], counts: list[int]) -> dict[str, Any]:
    """Every count rebuilt from a lost configuration, then the largest checked in place.
    The time per export, and per export added since the count before, stay flat when
    the pass is linear."""
    rebuilds: list[dict[str, Any]] = []
    for count in counts:
        controller.exports = _exports(ids[:count])
        seconds = _start_after(vm, agent, clear=True)
        row: dict[str, Any] = {"exports": count, "rebuild_s": seconds,
                               "per_export_ms": 1000 * seconds / count,
                               "added_per_export_ms": None}
        if rebuilds:
            before = rebuilds[-1]
            row["added_per_export_ms"] = (1000 * (seconds - before["rebuild_s"])
                                          / (count - before["exports"]))
        rebuilds.append(row)
        added = row["added_per_export_ms"]
        print(f"  {count:4d} exports rebuilt in {seconds:6.1f} s: {row['per_export_ms']:4.0f} ms "
              "per export" + ("" if added is None else f", {added:4.0f} ms per added export"),
              flush=True)
    checked = _start_after(vm, agent, clear=False)
    check = {"exports": counts[-1], "check_s": checked,
             "per_export_ms": 1000 * checked / counts[-1]}
    print(f"  {counts[-1]:4d} exports in place, checked in {checked:6.1f} s: "
          f"{check['per_export_ms']:4.0f} ms per export", flush=True)
    return {"rebuild": rebuilds, "check": check}


def measure(counts: list[int], samples: int) -> dict[str, Any]:
    """Boot, measure, shut down; the figures as JSON-ready data, also written to
    ``RESULTS``."""
    reset_vhost(VHOST)
    transport = Transport(f"amqp://guest:guest@127.0.0.1:5672/{VHOST}")
    controller = StandInController()
    server = Server(transport)
    server.listen("controller", controller)
    server.start()
    began = time.perf_counter()
    try:
        with StorageVM(vg_size="10G") as vm:
            print(f"[agent-vm] VM up in {vm.boot_seconds:.0f} s", flush=True)
            vm.run(f"mkdir -p {WORK}", check=True)
            vm.write_file(f"{WORK}/cinder.conf", agent_conf(VHOST, vm.host_address_from_guest))
            agent = Agent(vm, transport)
            agent.start()
            single = [_one_volume(agent, controller, samples, 0)]
            started = time.perf_counter()
            ids = _bulk_volumes(vm, max(counts))
            made_s = time.perf_counter() - started
            print(f"  {len(ids)} volumes made in bulk in {made_s:.0f} s", flush=True)
            controller.known = ids
            print("[agent-vm] start-up reconciliation:", flush=True)
            reconciled = _reconcile(vm, agent, controller, ids, counts)
            single.append(_one_volume(agent, controller, samples, max(counts)))
            agent.stop()
            boot_s = vm.boot_seconds
    finally:
        server.stop()
        transport.close()
        delete_vhost(VHOST)
    result = {"one_volume": single, "reconcile": reconciled, "bulk_volumes_s": made_s,
              "boot_s": boot_s, "agent_starts_s": agent.starts,
              "wall_s": time.perf_counter() - began}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return result


def figures(result: dict[str, Any]) -> list[Figure]:
    """The VM figures for ``make bench``'s table (cinderblock only: Cinder has none)."""
    def figure(key: str, label: str, unit: str, value: float) -> Figure:
        return Figure(key, label, unit, True, {SYSTEM: value})

    rows = []
    for single in result["one_volume"]:
        n = single["exports"]
        rows += [figure(f"agent_create_export_{n}", f"VM agent: create + export, {n} exported",
                        "s", single["create_and_export_s"]),
                 figure(f"agent_delete_{n}", f"VM agent: delete, {n} exported", "s",
                        single["delete_s"])]
    for row in result["reconcile"]["rebuild"]:
        n = row["exports"]
        rows += [figure(f"agent_rebuild_{n}", f"VM agent start-up: rebuild {n} exports", "s",
                        row["rebuild_s"]),
                 figure(f"agent_rebuild_per_export_{n}", f"  per export, {n}", "ms",
                        row["per_export_ms"])]
        if row["added_per_export_ms"] is not None:
            rows.append(figure(f"agent_rebuild_per_added_export_{n}",
                               f"  per export added since the count before, {n}", "ms",
                               row["added_per_export_ms"]))
    check = result["reconcile"]["check"]
    rows += [figure("agent_check", f"VM agent start-up: {check['exports']} exports in place",
                    "s", check["check_s"]),
             figure("agent_check_per_export", f"  per export, {check['exports']}", "ms",
                    check["per_export_ms"])]
    return rows


def parse_counts(text: str) -> list[int]:
    return sorted({int(n) for n in text.split(",") if n.strip()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_vm", description=__doc__)
    parser.add_argument("--counts", default="25,50,100,200")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args(argv)
    measure(parse_counts(args.counts), args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
