"""iSCSI exports in the kernel LIO target, through rtslib-fb in this process.

All configfs work of the process goes through one lock: the kernel target is one
shared tree and rtslib keeps a process-wide cache of storage objects. A single
export is found by its path (no scan of configfs), so creating or removing one costs
the same with 5 exports or 500; only ``list_targets`` walks the tree, once, for
reconciliation. After changes the configuration is saved where the distribution's
rtslib keeps it (``saveconfig``: batched, atomic) for operators and the target's
restore service; the controller's database stays the source of truth and start-up
reconciliation rebuilds or corrects what a reboot lost or restored.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import rtslib_fb as rts
from rtslib_fb import tcm
from rtslib_fb.fabric import target_names_excludes

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


class _Dumps:
    """Each storage object's and target's last dump, keyed by configfs path, so that a
    save reads again only what this process changed since the last one. rtslib reads
    each attribute with several system calls: a whole dump of 200 targets lasts a minute
    under emulation, and the exports made meanwhile shared the CPU with it (the delete of
    one volume took 0.6 s with no other export, 4.6 s beside 200). Something changed by
    another process (targetcli) is read again when this one changes it or restarts; the
    controller's database stays the source of truth either way."""

    def __init__(self) -> None:
        self._by_path: dict[str, dict] = {}

    def forget(self, iqn: str | None, so_name: str | None) -> None:
        """Called after a change to the target ``iqn`` or the storage object ``so_name``,
        so a dump taken before it is not written again. A configfs path ends in the
        target's IQN or the storage object's name."""
        names = {iqn, so_name} - {None}
        with _LOCK:
            for path in list(self._by_path):
                if os.path.basename(path) in names:
                    del self._by_path[path]

    def each(self, lookup: Callable[[str], Any], paths: list[str]) -> list[dict]:
        """The dumps of ``paths``, taking the lock for one object at a time: exports must
        not wait for the whole of a save."""
        dumps = []
        for path in paths:
            with _LOCK:
                dump = self._by_path.get(path)
                if dump is None:
                    try:
                        dump = self._by_path[path] = lookup(path).dump()
                    except rts.RTSLibNotInCFS:
                        continue  # removed meanwhile, by this process or another
            dumps.append(dump)
        return dumps

    def keep(self, paths: set[str]) -> None:
        """Drop the dumps of objects that are gone."""
        with _LOCK:
            for path in set(self._by_path) - paths:
                del self._by_path[path]


_DUMPS = _Dumps()


def _dump() -> dict:
    """rtslib's ``RTSRoot.dump`` from the dumps kept in ``_DUMPS``. An object changed
    while this runs marks the copy stale again, so the next save has it as it ends up."""
    with _LOCK:
        root = rts.RTSRoot()
        fabrics = [fabric.dump() for fabric in root.fabric_modules
                   if fabric.has_feature("discovery_auth") and fabric.discovery_enable_auth]
        objects = [so.path for hba in _subdirs(f"{root.path}/core") if "_" in hba.name
                   for so in _subdirs(hba.path)]
        targets = [entry.path for entry in _subdirs(_iscsi().path)
                   if entry.name not in target_names_excludes]
    _DUMPS.keep({*objects, *targets})
    return {"fabric_modules": fabrics,
            "storage_objects": _DUMPS.each(tcm.StorageObject.so_from_path, objects),
            "targets": _DUMPS.each(
                lambda path: rts.Target(_iscsi(), os.path.basename(path), mode="lookup"),
                targets)}


# One saver for the process: every backend's targets live in the one configfs tree.
SAVER = DebouncedSaver(_dump, SAVE_FILE, SAVE_DELAY)


class LIOError(DriverError):
    """A configfs change was refused by the kernel or rtslib."""


def _iscsi() -> rts.FabricModule:
    return rts.FabricModule("iscsi")


def _saved(method: Callable[..., T]) -> Callable[..., T]:
    """Mark the saved copy stale after a call that may have changed configfs (also after
    one that failed part-way), and the dumps of the target and storage object it names
    (its ``iqn`` and ``so_name`` arguments)."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        finally:
            named = signature.bind(*args, **kwargs).arguments
            _DUMPS.forget(named.get("iqn"), named.get("so_name"))
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
        (name -> device); the caller decides which are its own. Read by path: rtslib's
        objects check their own existence on every attribute, several times the system
        calls, and under emulation each one counts."""
        with _LOCK:
            tcm.bs_cache.clear()
            try:
                blocks = _block_objects()
                targets = {}
                for entry in _subdirs(_iscsi().path):
                    if entry.name not in target_names_excludes:
                        targets[entry.name] = _read_target(entry.name, entry.path, blocks)
            except OSError as exc:
                raise LIOError(f"cannot read the target configuration: {exc}") from exc
            return targets, dict(blocks.values())

    @contextlib.contextmanager
    def one_save(self) -> Iterator[None]:
        """Changes made in the block are saved once, after it (see ``DebouncedSaver``)."""
        with SAVER.held():
            yield


def _subdirs(path: str) -> list[os.DirEntry]:
    """The directories in ``path`` (none when it does not exist); configfs gives each
    entry's type, so no stat per entry."""
    try:
        with os.scandir(path) as entries:
            return [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []


def _read(path: str) -> str:
    with open(path) as attribute:
        return attribute.read().strip()


def _linked(directory: str) -> str | None:
    """Where the symlink in a LUN or mapped-LUN directory points (the storage object or
    the TPG's LUN), as a configfs path; None when there is none."""
    try:
        with os.scandir(directory) as entries:
            link = next((e.path for e in entries if e.is_symlink()), None)
    except FileNotFoundError:
        return None
    if link is None:
        return None
    return os.path.normpath(os.path.join(directory, os.readlink(link)))


def _block_objects() -> dict[str, tuple[str, str]]:
    """Every block (iblock) storage object: its configfs path -> (name, device)."""
    blocks = {}
    for hba in _subdirs(f"{tcm.StorageObject.configfs_dir}/core"):
        if hba.name.startswith("iblock_"):
            for so in _subdirs(hba.path):
                blocks[so.path] = (so.name, _read(f"{so.path}/udev_path"))
    return blocks


def _chap(path: str) -> str:
    value = _read(path)
    return "" if value == "NULL" else value


def _read_target(iqn: str, path: str, blocks: dict[str, tuple[str, str]]) -> TargetState:
    tpg = f"{path}/tpgt_1"
    if not os.path.isdir(tpg):
        return TargetState(iqn, None, None, frozenset(), False, {})
    so_path = _linked(f"{tpg}/lun/lun_0")
    so_name = device = None
    if so_path is not None:
        so_name, device = blocks.get(so_path) or (os.path.basename(so_path),
                                                  _read(f"{so_path}/udev_path"))
    healthy = _read(f"{tpg}/enable") == "1" and all(
        _read(f"{tpg}/attrib/{name}") == value for name, value in _TPG_ATTRIBUTES.items())
    acls = {}
    for acl in _subdirs(f"{tpg}/acls"):
        mapped = os.path.isdir(f"{acl.path}/lun_0")
        initiator = acl.name.lower()
        acls[initiator] = AclState(
            initiator=initiator, userid=_chap(f"{acl.path}/auth/userid"),
            password=_chap(f"{acl.path}/auth/password"),
            lun_mapped=mapped and _linked(f"{acl.path}/lun_0") == f"{tpg}/lun/lun_0",
            write_protect=mapped and _read(f"{acl.path}/lun_0/write_protect") == "1")
    return TargetState(iqn=iqn, device=device, so_name=so_name,
                       portals=frozenset(e.name for e in _subdirs(f"{tpg}/np")),
                       healthy_tpg=healthy, acls=acls)


def _remove_so(name: str) -> bool:
    """rtslib's ``StorageObject.delete`` first looks for LUNs still using the object by
    walking every target, which made each volume's delete cost grow with the number of
    exports. Ours has none once its target is gone (its status says so): then only its
    directory and its HBA's go."""
    try:
        so = _lookup_so(name)
        if so is None:
            return False
        if so.status == "activated":
            so.delete()
        else:
            os.rmdir(so.path)
            so._backstore.delete()  # the HBA directory, and rtslib's cache entry
        return True
    except (rts.RTSLibError, OSError) as exc:
        raise LIOError(f"cannot remove storage object {name}: {exc}") from exc


def _quietly(action) -> None:
    try:
        action()
    except (rts.RTSLibError, OSError) as exc:
        LOG.warning("cleanup after a failed export step failed too: %s", exc)
