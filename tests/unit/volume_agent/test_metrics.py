"""The agent's metrics: operation timings and failures, and pool figures on /metrics.

Driven by the recorded fake backend (above the storage contract); the pool figures the
LVM driver reports are tested against real LVM in the storage-node VM tests.
"""

from __future__ import annotations

import logging
import re
import urllib.request

import pytest

from common import messaging
from volume_agent.driver import DriverError, Volume
from volume_agent.fake_driver import FakeVolumeDriver
from volume_agent.metrics import AgentMetrics, InstrumentedDriver, serve

VOLUME = Volume(id="0b6e4a53-7d4b-4a7e-9bb8-5e2f1c9f3a11", size=2)


def _value(text: str, sample: str) -> float:
    match = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.M)
    assert match, f"{sample} not in\n{text}"
    return float(match.group(1))


def test_operations_are_timed_failures_counted_and_logged_with_the_request_id(
        caplog: pytest.LogCaptureFixture) -> None:
    metrics = AgentMetrics()
    driver = InstrumentedDriver(FakeVolumeDriver("fast", 100, fail_creates=True), "fast",
                                metrics)
    token = messaging.request_id.set("req-abc")
    try:
        with caplog.at_level(logging.INFO), pytest.raises(DriverError):
            driver.create_volume(VOLUME)
    finally:
        messaging.request_id.reset(token)
    text = metrics.render({})
    labels = '{backend="fast",operation="create_volume"}'
    assert _value(text, f"cinderblock_volume_operation_failures_total{labels}") == 1
    assert _value(text, f"cinderblock_volume_operation_duration_seconds_count{labels}") == 1
    assert f"create_volume {VOLUME.id} on fast failed" in caplog.text


def test_pool_figures_come_from_the_driver_at_scrape_time() -> None:
    metrics = AgentMetrics()
    fake = FakeVolumeDriver("pool", 100)
    driver = InstrumentedDriver(fake, "lvm", metrics)
    driver.create_volume(VOLUME)
    text = metrics.render({"lvm": driver})
    assert _value(text, 'cinderblock_volume_pool_total_gb{backend="lvm",pool="pool"}') == 100
    assert _value(text, 'cinderblock_volume_pool_free_gb{backend="lvm",pool="pool"}') == 98
    assert _value(text, 'cinderblock_volume_pool_allocated_gb{backend="lvm",pool="pool"}') == 2
    done = '{backend="lvm",operation="create_volume"}'
    assert _value(text, f"cinderblock_volume_operation_duration_seconds_count{done}") == 1
    assert f"cinderblock_volume_operation_failures_total{done}" not in text


def test_metrics_are_served_over_http() -> None:
    metrics = AgentMetrics()
    server = serve("127.0.0.1", 0, {"lvm": FakeVolumeDriver("pool", 10)}, metrics)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            assert 'cinderblock_volume_pool_total_gb{backend="lvm",pool="pool"} 10' in \
                answer.read().decode()
    finally:
        server.shutdown()
