"""What the volume service measures: storage operations and the pools it serves.

Every driver operation is timed and its failures counted, with one log line each (the
request id comes from the log filter, so the agent's part of a request is greppable);
pool figures (VG or thin-pool size, free, data% and metadata%, volume count) are read
from the driver when Prometheus scrapes ``/metrics`` on ``metrics_port``, so a scrape
always shows the storage as it is, not as the last capability report saw it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common.prometheus import CONTENT_TYPE, Counter, Gauge, Histogram, Registry
from volume_agent.driver import VolumeDriver

__all__ = ["InstrumentedDriver", "AgentMetrics", "serve"]

LOG = logging.getLogger(__name__)
OPERATIONS = frozenset({
    "create_volume", "delete_volume", "extend_volume", "create_snapshot", "delete_snapshot",
    "initialize_connection", "terminate_connection", "reconcile_exports", "revert_to_snapshot",
})
# Pool dict key (Cinder's capability names) -> metric name and help.
POOL_FIGURES = {
    "total_capacity_gb": ("cinderblock_volume_pool_total_gb",
                          "Size of the pool (thick: the VG; thin: the thin pool), GiB."),
    "free_capacity_gb": ("cinderblock_volume_pool_free_gb", "Unused space in the pool, GiB."),
    "provisioned_capacity_gb": ("cinderblock_volume_pool_provisioned_gb",
                                "Space promised to volumes, GiB."),
    "allocated_capacity_gb": ("cinderblock_volume_pool_allocated_gb",
                              "Size of the volumes on the pool, GiB."),
    "total_volumes": ("cinderblock_volume_pool_volumes", "Volumes and snapshots on the pool."),
    "pool_data_percent": ("cinderblock_volume_thin_pool_data_percent",
                          "Thin pool data usage, percent."),
    "pool_metadata_percent": ("cinderblock_volume_thin_pool_metadata_percent",
                              "Thin pool metadata usage, percent: full means no writes."),
}


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = Registry()
        self.latency = self.registry.add(Histogram(
            "cinderblock_volume_operation_duration_seconds",
            "Time a storage operation took, failed or not.", ("backend", "operation")))
        self.failures = self.registry.add(Counter(
            "cinderblock_volume_operation_failures_total",
            "Storage operations that raised.", ("backend", "operation")))
        self.pools = {key: self.registry.add(Gauge(name, help, ("backend", "pool")))
                      for key, (name, help) in POOL_FIGURES.items()}
        self.lock = threading.Lock()

    def record(self, backend: str, operation: str, seconds: float, failed: bool) -> None:
        with self.lock:
            self.latency.observe((backend, operation), seconds)
            if failed:
                self.failures.inc((backend, operation))

    def render(self, drivers: Mapping[str, VolumeDriver]) -> str:
        readings: dict[str, dict[tuple[str, ...], float]] = {key: {} for key in POOL_FIGURES}
        for backend, driver in drivers.items():
            try:
                pools = driver.get_pools()
            except Exception:
                LOG.exception("%s: pools not readable for /metrics", backend)
                continue
            for pool in pools:
                for key in POOL_FIGURES:
                    if isinstance(pool.get(key), int | float):
                        readings[key][(backend, str(pool["pool_name"]))] = float(pool[key])
        with self.lock:
            for key, values in readings.items():
                self.pools[key].replace(values)
            return self.registry.render()


METRICS = AgentMetrics()


class InstrumentedDriver:
    """A driver that times its operations; every other attribute is the driver's own."""

    def __init__(self, driver: VolumeDriver, backend: str,
                 metrics: AgentMetrics = METRICS) -> None:
        self._driver = driver
        self._backend = backend
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._driver, name)
        return self._timed(name, attribute) if name in OPERATIONS else attribute

    def _timed(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            subject = getattr(args[0], "id", "") if args else ""
            started = time.monotonic()
            failed = True
            try:
                result = call(*args, **kwargs)
                failed = False
                return result
            finally:
                elapsed = time.monotonic() - started
                self._metrics.record(self._backend, operation, elapsed, failed)
                LOG.log(logging.WARNING if failed else logging.INFO, "%s %s on %s %s in %.3f s",
                        operation, subject, self._backend, "failed" if failed else "done",
                        elapsed)
        return timed


def serve(host: str, port: int, drivers: Mapping[str, VolumeDriver],
          metrics: AgentMetrics = METRICS) -> ThreadingHTTPServer:
    """Answer ``GET /metrics`` on a daemon thread; returns the server (``shutdown()``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = metrics.render(drivers).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("metrics: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
