"""VolumeManager's ordering and start-up logic, with a recording fake driver and a fake
transport (the real broker is exercised in tests/messaging)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from volume_agent.driver import DriverError, ReconcileReport
from volume_agent.fake_driver import FakeVolumeDriver
from volume_agent.manager import VolumeManager

INITIATOR = "iqn.1993-08.org.debian:01:compute-1"


class FakeTransport:
    """Answers the controller's calls from ``answers``; records casts."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.casts: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, topic: str, method: str, args: dict[str, Any], timeout: float) -> Any:
        return self.answers[method]

    def cast(self, topic: str, method: str, args: dict[str, Any], ttl: float | None = None
             ) -> None:
        self.casts.append((topic, method, args))


class SlowFakeDriver:
    """Records when each export call starts and ends; exports take a while."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.known: set[str] | None = None
        self.fail_orphans = False

    def initialize_connection(self, volume: Any, connector: dict[str, Any]) -> dict[str, Any]:
        self.events.append(("init-start", volume.id))
        time.sleep(0.2)
        self.events.append(("init-end", volume.id))
        return {}

    def terminate_connection(self, volume: Any, connector: dict[str, Any] | None) -> None:
        self.events.append(("term-start", volume.id))
        self.events.append(("term-end", volume.id))

    def reconcile_exports(self, exports: list[Any]) -> ReconcileReport:
        return ReconcileReport()

    def remove_orphans(self, known: set[str]) -> list[str]:
        if self.fail_orphans:
            raise DriverError("list volumes failed: VG locked")
        self.known = known
        return []


def manager(driver: Any, answers: dict[str, Any] | None = None) -> VolumeManager:
    return VolumeManager("node", "lvm", driver, FakeTransport(answers or {}), zone="nova",
                         backend_name="lvm")


def volume(volume_id: str) -> dict[str, Any]:
    return {"id": volume_id, "size": 1}


def test_a_terminate_waits_for_the_export_of_the_same_volume() -> None:
    driver = SlowFakeDriver()
    agent = manager(driver)
    connector = {"initiator": INITIATOR}
    export = threading.Thread(target=agent.initialize_connection,
                              args=(volume("v1"), connector))
    export.start()
    time.sleep(0.05)
    other = threading.Thread(target=agent.initialize_connection, args=(volume("v2"), connector))
    other.start()
    agent.terminate_connection(volume("v1"), connector)
    export.join()
    other.join()
    v1 = [event for event, vid in driver.events if vid == "v1"]
    assert v1 == ["init-start", "init-end", "term-start", "term-end"]
    # Another volume's export ran meanwhile, not after.
    assert driver.events.index(("init-start", "v2")) < driver.events.index(("init-end", "v1"))
    assert agent._locks == {}


def test_start_up_passes_the_controllers_volumes_to_the_orphan_check() -> None:
    driver = SlowFakeDriver()
    manager(driver, {"exports_for_host": [], "volumes_for_host": ["a", "b"]}
            ).reconcile_exports(timeout=1)
    assert driver.known == {"a", "b"}


def test_a_failed_orphan_check_does_not_stop_start_up(caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    driver = SlowFakeDriver()
    driver.fail_orphans = True
    manager(driver, {"exports_for_host": [], "volumes_for_host": []}).reconcile_exports(1)
    assert "orphan volumes not checked: list volumes failed: VG locked" in caplog.text


def exporting_agent() -> tuple[VolumeManager, FakeVolumeDriver]:
    driver = FakeVolumeDriver("pool")
    return manager(driver, {"exports_for_host": [], "volumes_for_host": []}), driver


CONNECTOR = {"initiator": INITIATOR}


def test_a_late_undo_keeps_the_access_a_newer_attachment_got() -> None:
    """Attachment a1's export timed out and the controller queued its undo; a2 (same
    initiator) got exported meanwhile. The undo must leave a2's access in place."""
    agent, driver = exporting_agent()
    agent.initialize_connection(volume("v1"), CONNECTOR, "a1")
    agent.initialize_connection(volume("v1"), CONNECTOR, "a2")
    agent.terminate_connection(volume("v1"), CONNECTOR, "a1")
    assert driver.exports == {"v1": (INITIATOR,)}
    agent.terminate_connection(volume("v1"), CONNECTOR)
    assert driver.exports == {}


def test_a_late_undo_keeps_the_access_when_the_stale_export_ran_last() -> None:
    """Several workers: the timed-out export of a1 may run after a2's; its undo still
    must not remove what a2 uses."""
    agent, driver = exporting_agent()
    agent.initialize_connection(volume("v1"), CONNECTOR, "a2")
    agent.initialize_connection(volume("v1"), CONNECTOR, "a1")
    agent.terminate_connection(volume("v1"), CONNECTOR, "a1")
    assert driver.exports == {"v1": (INITIATOR,)}


def test_an_undo_with_no_newer_export_removes_the_access() -> None:
    agent, driver = exporting_agent()
    other = {"initiator": "iqn.1993-08.org.debian:01:compute-2"}
    agent.initialize_connection(volume("v1"), CONNECTOR, "a1")
    agent.initialize_connection(volume("v1"), other, "a2")
    agent.terminate_connection(volume("v1"), CONNECTOR, "a1")
    assert driver.exports == {"v1": (other["initiator"],)}
    agent.terminate_connection(volume("v1"), other, "a2")
    assert driver.exports == {}
    assert agent._owners == {}


def test_an_undo_of_an_export_made_before_a_restart_is_ignored() -> None:
    """After a restart the exports are the database's: an undo queued before it names
    an export this process never made, and the restored access stays."""
    driver = FakeVolumeDriver("pool")
    agent = manager(driver, {"exports_for_host": [{"volume": volume("v1"),
                                                   "initiators": [INITIATOR]}],
                             "volumes_for_host": []})
    agent.reconcile_exports(timeout=1)
    agent.terminate_connection(volume("v1"), CONNECTOR, "a1")
    assert driver.exports == {"v1": (INITIATOR,)}
    agent.terminate_connection(volume("v1"), CONNECTOR)
    assert driver.exports == {}
