"""Fakes of the LVM wrapper and the LIO exporter, for testing the driver logic above
them on a host without device-mapper or LIO. The real ones are tested in the VM."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from volume_agent.driver import DriverError
from volume_agent.lvm import GiB, LogicalVolume, LVMError, VolumeGroup
from volume_agent.reconcile import AclState, TargetState


class FakeLVM:
    """A volume group in memory; an LV's content is a short bytes value."""

    def __init__(self, vg: str = "cinder-volumes", size: int = 100 * GiB,
                 thin_supported: bool = True) -> None:
        self.vg = vg
        self.pool_name = f"{vg}-pool"
        self.size = size
        self.thin_supported = thin_supported
        self.lvs: dict[str, LogicalVolume] = {}
        self.content: dict[str, bytes] = {}
        self.device_sizes: dict[str, int] = {}
        self.zeroed: list[tuple[str, int, bool]] = []
        self.calls: list[str] = []
        self.failures: dict[str, str] = {}

    def _step(self, op: str) -> None:
        self.calls.append(op)
        if op in self.failures:
            raise LVMError(["lvm", op], 5, self.failures[op])

    def _add(self, name: str, size: int, segtype: str, origin: str = "",
             tags: frozenset[str] = frozenset()) -> None:
        if name in self.lvs:
            raise LVMError(["lvcreate"], 5, f"Logical Volume \"{name}\" already exists")
        self.lvs[name] = LogicalVolume(name, size, "-wi-a-----", origin,
                                       self.pool_name if segtype == "thin" else "", segtype,
                                       None, None, tags)

    def lv_path(self, name: str) -> str:
        return f"/dev/{self.vg}/{name}"

    def vg_info(self) -> VolumeGroup:
        self._step("vgs")
        used = sum(lv.size for lv in self.lvs.values() if lv.segtype != "thin")
        return VolumeGroup(self.vg, self.size, self.size - used)

    def list_lvs(self) -> dict[str, LogicalVolume]:
        self._step("lvs")
        return dict(self.lvs)

    def supports_thin(self) -> bool:
        return self.thin_supported

    def create_thin_pool(self) -> None:
        self._step("create_thin_pool")
        self._add(self.pool_name, self.vg_info().free * 95 // 100, "thin-pool")
        self.lvs[self.pool_name] = replace(self.lvs[self.pool_name], data_percent=0.0,
                                           metadata_percent=0.0)

    def create_lv(self, name: str, size: int, thin: bool, tags: tuple[str, ...] = ()) -> None:
        self._step("create_lv")
        self._add(name, size, "thin" if thin else "linear", tags=frozenset(tags))
        self.content[name] = b""

    def remove_tag(self, name: str, tag: str) -> None:
        self._step("remove_tag")
        self.lvs[name] = replace(self.lvs[name], tags=self.lvs[name].tags - {tag})

    def create_snapshot(self, name: str, origin: str, thin: bool,
                        size: int | None = None, tags: tuple[str, ...] = ()) -> None:
        self._step("create_snapshot")
        src = self.lvs[origin]
        self._add(name, src.size if thin else size, "thin" if thin else "snapshot", origin,
                  frozenset(tags))
        self.content[name] = self.content.get(origin, b"")
        self.device_sizes[name] = src.size

    def extend(self, name: str, size: int) -> None:
        self._step("extend")
        self.lvs[name] = replace(self.lvs[name], size=size)

    def remove(self, name: str) -> None:
        self._step("remove")
        if name not in self.lvs:
            raise LVMError(["lvremove"], 5, f"Failed to find logical volume \"{name}\"")
        del self.lvs[name]
        self.content.pop(name, None)

    def device_size(self, name: str) -> int:
        return self.device_sizes.get(name, self.lvs[name].size)

    def copy(self, source: str, dest: str, length: int, sparse: bool,
             progress: Callable[[int], None] | None = None) -> None:
        self._step("copy")
        self.content[dest] = self.content[source]
        if progress is not None:
            progress(length)

    def zero(self, name: str, size: int, cow: bool = False,
             progress: Callable[[int], None] | None = None) -> None:
        self._step("zero")
        self.zeroed.append((name, size, cow))
        if progress is not None:
            progress(size)


@dataclass
class _FakeTarget:
    so_name: str
    device: str
    discard: bool
    acls: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    portal: str = "127.0.0.1:3260"
    healthy: bool = True


class FakeExporter:
    """LIO in memory: targets by IQN, each with its ACLs and storage object."""

    def __init__(self, portal: str = "127.0.0.1:3260") -> None:
        self.portal = portal
        self.targets: dict[str, _FakeTarget] = {}
        self.objects: dict[str, str] = {}
        self.fail_set_acl = False
        self.fail_targets: set[str] = set()
        self.list_calls = 0
        self.saving_held = False
        self.changes_saved_alone = 0

    def _changed(self) -> None:
        """Counts the changes that would each be followed by a save of their own."""
        if not self.saving_held:
            self.changes_saved_alone += 1

    @contextlib.contextmanager
    def one_save(self) -> Iterator[None]:
        self.saving_held = True
        try:
            yield
        finally:
            self.saving_held = False

    def ensure_target(self, iqn: str, so_name: str, device: str, discard: bool) -> bool:
        if iqn in self.fail_targets:
            raise DriverError(f"cannot export {device} as {iqn}: fake failure")
        if iqn in self.targets:
            return False
        self._changed()
        self.objects[so_name] = device
        self.targets[iqn] = _FakeTarget(so_name, device, discard, portal=self.portal)
        return True

    def set_acl(self, iqn: str, initiator: str, userid: str, password: str,
                readonly: bool) -> None:
        if self.fail_set_acl:
            raise DriverError(f"cannot allow {initiator} on {iqn}: fake failure")
        if iqn not in self.targets:
            raise DriverError(f"target {iqn} does not exist")
        self._changed()
        self.targets[iqn].acls[initiator.lower()] = (userid, password, readonly)

    def remove_acl(self, iqn: str, initiator: str | None) -> int:
        target = self.targets.get(iqn)
        if target is None:
            return 0
        self._changed()
        for name in list(target.acls):
            if initiator is None or name == initiator.lower():
                del target.acls[name]
        return len(target.acls)

    def credentials(self, iqn: str) -> tuple[str, str] | None:
        target = self.targets.get(iqn)
        if target is None or not target.acls:
            return None
        user, password, _ = next(iter(target.acls.values()))
        return user, password

    def remove_target(self, iqn: str, so_name: str | None) -> bool:
        self._changed()
        found = self.targets.pop(iqn, None) is not None
        return (so_name is not None and self.objects.pop(so_name, None) is not None) or found

    def remove_object(self, so_name: str) -> bool:
        self._changed()
        return self.objects.pop(so_name, None) is not None

    def list_targets(self) -> tuple[dict[str, TargetState], dict[str, str]]:
        self.list_calls += 1
        states = {
            iqn: TargetState(
                iqn=iqn, device=t.device, so_name=t.so_name, portals=frozenset({t.portal}),
                healthy_tpg=t.healthy,
                acls={name: AclState(name, user, password, True, ro)
                      for name, (user, password, ro) in t.acls.items()})
            for iqn, t in self.targets.items()}
        return states, dict(self.objects)
