"""iSCSI exports in the kernel LIO target, through rtslib-fb in this process.

All configfs work of the process goes through one lock: the kernel target is one
shared tree and rtslib keeps a process-wide cache of storage objects. A single
export is found by its path (no scan of configfs); only ``list_targets`` walks the
tree, once, for reconciliation. After changes the configuration is saved where the
distribution's rtslib keeps it (``saveconfig``: batched, atomic) for operators and the
target's restore service; the controller's database stays the source of truth and
start-up reconciliation rebuilds or corrects what a reboot lost or restored.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import rtslib_fb as rts
from rtslib_fb import tcm

from volume_agent.driver import DriverError
from volume_agent.reconcile import AclState, TargetState
from volume_agent.saveconfig import DebouncedSaver

__all__ = ["LIOExporter", "LIOError"]

LOG = logging.getLogger(__name__)
T = TypeVar("T")
_LOCK = threading.Lock()
_TPG_ATTRIBUTES = {"authentication": "1", "generate_node_acls": "0",
                   "demo_mode_write_protect": "0"}
# Debian's rtslib names /etc/rtslib-fb-target/saveconfig.json; upstream /etc/target/.
SAVE_FILE = getattr(rts.root, "default_save_file", "/etc/rtslib-fb-target/saveconfig.json")
SAVE_DELAY = 2.0


def _dump() -> dict:
    with _LOCK:
        return rts.RTSRoot().dump()


# One saver for the process: every backend's targets live in the one configfs tree.
SAVER = DebouncedSaver(_dump, SAVE_FILE, SAVE_DELAY)


class LIOError(DriverError):
    """A configfs change was refused by the kernel or rtslib."""


def _iscsi() -> rts.FabricModule:
    return rts.FabricModule("iscsi")


def _saved(method: Callable[..., T]) -> Callable[..., T]:
    """Mark the saved copy stale after a call that may have changed configfs, also
    after one that failed part-way."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        finally:
            SAVER.changed()
    return wrapper


def _lookup_target(iqn: str) -> rts.Target | None:
    try:
        return rts.Target(_iscsi(), iqn, mode="lookup")
    except rts.RTSLibNotInCFS:
        return None


def _lookup_so(name: str) -> rts.BlockStorageObject | None:
    try:
        return rts.BlockStorageObject(name)
    except rts.RTSLibNotInCFS:
        return None


class LIOExporter:
    """Targets of one backend: one target per volume, TPG 1, one portal, LUN 0."""

    def __init__(self, portal_ip: str, portal_port: int) -> None:
        self.portal_ip = portal_ip
        self.portal_port = portal_port

    @_saved
    def ensure_target(self, iqn: str, so_name: str, device: str, discard: bool) -> bool:
        """Create the storage object, target, TPG, portal and LUN unless they exist.

        Returns whether anything was created. A failure part-way removes what this
        call created, so a retry starts clean; a target left incomplete by a process
        that died part-way is rebuilt rather than handed out without its LUN.
        """
        with _LOCK:
            existing = _lookup_target(iqn)
            if existing is not None:
                if self._complete(existing):
                    return False
                LOG.warning("target %s is incomplete; rebuilding it", iqn)
                try:
                    existing.delete()
                except (rts.RTSLibError, OSError) as exc:
                    raise LIOError(f"cannot rebuild incomplete target {iqn}: {exc}") from exc
            so = _lookup_so(so_name)
            created_so = so is None
            target = None
            try:
                if so is None:
                    so = self._create_so(so_name, device)
                if discard:
                    so.set_attribute("emulate_tpu", "1")
                target = rts.Target(_iscsi(), iqn, mode="create")
                tpg = rts.TPG(target, 1, mode="create")
                for name, value in _TPG_ATTRIBUTES.items():
                    tpg.set_attribute(name, value)
                rts.NetworkPortal(tpg, self.portal_ip, self.portal_port, mode="create")
                rts.LUN(tpg, 0, so)
                tpg.enable = True
            except (rts.RTSLibError, OSError) as exc:
                if target is not None:
                    _quietly(target.delete)
                if created_so and so is not None:
                    _quietly(so.delete)
                raise LIOError(f"cannot export {device} as {iqn}: {exc}") from exc
            return True

    def _complete(self, target: rts.Target) -> bool:
        """Checked by path, the last steps of ``ensure_target`` first: no configfs walk."""
        tpg = f"{target.path}/tpgt_1"
        try:
            with open(f"{tpg}/enable") as enabled:
                if enabled.read().strip() != "1":
                    return False
        except OSError:
            return False
        return (os.path.isdir(f"{tpg}/lun/lun_0")
                and os.path.isdir(f"{tpg}/np/{self.portal_ip}:{self.portal_port}"))

    @staticmethod
    def _create_so(name: str, device: str) -> rts.BlockStorageObject:
        try:
            return rts.BlockStorageObject(name, dev=device)
        except rts.RTSLibError as exc:
            if "exists" not in str(exc):
                raise
        # rtslib's storage-object cache outlived a change made outside this process
        # (targetctl clear, a reboot of the target); rebuild it once and retry.
        tcm.bs_cache.clear()
        return _lookup_so(name) or rts.BlockStorageObject(name, dev=device)

    @_saved
    def set_acl(self, iqn: str, initiator: str, userid: str, password: str,
                readonly: bool) -> None:
        """Allow ``initiator`` with these CHAP credentials, LUN 0 mapped; idempotent."""
        with _LOCK:
            target = _lookup_target(iqn)
            if target is None:
                raise LIOError(f"target {iqn} does not exist")
            try:
                tpg = rts.TPG(target, 1, mode="lookup")
                acl = rts.NodeACL(tpg, initiator, mode="any")
                if acl.chap_userid != userid:
                    acl.chap_userid = userid
                if acl.chap_password != password:
                    acl.chap_password = password
                mapped = next((m for m in acl.mapped_luns if m.mapped_lun == 0), None)
                if mapped is None:
                    rts.MappedLUN(acl, 0, 0, write_protect=readonly)
                elif mapped.write_protect != readonly:
                    mapped.write_protect = readonly
            except (rts.RTSLibError, OSError) as exc:
                raise LIOError(f"cannot allow {initiator} on {iqn}: {exc}") from exc

    @_saved
    def remove_acl(self, iqn: str, initiator: str | None) -> int:
        """Remove one initiator's ACL (every ACL when None); returns how many are left."""
        with _LOCK:
            target = _lookup_target(iqn)
            if target is None:
                return 0
            try:
                tpg = rts.TPG(target, 1, mode="lookup")
                left = 0
                for acl in list(tpg.node_acls):
                    if initiator is None or acl.node_wwn == initiator.lower():
                        acl.delete()
                    else:
                        left += 1
                return left
            except (rts.RTSLibError, OSError) as exc:
                raise LIOError(f"cannot remove ACL of {initiator} on {iqn}: {exc}") from exc

    def credentials(self, iqn: str) -> tuple[str, str] | None:
        """CHAP credentials an existing ACL of the target uses, to hand them on."""
        with _LOCK:
            target = _lookup_target(iqn)
            if target is None:
                return None
            for tpg in target.tpgs:
                for acl in tpg.node_acls:
                    if acl.chap_userid and acl.chap_password:
                        return acl.chap_userid, acl.chap_password
            return None

    @_saved
    def remove_target(self, iqn: str, so_name: str | None) -> bool:
        """Delete the target and the named storage object; returns whether anything
        existed."""
        with _LOCK:
            try:
                target = _lookup_target(iqn)
                if target is not None:
                    target.delete()
            except (rts.RTSLibError, OSError) as exc:
                raise LIOError(f"cannot remove {iqn}: {exc}") from exc
            removed_object = _remove_so(so_name) if so_name else False
            return target is not None or removed_object

    @_saved
    def remove_object(self, so_name: str) -> bool:
        with _LOCK:
            return _remove_so(so_name)

    def list_targets(self) -> tuple[dict[str, TargetState], dict[str, str]]:
        """One pass over configfs: every iSCSI target and every block storage object
        (name -> device); the caller decides which are its own."""
        with _LOCK:
            tcm.bs_cache.clear()
            targets = {}
            for target in _iscsi().targets:
                targets[target.wwn] = _read_target(target)
            objects = {so.name: so.udev_path for so in tcm.StorageObject.all()
                       if isinstance(so, rts.BlockStorageObject)}
            return targets, objects


def _read_target(target: rts.Target) -> TargetState:
    tpg = next((t for t in target.tpgs if t.tag == 1), None)
    if tpg is None:
        return TargetState(target.wwn, None, None, frozenset(), False, {})
    lun0 = next((lun for lun in tpg.luns if lun.lun == 0), None)
    so = lun0.storage_object if lun0 is not None else None
    healthy = tpg.enable and all(tpg.get_attribute(name) == value
                                 for name, value in _TPG_ATTRIBUTES.items())
    acls = {}
    for acl in tpg.node_acls:
        mapped = next((m for m in acl.mapped_luns if m.mapped_lun == 0), None)
        acls[acl.node_wwn] = AclState(
            initiator=acl.node_wwn, userid=acl.chap_userid or "",
            password=acl.chap_password or "",
            lun_mapped=mapped is not None and mapped.tpg_lun.lun == 0,
            write_protect=bool(mapped and mapped.write_protect))
    return TargetState(
        iqn=target.wwn, device=so.udev_path if so is not None else None,
        so_name=so.name if so is not None else None,
        portals=frozenset(f"{p.ip_address}:{p.port}" for p in tpg.network_portals),
        healthy_tpg=healthy, acls=acls)


def _remove_so(name: str) -> bool:
    try:
        so = _lookup_so(name)
        if so is None:
            return False
        so.delete()
        return True
    except (rts.RTSLibError, OSError) as exc:
        raise LIOError(f"cannot remove storage object {name}: {exc}") from exc


def _quietly(action) -> None:
    try:
        action()
    except (rts.RTSLibError, OSError) as exc:
        LOG.warning("cleanup after a failed export step failed too: %s", exc)
