"""What every figure shares: the running systems, one API client per system and project,
turn-taking between systems, per-system failure records, and emptying a project."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bench.client import FAILURES, Api
from bench.sut import SystemUnderTest

T = TypeVar("T")
DELETE_THREADS = 20


def project_id(figure: str) -> str:
    """A noauth project per figure (hex, as Cinder's noauth wants), so figures never share."""
    return (figure.encode().hex() * 32)[:32]


class Harness:
    def __init__(self, systems: list[SystemUnderTest]) -> None:
        self.systems = systems
        self.details: dict[str, dict[str, Any]] = {s.name: {} for s in systems}
        self.errors: dict[str, list[str]] = {s.name: [] for s in systems}
        self.failed_creates: dict[str, int] = {s.name: 0 for s in systems}
        self._apis: dict[tuple[str, str], Api] = {}

    def api(self, system: SystemUnderTest, figure: str) -> Api:
        key = (system.name, figure)
        if key not in self._apis:
            self._apis[key] = Api(system.endpoint, project_id(figure))
        return self._apis[key]

    def close(self) -> None:
        for api in self._apis.values():
            api.close()
        self._apis.clear()

    def turns(self, round_no: int) -> list[SystemUnderTest]:
        """Both systems, the first one alternating by round, so drift and noise in the
        machine fall on each alike rather than always on the one measured second."""
        shift = round_no % len(self.systems)
        return self.systems[shift:] + self.systems[:shift]

    def guarded(self, system: SystemUnderTest, figure: str, measure: Callable[[], T]) -> T | None:
        """``measure()``, or None with the failure recorded: one system's missing feature
        (a 404 API, a stuck volume) must not stop the other system's figures."""
        try:
            return measure()
        except FAILURES as exc:
            self.note(system, f"{figure}: {type(exc).__name__}: {exc}")
            return None

    def note(self, system: SystemUnderTest, message: str) -> None:
        print(f"[bench] {system.name}: {message}", flush=True)
        self.errors[system.name].append(message)

    def record(self, system: SystemUnderTest, key: str, value: Any) -> None:
        self.details[system.name][key] = value

    def empty_project(self, system: SystemUnderTest, figure: str) -> float | None:
        """Delete every volume of the figure's project and wait until all are gone, so the
        next figure starts from the same state on both systems; seconds taken. The
        figure's client then closes its connections: Cinder's eventlet server holds a
        green thread per open connection (100 per worker), and with the idle kept-alive
        connections of the bursts before left open, 56 POSTs of a 200-create burst
        waited two minutes for one."""
        api = self.api(system, figure)

        def delete_all() -> float:
            ids = api.volume_ids()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(DELETE_THREADS) as pool:
                list(pool.map(api.purge_volume, ids))
            return api.wait_gone(ids, t0) if ids else 0.0

        try:
            return self.guarded(system, f"{figure} cleanup", delete_all)
        finally:
            self._apis.pop((system.name, figure)).close()
