"""The fake backend reports what clients check in a backend's capabilities."""

from __future__ import annotations

from volume_agent.fake_driver import FakeVolumeDriver


def test_pools_report_a_driver_version():
    """Cinder's capabilities schema (Tempest checks it) requires a string there."""
    (pool,) = FakeVolumeDriver("pool", 10).get_pools()
    assert isinstance(pool["driver_version"], str) and pool["driver_version"]
