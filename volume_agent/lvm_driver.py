"""Volumes as LVM logical volumes, exported to initiators through LIO.

Everything is keyed on the volume or snapshot id and idempotent, so a redelivered
message is harmless. The agent keeps no state of its own: CHAP credentials travel
to the controller as ``provider_auth`` and come back with every later request.
"""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

from common.config import Section
from volume_agent import capacity, connection, reconcile
from volume_agent.driver import DriverError, Export, ReconcileReport, Snapshot, Volume
from volume_agent.lvm import (
    LVM,
    GiB,
    LogicalVolume,
    LVMError,
    MiB,
    clone_lv,
    snapshot_lv,
    volume_lv,
)
from volume_agent.progress import Tracker

__all__ = ["LVMDriver", "primary_address"]

LOG = logging.getLogger(__name__)
# Set on an LV while its content is still being copied: a redelivered create that
# finds it knows the copy never finished and starts again instead of succeeding.
_INCOMPLETE = "cinderblock-incomplete"
# Set on every volume LV this agent makes: only such LVs are ever removed as orphans,
# never a volume-<uuid> another tool (or a Cinder sharing the VG) made.
OWNER_TAG = "cinderblock"
_VOLUME_LV = re.compile(r"^volume-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_ALL_ADDRESSES = {"", "0.0.0.0"}
_IPV6_ANY = {"::", "[::]"}
# A documentation address (RFC 5737): connecting a UDP socket to it sends nothing but
# makes the kernel pick the source address of the default route.
_PROBE = ("192.0.2.1", 9)


def primary_address() -> str | None:
    """The address other hosts most likely reach this node on: the source address of
    its default route (as Cinder's ``my_ip`` default); None without a route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class LVMDriver:
    """One ``enabled_backends`` section: its VG, its thin pool, its targets.

    ``lvm`` and ``exporter`` default to the real LVM wrapper and LIO exporter; the
    unit tests pass fakes of the same shape.
    """

    def __init__(self, backend_conf: Section, *, lvm: Any = None, exporter: Any = None) -> None:
        self.conf = backend_conf
        self.backend_name = backend_conf.volume_backend_name or backend_conf.name
        self.lvm = lvm if lvm is not None else LVM(backend_conf.volume_group)
        address = backend_conf.target_ip_address or ""
        listen_ip = "0.0.0.0" if address in _ALL_ADDRESSES else address
        if exporter is None:
            from volume_agent.lio import LIOExporter  # rtslib only where LIO is used
            exporter = LIOExporter(listen_ip, backend_conf.target_port)
        self.exporter = exporter
        self.listen_portal = f"{listen_ip}:{backend_conf.target_port}"
        advertised = primary_address() if address in _ALL_ADDRESSES else address
        self.portal = f"{advertised}:{backend_conf.target_port}" if advertised else None
        self._thin: bool | None = None

    # -- set-up --------------------------------------------------------------------

    def check_setup(self) -> None:
        helper = self.conf.target_helper
        if helper != "lioadm":
            raise DriverError(f"[{self.conf.name}] target_helper = {helper}: only LIO "
                              "(lioadm) is supported")
        if self.conf.target_ip_address in _IPV6_ANY:
            raise DriverError(f"[{self.conf.name}] target_ip_address = "
                              f"{self.conf.target_ip_address}: name an address, or leave it "
                              "unset to listen on every IPv4 address")
        if self.portal is None:
            raise DriverError(f"[{self.conf.name}] target_ip_address is unset and this node "
                              "has no routable address to advertise; set target_ip_address")
        self._resolve_type()

    def _resolve_type(self) -> bool:
        """Decide thick or thin once, as Cinder does for ``lvm_type = auto``: thin when
        LVM supports it and the VG already has our pool or has no LV at all."""
        if self._thin is not None:
            return self._thin
        try:
            self.lvm.vg_info()
            lvm_type = self.conf.lvm_type
            if lvm_type == "default":
                self._thin = False
                return False
            lvs = self.lvm.list_lvs()
            if lvm_type == "auto":
                thin = self.lvm.supports_thin() and (self.lvm.pool_name in lvs or not lvs)
            elif not self.lvm.supports_thin():
                raise DriverError("lvm_type = thin, but LVM here has no thin provisioning")
            else:
                thin = True
            if thin and self.lvm.pool_name not in lvs:
                LOG.info("creating thin pool %s/%s", self.lvm.vg, self.lvm.pool_name)
                self.lvm.create_thin_pool()
        except LVMError as exc:
            raise DriverError(f"volume group {self.conf.volume_group} is not usable: "
                              f"{exc.stderr}") from exc
        self._thin = thin
        return thin

    # -- volumes -------------------------------------------------------------------

    def create_volume(self, volume: Volume) -> dict[str, Any]:
        thin = self._resolve_type()
        name = volume_lv(volume.id)
        size = volume.size * GiB
        lvs = self._lvs()
        existing = lvs.get(name)
        if existing is not None and _INCOMPLETE in existing.tags:
            LOG.info("volume %s: an earlier create did not finish; starting again", volume.id)
            self._lvm_step("remove unfinished volume", self.lvm.remove, name)
            existing = None
        if existing is None:
            if volume.snapshot_id:
                self._create_copy(name, size, lvs, snapshot_lv(volume.snapshot_id), thin,
                                  volume.id, "snapshot")
            elif volume.source_volid:
                self._create_copy(name, size, lvs, volume_lv(volume.source_volid), thin,
                                  volume.id, "source volume")
            else:
                self._lvm_step("create volume", self.lvm.create_lv, name, size, thin,
                               (OWNER_TAG,))
        elif existing.size < size:
            self._lvm_step("extend volume", self.lvm.extend, name, size)
        return {"provider_location": self._location(volume)}

    def _create_copy(self, name: str, size: int, lvs: dict[str, LogicalVolume], source: str,
                     thin: bool, volume_id: str, what: str) -> None:
        """From a snapshot or a volume: a thin snapshot when the source is thin (no
        data copied), else a block copy; the new LV is removed if any step fails."""
        src = lvs.get(source)
        if src is None:
            raise DriverError(f"cannot create volume {volume_id}: its {what} {source} "
                              "does not exist on this backend")
        if src.is_thin:
            self._lvm_step("snapshot source", self.lvm.create_snapshot, name, source, True,
                           None, (OWNER_TAG,))
            try:
                if size > src.size:
                    self._lvm_step("extend volume", self.lvm.extend, name, size)
            except DriverError:
                self._remove_quietly(name)
                raise
            return
        temp = None
        if what == "source volume":
            # Copy from a frozen image of an origin that may be in use meanwhile.
            temp = clone_lv(volume_id)
            if temp in lvs:
                self._remove_quietly(temp)
            self._lvm_step("snapshot source", self.lvm.create_snapshot, temp, source, False,
                           src.size)
        try:
            self._lvm_step("create volume", self.lvm.create_lv, name, size, thin,
                           (OWNER_TAG, _INCOMPLETE))
            copy_from = temp or source
            length = min(size, self.lvm.device_size(copy_from))
            self._lvm_step("copy data", self.lvm.copy, copy_from, name, length, thin,
                           Tracker(volume_id, "copy", length).update)
            self._lvm_step("mark volume complete", self.lvm.remove_tag, name, _INCOMPLETE)
        except (DriverError, OSError) as exc:
            self._remove_quietly(name)
            if isinstance(exc, OSError):
                raise DriverError(f"cannot read {what} {source}: {exc.strerror}") from exc
            raise
        finally:
            if temp is not None:
                self._remove_quietly(temp)

    def delete_volume(self, volume: Volume) -> None:
        name = volume_lv(volume.id)
        lvs = self._lvs()
        snaps = sorted(lv.name for lv in lvs.values()
                       if lv.origin == name and lv.name.startswith("_snapshot-"))
        if snaps:
            raise DriverError(f"volume {volume.id} still has snapshots: {', '.join(snaps)}")
        self._remove_export(volume)
        temp = clone_lv(volume.id)
        if temp in lvs:
            self._lvm_step("remove temporary snapshot", self.lvm.remove, temp)
        lv = lvs.get(name)
        if lv is None:
            return
        if not lv.is_thin and self.conf.volume_clear == "zero":
            length = self._clear_bytes(lv.size)
            self._lvm_step("wipe volume", self.lvm.zero, name, length, False,
                           Tracker(volume.id, "clear", length).update)
        self._lvm_step("remove volume", self.lvm.remove, name)

    def local_path(self, volume: Volume) -> str:
        name = volume_lv(volume.id)
        if name not in self._lvs():
            raise DriverError(f"volume {volume.id} does not exist on this backend")
        return self.lvm.lv_path(name)

    def _clear_bytes(self, size: int) -> int:
        limit = self.conf.volume_clear_size * MiB
        return min(size, limit) if limit else size

    def extend_volume(self, volume: Volume, new_size: int) -> None:
        name = volume_lv(volume.id)
        lv = self._lvs().get(name)
        if lv is None:
            raise DriverError(f"cannot extend volume {volume.id}: it does not exist")
        if lv.size < new_size * GiB:
            self._lvm_step("extend volume", self.lvm.extend, name, new_size * GiB)

    # -- snapshots -----------------------------------------------------------------

    def create_snapshot(self, snapshot: Snapshot) -> dict[str, Any]:
        name = snapshot_lv(snapshot.id)
        origin = volume_lv(snapshot.volume_id)
        lvs = self._lvs()
        if name in lvs:
            return {}
        src = lvs.get(origin)
        if src is None:
            raise DriverError(f"cannot snapshot volume {snapshot.volume_id}: it does not exist")
        self._lvm_step("create snapshot", self.lvm.create_snapshot, name, origin, src.is_thin,
                       None if src.is_thin else src.size)
        return {}

    def delete_snapshot(self, snapshot: Snapshot) -> None:
        name = snapshot_lv(snapshot.id)
        lv = self._lvs().get(name)
        if lv is None:
            return
        if not lv.is_thin and self.conf.volume_clear == "zero":
            self._lvm_step("wipe snapshot", self.lvm.zero, name, self._clear_bytes(lv.size),
                           True)
        self._lvm_step("remove snapshot", self.lvm.remove, name)

    def revert_to_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """Copy the snapshot's blocks back over its origin, thick or thin alike. Unlike
        ``lvconvert --merge`` (Cinder's thick way) this keeps the snapshot, needs no
        deactivation and works on thin LVs; a thick snapshot's store, sized like the
        origin, takes every overwritten chunk without filling. Zero blocks are written
        too: they must replace what was written since. A failed copy leaves the volume
        part reverted, which the controller reports as ``error``; reverting again repairs
        it."""
        name, source = volume_lv(volume.id), snapshot_lv(snapshot.id)
        lvs = self._lvs()
        snap = lvs.get(source)
        if snap is None or snap.origin != name:
            raise DriverError(f"cannot revert volume {volume.id}: snapshot {snapshot.id} "
                              "of it does not exist on this backend")
        length = self._lvm_step("read snapshot size", self.lvm.device_size, source)
        if length != snapshot.volume_size * GiB:
            raise DriverError(f"cannot revert volume {volume.id}: snapshot {snapshot.id} "
                              f"holds {length} bytes, not {snapshot.volume_size} GiB")
        self._lvm_step("copy snapshot to volume", self.lvm.copy, source, name, length, False,
                       Tracker(volume.id, "revert", length).update)

    # -- exports -------------------------------------------------------------------

    def _iqn(self, volume: Volume) -> str:
        name = volume_lv(volume.id)
        return (connection.location_iqn(volume.provider_location, name)
                or f"{self.conf.target_prefix}{name}".lower())

    def _location(self, volume: Volume) -> str:
        return connection.format_location(self.portal, self._iqn(volume))

    def _credentials(self, volume: Volume, iqn: str) -> connection.Chap:
        """The controller's copy first, then those of a live ACL (another initiator of
        the same volume, not yet persisted), and only then new ones: a volume keeps
        one secret for its whole life, also across a lost configuration."""
        return (connection.parse_auth(volume.provider_auth)
                or self._exporter_step("read credentials", self.exporter.credentials, iqn)
                or connection.new_chap())

    def initialize_connection(self, volume: Volume, connector: dict[str, Any]
                              ) -> dict[str, Any]:
        initiator = connector.get("initiator") if connector else None
        if not connection.valid_initiator(initiator):
            raise DriverError("the connector has no valid iSCSI initiator name")
        mode = connector.get("mode", "rw")
        if mode not in ("rw", "ro"):
            raise DriverError(f"access mode {mode!r} is not rw or ro")
        name = volume_lv(volume.id)
        lv = self._lvs().get(name)
        if lv is None:
            raise DriverError(f"cannot export volume {volume.id}: it does not exist")
        iqn = self._iqn(volume)
        chap = self._credentials(volume, iqn)
        created = self._exporter_step("export volume", self.exporter.ensure_target, iqn, name,
                                      self.lvm.lv_path(name), lv.is_thin)
        try:
            self._exporter_step("allow initiator", self.exporter.set_acl, iqn, initiator,
                                chap[0], chap[1], mode == "ro")
        except DriverError:
            if created:
                self._exporter_step("undo export", self.exporter.remove_target, iqn, name)
            raise
        LOG.info("volume %s exported as %s to %s (%s)", volume.id, iqn, initiator, mode)
        info = connection.connection_info(
            volume_id=volume.id, iqn=iqn, portal=self.portal, chap=chap, access_mode=mode,
            discard=lv.is_thin, multipath=bool(connector.get("multipath")))
        info["model_update"] = {"provider_location": self._location(volume),
                                "provider_auth": connection.format_auth(chap)}
        return info

    def terminate_connection(self, volume: Volume, connector: dict[str, Any] | None) -> None:
        initiator = connector.get("initiator") if connector else None
        iqn = self._iqn(volume)
        left = self._exporter_step("remove initiator", self.exporter.remove_acl, iqn, initiator)
        if left == 0:
            self._remove_export(volume)

    def _remove_export(self, volume: Volume) -> None:
        self._exporter_step("remove export", self.exporter.remove_target, self._iqn(volume),
                            volume_lv(volume.id))

    # -- capacity ------------------------------------------------------------------

    def get_pools(self) -> list[dict[str, Any]]:
        thin = self._resolve_type()
        vg = self._lvm_step("read volume group", self.lvm.vg_info)
        return [capacity.pool_report(self.conf, self.backend_name, thin, vg, self._lvs(),
                                     self.lvm.pool_name)]

    # -- reconciliation ------------------------------------------------------------

    def reconcile_exports(self, exports: list[Export]) -> ReconcileReport:
        lvs = self._lvs()
        present, objects = self._exporter_step("read target configuration",
                                               self.exporter.list_targets)
        vg_prefix = f"/dev/{self.lvm.vg}/"
        wanted = []
        for export in exports:
            name = volume_lv(export.volume.id)
            lv = lvs.get(name)
            if lv is None:
                LOG.error("volume %s must be exported but its LV %s is missing",
                          export.volume.id, name)
                continue
            wanted.append(reconcile.Wanted(
                iqn=self._iqn(export.volume), so_name=name, device=self.lvm.lv_path(name),
                discard=lv.is_thin, credentials=connection.parse_auth(export.volume.provider_auth),
                initiators=tuple(export.initiators)))

        def owns(state: reconcile.TargetState) -> bool:
            if state.device is not None:
                return state.device.startswith(vg_prefix)
            lv_name = state.iqn.rsplit(":", 1)[-1]
            return state.iqn.startswith(self.conf.target_prefix.lower()) and lv_name in lvs

        todo = reconcile.plan(wanted, present, objects, self.listen_portal, owns,
                              lambda device: device.startswith(vg_prefix))
        with self.exporter.one_save():
            return reconcile.apply(todo, self.exporter)

    def remove_orphans(self, known: set[str]) -> list[str]:
        """Delete this agent's volume LVs whose volume the controller does not know (a
        create whose record is gone, a delete whose answer was lost), wiped as any
        delete is; returns their ids. An LV without the owner tag, or whose id is in
        ``known``, is never touched; one that still has snapshots is left and logged."""
        removed = []
        for lv in self._lvs().values():
            match = _VOLUME_LV.match(lv.name)
            if match is None or match.group(1) in known or OWNER_TAG not in lv.tags:
                continue
            try:
                self.delete_volume(Volume(id=match.group(1), size=lv.size // GiB))
            except DriverError as exc:
                LOG.error("orphan volume %s left in place: %s", match.group(1), exc)
                continue
            removed.append(match.group(1))
        return removed

    # -- helpers -------------------------------------------------------------------

    def _lvs(self) -> dict[str, LogicalVolume]:
        return self._lvm_step("list volumes", self.lvm.list_lvs)

    def _lvm_step(self, what: str, action, *args: Any) -> Any:
        try:
            return action(*args)
        except LVMError as exc:
            raise DriverError(f"{what} failed: {exc.stderr or exc}") from exc

    def _exporter_step(self, what: str, action, *args: Any) -> Any:
        try:
            return action(*args)
        except DriverError as exc:
            raise DriverError(f"{what} failed: {exc}") from exc

    def _remove_quietly(self, name: str) -> None:
        try:
            self.lvm.remove(name)
        except LVMError as exc:
            LOG.error("could not remove %s after a failed create: %s", name, exc.stderr)
