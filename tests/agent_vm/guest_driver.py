"""Run batches of LVMDriver calls inside the storage-node VM from one long-lived process.

Python start-up and imports cost seconds under TCG, and a real agent is one long-lived
process too (with rtslib's caches outliving changes made by others), so the tests
start this once: ``python3 -m tests.agent_vm.guest_driver CONFIG QUEUE_DIR``. Each
``QUEUE_DIR/<name>.json`` holds a JSON list of steps ``{"backend": name, "op": method,
...arguments}``; the answer, ``{"ok": result}`` or ``{"error": message}`` per step,
appears as ``<name>.out`` (timings per step in ``<name>.err``). ``QUEUE_DIR/STOP``
ends the process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from common.config import Config, load
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


class _Runner:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.drivers: dict[str, LVMDriver] = {}

    def run(self, steps: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        results, timings = [], []
        for step in steps:
            started = time.monotonic()
            try:
                driver = self.drivers.get(step["backend"])
                if driver is None:
                    driver = LVMDriver(self.config.backends[step["backend"]])
                    driver.check_setup()
                    self.drivers[step["backend"]] = driver
                result = getattr(driver, step["op"])(*_arguments(step))
                if dataclasses.is_dataclass(result):
                    result = dataclasses.asdict(result)
                results.append({"ok": result})
            except DriverError as exc:
                results.append({"error": str(exc)})
            timings.append(f"{step['backend']} {step['op']}: {time.monotonic() - started:.2f} s")
        return results, "\n".join(timings)


def serve(config_path: str, queue: Path) -> int:
    runner = _Runner(load([config_path]))
    while not (queue / "STOP").exists():
        for request in sorted(queue.glob("*.json")):
            results, timings = runner.run(json.loads(request.read_text()))
            request.unlink()
            answer = request.with_suffix(".tmp")
            request.with_suffix(".err").write_text(timings)
            answer.write_text(json.dumps(results))
            os.replace(answer, request.with_suffix(".out"))
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], Path(sys.argv[2])))
