"""Run a batch of LVMDriver calls inside the storage-node VM, one Python start-up per batch.

Reads a JSON list of steps on stdin, ``{"backend": name, "op": method, ...arguments}``,
and prints a JSON list with ``{"ok": result}`` or ``{"error": message}`` per step, so a
test on the host can drive the real driver against real LVM and LIO in the guest:
``python3 -m tests.agent_vm.guest_driver CONFIG < steps.json``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any

from common.config import load
from volume_agent.driver import DriverError, Export, Snapshot, Volume
from volume_agent.lvm_driver import LVMDriver


def _arguments(step: dict[str, Any]) -> list[Any]:
    args: list[Any] = []
    if "volume" in step:
        args.append(Volume(**step["volume"]))
    if "snapshot" in step:
        args.append(Snapshot(**step["snapshot"]))
    if "new_size" in step:
        args.append(step["new_size"])
    if "connector" in step:
        args.append(step["connector"])
    if "exports" in step:
        args.append([Export(Volume(**e["volume"]), tuple(e["initiators"]))
                     for e in step["exports"]])
    return args


def main(config_path: str) -> int:
    backends = load([config_path]).backends
    drivers: dict[str, LVMDriver] = {}
    results = []
    for step in json.load(sys.stdin):
        started = time.monotonic()
        try:
            driver = drivers.get(step["backend"])
            if driver is None:
                driver = drivers[step["backend"]] = LVMDriver(backends[step["backend"]])
                driver.check_setup()
            result = getattr(driver, step["op"])(*_arguments(step))
            if dataclasses.is_dataclass(result):
                result = dataclasses.asdict(result)
            results.append({"ok": result})
        except DriverError as exc:
            results.append({"error": str(exc)})
        print(f"{step['backend']} {step['op']}: {time.monotonic() - started:.2f} s",
              file=sys.stderr)
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
