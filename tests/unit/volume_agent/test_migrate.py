"""The agents' migration steps with recording fake drivers: who is asked what, and that
a failed copy leaves nothing on the destination. The real iSCSI copy between two LVM
backends runs in the storage-node VM (tests/agent_vm/test_migration.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from volume_agent import migrate
from volume_agent.driver import DriverError, Volume
from volume_agent.fake_driver import FakeVolumeDriver
from volume_agent.manager import VolumeManager

INITIATOR = "iqn.1993-08.org.debian:01:node1"
CONNECTOR = {"initiator": INITIATOR, "host": "node1", "multipath": False}


class FakeDriverWithFiles(FakeVolumeDriver):
    """The fake driver, with each volume's data in a file of ``root``."""

    def __init__(self, pool_name: str, root: Path) -> None:
        super().__init__(pool_name)
        self.root = root

    def local_path(self, volume: Volume) -> str:
        return str(self.root / volume.id)


class FakeTransport:
    """Routes the source's calls to the destination manager in process and answers the
    controller's ``migration_destination`` from ``destination``; records casts."""

    def __init__(self) -> None:
        self.managers: dict[str, VolumeManager] = {}
        self.destination: str | None = "node1@ssd#ssd"
        self.calls: list[str] = []
        self.casts: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, topic: str, method: str, args: dict[str, Any], timeout: float) -> Any:
        self.calls.append(method)
        if topic == "controller":
            assert method == "migration_destination"
            return self.destination
        return getattr(self.managers[topic], method)(**args)

    def cast(self, topic: str, method: str, args: dict[str, Any], ttl: float | None = None
             ) -> None:
        self.casts.append((topic, method, args))


def _volume(size: int = 1) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "size": size, "extra_specs": {},
            "provider_location": None, "provider_auth": None, "host": "node1@lvm#lvm"}


@pytest.fixture
def dest() -> tuple[FakeVolumeDriver, FakeTransport, VolumeManager]:
    transport = FakeTransport()
    driver = FakeVolumeDriver("ssd")
    manager = VolumeManager("node1", "ssd", driver, transport, zone="nova", backend_name="ssd")
    transport.managers["volume.node1@ssd"] = manager
    return driver, transport, manager


def _copy_to(source: FakeVolumeDriver, volume: dict[str, Any], transport: FakeTransport,
             attach: Any, copy: Any) -> dict[str, Any]:
    destination = {**volume, "host": "node1@ssd#ssd"}
    return migrate.copy_to(
        source, Volume(id=volume["id"], size=volume["size"]), destination, CONNECTOR,
        lambda host, method, args: transport.call(f"volume.{host.split('#')[0]}", method,
                                                  args, 1),
        attach=attach, copy=copy)


def test_copy_goes_through_the_destination_export_and_removes_it(
        tmp_path: Path, dest: tuple[FakeVolumeDriver, FakeTransport, VolumeManager]) -> None:
    dest_driver, transport, _ = dest
    volume = _volume()
    source = FakeDriverWithFiles("lvm", tmp_path)
    (tmp_path / volume["id"]).write_bytes(b"pattern" * 100)
    target = tmp_path / "target-disk"
    seen: list[dict[str, Any]] = []

    @contextmanager
    def attach(data: dict[str, Any]) -> Iterator[str]:
        seen.append(data)
        assert dest_driver.exports[volume["id"]] == (INITIATOR,)  # exported to us alone
        yield str(target)

    def copy(src: str, disk: str, length: int) -> None:
        assert length == 1 << 30
        Path(disk).write_bytes(Path(src).read_bytes())

    update = _copy_to(source, volume, transport, attach, copy)
    assert target.read_bytes() == b"pattern" * 100
    assert seen == [{"volume_id": volume["id"], "target_lun": 0}]
    assert update["provider_location"] == f"fake:ssd/volume-{volume['id']}"
    assert transport.calls == ["create_migration_target", "remove_migration_target"]
    assert dest_driver.volumes == {volume["id"]: 1} and dest_driver.exports == {}


def test_failed_copy_removes_the_destination_volume_and_export(
        tmp_path: Path, dest: tuple[FakeVolumeDriver, FakeTransport, VolumeManager]) -> None:
    dest_driver, transport, _ = dest
    volume = _volume()

    @contextmanager
    def attach(data: dict[str, Any]) -> Iterator[str]:
        yield str(tmp_path / "disk")

    def copy(src: str, disk: str, length: int) -> None:
        raise DriverError("copy to the destination failed: Input/output error")

    with pytest.raises(DriverError, match="Input/output error"):
        _copy_to(FakeDriverWithFiles("lvm", tmp_path), volume, transport, attach, copy)
    assert dest_driver.volumes == {} and dest_driver.exports == {}
    assert [c[0] for c in dest_driver.calls][-1] == "delete_volume"


def test_manager_reports_a_failed_migration_and_asks_nothing(
        tmp_path: Path, dest: tuple[FakeVolumeDriver, FakeTransport, VolumeManager],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, transport, _ = dest
    monkeypatch.setattr(migrate, "INITIATOR_FILE", tmp_path / "initiatorname.iscsi")
    migrate.INITIATOR_FILE.write_text(f"InitiatorName={INITIATOR}\n")
    source = VolumeManager("node1", "lvm", FakeVolumeDriver("lvm"), transport, zone="nova",
                           backend_name="lvm")
    volume = _volume()
    source.migrate_volume(volume, {**volume, "host": "node1@ssd#ssd"})
    assert transport.calls == ["migration_destination"]
    (topic, method, args), = transport.casts
    assert (topic, method, args["status"]) == ("controller", "volume_migrated", "error")
    assert args["host"] == "node1@ssd#ssd" and "no data to copy" in args["error"]


def test_redelivered_migration_of_a_moved_volume_copies_nothing(
        dest: tuple[FakeVolumeDriver, FakeTransport, VolumeManager]) -> None:
    dest_driver, transport, _ = dest
    transport.destination = None  # the controller has recorded the move already
    source = VolumeManager("node1", "lvm", FakeVolumeDriver("lvm"), transport, zone="nova",
                           backend_name="lvm")
    volume = _volume()
    source.migrate_volume(volume, {**volume, "host": "node1@ssd#ssd"})
    assert transport.calls == ["migration_destination"]
    assert transport.casts == [] and dest_driver.calls == []


def test_abandoned_target_and_moved_source_are_removed(
        dest: tuple[FakeVolumeDriver, FakeTransport, VolumeManager]) -> None:
    dest_driver, transport, manager = dest
    volume = _volume()
    manager.create_migration_target(volume, CONNECTOR)
    manager.remove_migration_target(volume, None, delete=True)  # the sweeper's cast
    assert dest_driver.volumes == {} and dest_driver.exports == {}
    manager.create_migration_target(volume, CONNECTOR)
    manager.delete_migration_source(volume)
    assert dest_driver.volumes == {} and transport.casts == []  # nothing reported


def test_local_connector(tmp_path: Path) -> None:
    name = tmp_path / "initiatorname.iscsi"
    name.write_text("## comment\nInitiatorName=" + INITIATOR + "\n")
    assert migrate.local_connector("node1", name) == CONNECTOR
    name.write_text("")
    with pytest.raises(DriverError, match="names no iSCSI initiator"):
        migrate.local_connector("node1", name)
    with pytest.raises(DriverError, match="cannot read"):
        migrate.local_connector("node1", tmp_path / "missing")
