"""The real agent's own costs in the storage-node VM (issue 11, VM part); reports only.

``python -m bench.agent_vm [--counts 50,100,200] [--samples 3]`` boots the VM, starts the
LVM driver there as one long-lived process (the agent VM tests' ``guest_driver``, fed
batches of calls) and measures, with real LVM and LIO under emulation:

- create + export (``create_volume`` then ``initialize_connection``) and delete of one
  thin 1 GiB volume, the median of ``--samples`` rounds;
- start-up reconciliation after the target configuration was lost (``targetctl clear``)
  with 50, 100 and 200 exported volumes, each with one initiator and its CHAP, and the
  time per volume, which stays flat when the pass is linear.

Times are the driver's own, measured in the guest, so guest-command overhead is not in
them. The figures go to stdout and ``bench/results/agent_vm.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

from tests.storage_vm.vm import StorageVM

WORK = "/var/tmp/bench-agent"
QUEUE = f"{WORK}/queue"
PYCACHE = "/var/tmp/bench-agent-pycache"
INITIATOR = "iqn.1993-08.org.debian:01:bench-compute"
RESULTS = Path(__file__).parent / "results" / "agent_vm.json"
CONFIG = """\
[DEFAULT]
enabled_backends = lvm
[lvm]
volume_group = cinder-volumes
lvm_type = thin
target_ip_address = 127.0.0.1
"""


class GuestDriver:
    """The guest's driver process and its file queue."""

    def __init__(self, vm: StorageVM) -> None:
        self.vm = vm
        self.batches = 0
        vm.run(f"mkdir -p {QUEUE}", check=True)
        vm.write_file(f"{WORK}/cinder.conf", CONFIG)
        self.process = vm.spawn(
            f"cd {vm.src} && PYTHONPYCACHEPREFIX={PYCACHE} exec python3 -m "
            f"tests.agent_vm.guest_driver {WORK}/cinder.conf {QUEUE}", f"{WORK}/driver.log")

    def run(self, steps: list[dict[str, Any]], timeout: float = 1800) -> list[float]:
        """Run ``steps`` in the guest; the seconds each took there. Fails on an error."""
        self.batches += 1
        name = f"{QUEUE}/b{self.batches:05d}"
        self.vm.write_file(f"{name}.tmp", json.dumps(steps))
        self.vm.run(f"mv {name}.tmp {name}.json", check=True)
        deadline = time.monotonic() + timeout
        while self.vm.run(f"test -e {name}.out").rc != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {name} unanswered:\n{self.process.output()[-3000:]}")
            time.sleep(0.5)
        results = json.loads(self.vm.read_file(f"{name}.out"))
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError(f"driver errors: {errors[:3]}")
        return [float(line.rsplit(": ", 1)[1].split()[0])
                for line in self.vm.read_file(f"{name}.err").splitlines()]

    def stop(self) -> None:
        self.vm.run(f"touch {QUEUE}/STOP")


def _volume(volume_id: str, auth: str | None = None) -> dict[str, Any]:
    return {"id": volume_id, "size": 1, "provider_auth": auth}


def one_volume(driver: GuestDriver, samples: int) -> dict[str, float]:
    export, delete = [], []
    for _ in range(samples):
        volume = _volume(str(uuid.uuid4()))
        create, init = driver.run([
            {"backend": "lvm", "op": "create_volume", "volume": volume},
            {"backend": "lvm", "op": "initialize_connection", "volume": volume,
             "connector": {"initiator": INITIATOR}}])
        export.append(create + init)
        delete.append(driver.run([{"backend": "lvm", "op": "delete_volume",
                                   "volume": volume}])[0])
    return {"create_and_export_s": statistics.median(export),
            "delete_s": statistics.median(delete)}


def reconciliation(driver: GuestDriver, counts: list[int]) -> list[dict[str, float]]:
    ids = [str(uuid.uuid4()) for _ in range(max(counts))]
    driver.run([{"backend": "lvm", "op": "create_volume", "volume": _volume(i)} for i in ids])
    rows = []
    for count in counts:
        driver.vm.run("targetctl clear", check=True, timeout=600)
        exports = [{"volume": _volume(i, f"CHAP user{n:04d} secret{n:010d}"),
                    "initiators": [INITIATOR]} for n, i in enumerate(ids[:count])]
        [seconds] = driver.run([{"backend": "lvm", "op": "reconcile_exports",
                                 "exports": exports}])
        rows.append({"exports": count, "reconcile_s": seconds,
                     "per_export_ms": 1000 * seconds / count})
        print(f"  {count:4d} exports: {seconds:7.2f} s ({1000 * seconds / count:.1f} ms per "
              "export)", flush=True)
    return rows  # no clean-up: the VM's disk overlay is thrown away with it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agent_vm", description=__doc__)
    parser.add_argument("--counts", default="50,100,200")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.counts.split(",")]
    with StorageVM(vg_size="10G") as vm:
        driver = GuestDriver(vm)
        try:
            single = one_volume(driver, args.samples)
            print(f"one thin 1 GiB volume, median of {args.samples}: create + export "
                  f"{single['create_and_export_s']:.2f} s, delete {single['delete_s']:.2f} s",
                  flush=True)
            print("start-up reconciliation after the target configuration was lost:",
                  flush=True)
            rows = reconciliation(driver, counts)
        finally:
            driver.stop()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"one_volume": single, "reconcile": rows,
                                   "boot_s": vm.boot_seconds}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
