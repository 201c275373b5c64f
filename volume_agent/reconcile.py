"""What to change so the target configuration matches what the controller wants.

The driver reads configfs once, ``plan`` compares it with the wanted exports in one
pass over each (linear in the number of volumes) and ``apply`` carries the plan out
through the exporter. Keeping both free of rtslib lets them be tested on the host.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from volume_agent.driver import DriverError, ReconcileReport

__all__ = ["AclState", "TargetState", "Wanted", "Plan", "plan", "apply"]

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class AclState:
    initiator: str
    userid: str
    password: str = field(repr=False)
    lun_mapped: bool
    write_protect: bool


@dataclass(frozen=True)
class TargetState:
    """One target as configfs holds it, enough to judge whether it serves its volume."""

    iqn: str
    device: str | None
    so_name: str | None
    portals: frozenset[str]
    healthy_tpg: bool
    acls: dict[str, AclState]


@dataclass(frozen=True)
class Wanted:
    """One volume that must be exported, with the credentials its initiators use."""

    iqn: str
    so_name: str
    device: str
    discard: bool
    credentials: tuple[str, str] | None
    initiators: tuple[str, ...]


@dataclass
class Plan:
    remove_targets: list[tuple[str, str | None]] = field(default_factory=list)
    remove_objects: list[str] = field(default_factory=list)
    create_targets: list[Wanted] = field(default_factory=list)
    set_acls: list[tuple[Wanted, str, tuple[str, str]]] = field(default_factory=list)
    remove_acls: list[tuple[str, str]] = field(default_factory=list)
    no_credentials: list[str] = field(default_factory=list)


def _serves(state: TargetState, want: Wanted, portal: str) -> bool:
    return (state.healthy_tpg and state.device == want.device
            and state.so_name == want.so_name and state.portals == frozenset({portal}))


def _existing_credentials(state: TargetState | None) -> tuple[str, str] | None:
    if state is None:
        return None
    return next(((a.userid, a.password) for a in state.acls.values()
                 if a.userid and a.password), None)


def plan(wanted: Iterable[Wanted], present: Mapping[str, TargetState],
         objects: Mapping[str, str], portal: str,
         owns: Callable[[TargetState], bool], owns_device: Callable[[str], bool]) -> Plan:
    """Compare ``wanted`` with the ``present`` targets and storage ``objects``.

    A target that exists but does not serve its volume as configured (wrong device,
    portal or TPG settings) is rebuilt whole; a healthy one only has its ACLs fixed.
    Targets and storage objects this backend ``owns`` that no volume needs go.
    """
    result = Plan()
    wanted_iqns: set[str] = set()
    wanted_objects: set[str] = set()
    for want in wanted:
        wanted_iqns.add(want.iqn)
        wanted_objects.add(want.so_name)
        state = present.get(want.iqn)
        creds = want.credentials or _existing_credentials(state)
        stale_object = objects.get(want.so_name) not in (None, want.device)
        if state is None or stale_object or not _serves(state, want, portal):
            if state is not None or stale_object:
                result.remove_targets.append((want.iqn, want.so_name))
            result.create_targets.append(want)
            current_acls = {}
        else:
            current_acls = state.acls
        wanted_initiators = {i.lower() for i in want.initiators}
        for initiator in sorted(wanted_initiators):
            if creds is None:
                result.no_credentials.append(f"{want.iqn} {initiator}")
                continue
            acl = current_acls.get(initiator)
            if (acl is None or (acl.userid, acl.password) != creds or not acl.lun_mapped
                    or acl.write_protect):
                result.set_acls.append((want, initiator, creds))
        result.remove_acls.extend((want.iqn, initiator) for initiator in sorted(current_acls)
                                  if initiator not in wanted_initiators)
    for iqn, state in present.items():
        if iqn not in wanted_iqns and owns(state):
            keep_object = state.so_name is None or state.so_name in wanted_objects
            result.remove_targets.append((iqn, None if keep_object else state.so_name))
    removed_objects = {so for _, so in result.remove_targets if so}
    result.remove_objects = sorted(name for name, device in objects.items()
                                   if name not in wanted_objects and name not in removed_objects
                                   and owns_device(device))
    return result


def apply(todo: Plan, exporter: Any) -> ReconcileReport:
    """Carry ``todo`` out through ``exporter``, removals first (a rebuilt target must go
    before it is made again). A step that fails is logged and the rest still runs:
    one broken volume must not leave every other export down after a reboot."""
    report = ReconcileReport()
    rebuilt = {want.iqn for want in todo.create_targets}

    def step(what: str, action: Callable[..., Any], *args: Any) -> bool:
        try:
            action(*args)
            return True
        except DriverError as exc:
            LOG.error("reconcile: %s failed: %s", what, exc)
            return False

    for iqn, so_name in todo.remove_targets:
        if step(f"removing {iqn}", exporter.remove_target, iqn, so_name) and iqn not in rebuilt:
            report.targets_removed.append(iqn)
    for so_name in todo.remove_objects:
        step(f"removing storage object {so_name}", exporter.remove_object, so_name)
    failed = set()
    for want in todo.create_targets:
        if step(f"recreating {want.iqn}", exporter.ensure_target, want.iqn, want.so_name,
                want.device, want.discard):
            report.targets_created.append(want.iqn)
        else:
            failed.add(want.iqn)
    for want, initiator, chap in todo.set_acls:
        if want.iqn not in failed and step(f"allowing {initiator} on {want.iqn}",
                                           exporter.set_acl, want.iqn, initiator, chap[0],
                                           chap[1], False):
            report.acls_created.append(f"{want.iqn} {initiator}")
    for iqn, initiator in todo.remove_acls:
        if step(f"removing {initiator} from {iqn}", exporter.remove_acl, iqn, initiator):
            report.acls_removed.append(f"{iqn} {initiator}")
    for missing in todo.no_credentials:
        LOG.error("reconcile: cannot restore ACL %s: the controller has no CHAP credentials",
                  missing)
    return report
