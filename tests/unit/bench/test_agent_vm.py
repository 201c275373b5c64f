"""The VM bench's pieces that need no VM: the stand-in controller and the table rows."""

from __future__ import annotations

import threading

import pytest

from bench.agent_vm import StandInController, figures, parse_counts


def test_the_stand_in_controller_answers_start_up_calls_and_waits_for_casts() -> None:
    controller = StandInController()
    controller.exports = [{"volume": {"id": "v1"}, "initiators": ["iqn.x"]}]
    controller.known = ["v1"]
    assert controller.exports_for_host(host="n@lvm") == controller.exports
    assert controller.volumes_for_host(host="n@lvm") == ["v1"]
    with pytest.raises(AttributeError):
        controller._private  # noqa: B018 (the Server never dispatches these)

    threading.Timer(0.05, lambda: controller.volume_created(
        volume_id="v1", status="available", error=None)).start()
    assert controller.wait("volume_created", "v1", timeout=5) > 0
    controller.capabilities(host="n", backend="lvm", pools=[])
    with pytest.raises(TimeoutError):
        controller.wait("volume_deleted", "v1", timeout=0.1)
    controller.volume_deleted(volume_id="v2", status="error_deleting", error="busy")
    with pytest.raises(RuntimeError, match="busy"):
        controller.wait("volume_deleted", "v2", timeout=1)


def test_rows_name_every_count_and_the_growth_per_added_export() -> None:
    result = {
        "one_volume": [{"exports": 0, "create_and_export_s": 2.0, "delete_s": 1.0}],
        "reconcile": {
            "rebuild": [{"exports": 25, "rebuild_s": 5.0, "per_export_ms": 200.0,
                         "added_per_export_ms": None},
                        {"exports": 50, "rebuild_s": 9.0, "per_export_ms": 180.0,
                         "added_per_export_ms": 160.0}],
            "check": {"exports": 50, "check_s": 1.5, "per_export_ms": 30.0}}}
    rows = {f.key: f.values for f in figures(result)}
    assert rows["agent_rebuild_per_added_export_50"] == {"cinderblock": 160.0}
    assert "agent_rebuild_per_added_export_25" not in rows
    assert rows["agent_check_per_export"] == {"cinderblock": 30.0}
    assert rows["agent_create_export_0"] == {"cinderblock": 2.0}
    assert parse_counts("200,25, 50,25") == [25, 50, 200]
