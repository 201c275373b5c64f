"""The comparison between wanted exports and what configfs holds."""

from __future__ import annotations

import logging

import pytest

from tests.unit.volume_agent.fakes import FakeExporter
from volume_agent.reconcile import AclState, TargetState, Wanted, apply, plan

PORTAL = "127.0.0.1:3260"
IQN = "iqn.2010-10.org.openstack:volume-a"
DEV = "/dev/cinder-volumes/volume-a"
INI = "iqn.1993-08.org.debian:01:host"
CREDS = ("user", "secret")


def want(**kw) -> Wanted:
    fields = dict(iqn=IQN, so_name="volume-a", device=DEV, discard=False, credentials=CREDS,
                  initiators=(INI,))
    return Wanted(**{**fields, **kw})


def state(**kw) -> TargetState:
    fields = dict(iqn=IQN, device=DEV, so_name="volume-a", portals=frozenset({PORTAL}),
                  healthy_tpg=True, acls={INI: AclState(INI, *CREDS, True, False)})
    return TargetState(**{**fields, **kw})


def run(wanted, present, objects=None):
    return plan(wanted, present, objects or {}, PORTAL, owns=lambda s: True,
                owns_device=lambda d: d.startswith("/dev/cinder-volumes/"))


def test_a_matching_target_needs_nothing() -> None:
    result = run([want()], {IQN: state()}, {"volume-a": DEV})
    assert (result.remove_targets, result.create_targets, result.set_acls,
            result.remove_acls, result.remove_objects) == ([], [], [], [], [])


def test_a_target_on_the_wrong_portal_is_rebuilt_with_its_acls() -> None:
    result = run([want()], {IQN: state(portals=frozenset({"0.0.0.0:3260"}))})
    assert result.remove_targets == [(IQN, "volume-a")]
    assert result.create_targets == [want()]
    assert [(w.iqn, i, c) for w, i, c in result.set_acls] == [(IQN, INI, CREDS)]


def test_changed_credentials_are_rewritten_and_extra_acls_dropped() -> None:
    other = "iqn.1993-08.org.debian:01:other"
    acls = {INI: AclState(INI, "user", "old", True, False),
            other: AclState(other, *CREDS, True, False)}
    result = run([want()], {IQN: state(acls=acls)})
    assert [(i, c) for _, i, c in result.set_acls] == [(INI, CREDS)]
    assert result.remove_acls == [(IQN, other)]


def test_credentials_fall_back_to_those_on_the_target() -> None:
    new = "iqn.1993-08.org.debian:01:new"
    result = run([want(credentials=None, initiators=(INI, new))], {IQN: state()})
    assert [(i, c) for _, i, c in result.set_acls] == [(new, CREDS)]
    assert run([want(credentials=None)], {}).no_credentials == [f"{IQN} {INI}"]


def test_unneeded_targets_and_orphan_objects_of_this_backend_go() -> None:
    stale = "iqn.2010-10.org.openstack:volume-b"
    present = {stale: state(iqn=stale, so_name="volume-b",
                            device="/dev/cinder-volumes/volume-b")}
    objects = {"volume-b": "/dev/cinder-volumes/volume-b",
               "volume-c": "/dev/cinder-volumes/volume-c",
               "volume-d": "/dev/other/volume-d"}
    result = run([], present, objects)
    assert result.remove_targets == [(stale, "volume-b")]
    assert result.remove_objects == ["volume-c"]


def test_an_old_target_sharing_a_wanted_object_keeps_the_object() -> None:
    old = "iqn.2004-01.org.example:volume-a"
    result = run([want()], {IQN: state(), old: state(iqn=old)}, {"volume-a": DEV})
    assert result.remove_targets == [(old, None)]
    assert result.remove_objects == []


def test_targets_owned_by_someone_else_stay() -> None:
    other = "iqn.2003-01.org.linux-iscsi:other"
    result = plan([], {other: state(iqn=other)}, {}, PORTAL, owns=lambda s: False,
                  owns_device=lambda d: False)
    assert result.remove_targets == []


def test_one_failing_export_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    broken = want(iqn="iqn.2010-10.org.openstack:volume-b", so_name="volume-b")
    exporter = FakeExporter()
    exporter.fail_targets.add(broken.iqn)
    report = apply(run([broken, want()], {}), exporter)
    assert report.targets_created == [IQN]
    assert report.acls_created == [f"{IQN} {INI}"]
    assert exporter.targets[IQN].acls == {INI: (*CREDS, False)}
    assert any(broken.iqn in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)
