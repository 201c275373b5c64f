"""LVMDriver's logic above LVM and LIO, on FakeLVM and FakeExporter.

Real LVM, LIO and iSCSI are exercised by tests/agent_vm in the storage-node VM.
"""

from __future__ import annotations

import logging
import pathlib
import uuid

import pytest

from common.config import load
from tests.unit.volume_agent.fakes import FakeExporter, FakeLVM
from volume_agent import lvm_driver
from volume_agent.driver import DriverError, Export, Snapshot, Volume
from volume_agent.lvm import GiB, MiB
from volume_agent.lvm_driver import LVMDriver

INITIATOR = "iqn.1993-08.org.debian:01:compute-1"
OTHER_INITIATOR = "iqn.1993-08.org.debian:01:compute-2"
PREFIX = "iqn.2010-10.org.openstack:"


def make_driver(tmp_path: pathlib.Path, lvm: FakeLVM | None = None,
                exporter: FakeExporter | None = None, **options: str | None
                ) -> tuple[LVMDriver, FakeLVM, FakeExporter]:
    options.setdefault("target_ip_address", "127.0.0.1")
    lines = "".join(f"{k} = {v}\n" for k, v in options.items() if v is not None)
    path = tmp_path / "cinder.conf"
    path.write_text(f"[DEFAULT]\nenabled_backends = lvm\n[lvm]\n{lines}")
    lvm = lvm or FakeLVM()
    exporter = exporter or FakeExporter()
    driver = LVMDriver(load([str(path)]).backends["lvm"], lvm=lvm, exporter=exporter)
    driver.check_setup()
    return driver, lvm, exporter


@pytest.fixture
def thick(tmp_path: pathlib.Path) -> tuple[LVMDriver, FakeLVM, FakeExporter]:
    return make_driver(tmp_path, volume_clear_size="4")


@pytest.fixture
def thin(tmp_path: pathlib.Path) -> tuple[LVMDriver, FakeLVM, FakeExporter]:
    return make_driver(tmp_path, lvm_type="thin")


def vol(size: int = 1, **kw: str | None) -> Volume:
    return Volume(id=str(uuid.uuid4()), size=size, **kw)


# -- set-up ---------------------------------------------------------------------------

def test_only_lio_is_accepted_as_target_helper(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DriverError, match="only LIO"):
        make_driver(tmp_path, target_helper="tgtadm")


@pytest.mark.parametrize("address", [None, "0.0.0.0"])
def test_unset_or_wildcard_address_listens_everywhere_and_advertises_the_node(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, address: str | None) -> None:
    monkeypatch.setattr(lvm_driver, "primary_address", lambda: "198.51.100.7")
    driver, lvm, exporter = make_driver(tmp_path, exporter=FakeExporter("0.0.0.0:3261"),
                                        target_ip_address=address, target_port="3261")
    assert driver.listen_portal == "0.0.0.0:3261"
    volume = vol()
    location = driver.create_volume(volume)["provider_location"]
    assert location.startswith("198.51.100.7:3261,1 ")
    data = driver.initialize_connection(volume, {"initiator": INITIATOR})["data"]
    assert data["target_portal"] == "198.51.100.7:3261"
    stored = Volume(volume.id, 1, provider_location=location,
                    provider_auth=f"CHAP {data['auth_username']} {data['auth_password']}")
    # A target listening on every address serves its volume: reconcile leaves it be.
    report = driver.reconcile_exports([Export(stored, (INITIATOR,))])
    assert report.targets_created == [] and report.targets_removed == []


def test_unset_address_without_a_route_fails_start_up(
        tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lvm_driver, "primary_address", lambda: None)
    with pytest.raises(DriverError, match="set target_ip_address"):
        make_driver(tmp_path, target_ip_address=None)


def test_ipv6_wildcard_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DriverError, match="name an address"):
        make_driver(tmp_path, target_ip_address="::")


def test_primary_address_is_a_routable_one() -> None:
    address = lvm_driver.primary_address()
    assert address is None or not address.startswith("127.")


def test_thin_creates_the_pool_once(thin) -> None:
    driver, lvm, _ = thin
    assert lvm.lvs["cinder-volumes-pool"].segtype == "thin-pool"
    driver.check_setup()
    assert lvm.calls.count("create_thin_pool") == 1


def test_auto_is_thin_on_an_empty_group(tmp_path: pathlib.Path) -> None:
    driver, lvm, _ = make_driver(tmp_path, lvm_type="auto")
    assert driver.get_pools()[0]["thin_provisioning_support"] is True
    assert "cinder-volumes-pool" in lvm.lvs


def test_auto_stays_thick_when_the_group_has_thick_volumes(tmp_path: pathlib.Path) -> None:
    lvm = FakeLVM()
    lvm.create_lv(f"volume-{uuid.uuid4()}", GiB, thin=False)
    driver, lvm, _ = make_driver(tmp_path, lvm, lvm_type="auto")
    assert driver.get_pools()[0]["thick_provisioning_support"] is True
    assert "cinder-volumes-pool" not in lvm.lvs


def test_thin_without_lvm_support_fails_setup(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DriverError, match="thin"):
        make_driver(tmp_path, FakeLVM(thin_supported=False), lvm_type="thin")


# -- create ---------------------------------------------------------------------------

def test_create_makes_an_lv_of_the_asked_size(thick) -> None:
    driver, lvm, _ = thick
    volume = vol(size=3)
    update = driver.create_volume(volume)
    lv = lvm.lvs[f"volume-{volume.id}"]
    assert (lv.size, lv.segtype) == (3 * GiB, "linear")
    assert update == {"provider_location": f"127.0.0.1:3260,1 {PREFIX}volume-{volume.id} 0"}


def test_thin_create_makes_a_thin_lv(thin) -> None:
    driver, lvm, _ = thin
    volume = vol(size=2)
    driver.create_volume(volume)
    assert lvm.lvs[f"volume-{volume.id}"].segtype == "thin"


def test_redelivered_create_changes_nothing(thick) -> None:
    driver, lvm, _ = thick
    volume = vol()
    assert driver.create_volume(volume) == driver.create_volume(volume)
    assert lvm.calls.count("create_lv") == 1


def test_create_finding_a_smaller_lv_extends_it(thick) -> None:
    driver, lvm, _ = thick
    volume = vol(size=1)
    driver.create_volume(volume)
    driver.create_volume(Volume(volume.id, 2))
    assert lvm.lvs[f"volume-{volume.id}"].size == 2 * GiB


def test_create_restarts_a_copy_that_never_finished(thick) -> None:
    driver, lvm, _ = thick
    volume = vol()
    lvm.create_lv(f"volume-{volume.id}", GiB, thin=False,
                  tags=("cinderblock", "cinderblock-incomplete"))
    driver.create_volume(volume)
    assert "remove" in lvm.calls
    assert lvm.lvs[f"volume-{volume.id}"].tags == {"cinderblock"}


def test_create_failure_carries_lvm_message(thick) -> None:
    driver, lvm, _ = thick
    lvm.failures["create_lv"] = "Volume group \"cinder-volumes\" has insufficient free space"
    with pytest.raises(DriverError, match="insufficient free space"):
        driver.create_volume(vol())


def test_volume_from_thick_snapshot_copies_content_and_grows(thick) -> None:
    driver, lvm, _ = thick
    source = vol(size=1)
    driver.create_volume(source)
    lvm.content[f"volume-{source.id}"] = b"pattern"
    snap = Snapshot(str(uuid.uuid4()), source.id, 1)
    driver.create_snapshot(snap)
    copy = vol(size=2, snapshot_id=snap.id)
    driver.create_volume(copy)
    lv = lvm.lvs[f"volume-{copy.id}"]
    assert lvm.content[lv.name] == b"pattern"
    assert lv.size == 2 * GiB and lv.tags == {"cinderblock"}


def test_volume_from_thin_snapshot_is_a_thin_snapshot(thin) -> None:
    driver, lvm, _ = thin
    source = vol(size=1)
    driver.create_volume(source)
    snap = Snapshot(str(uuid.uuid4()), source.id, 1)
    driver.create_snapshot(snap)
    copy = vol(size=3, snapshot_id=snap.id)
    driver.create_volume(copy)
    lv = lvm.lvs[f"volume-{copy.id}"]
    assert (lv.segtype, lv.origin, lv.size) == ("thin", f"_snapshot-{snap.id}", 3 * GiB)
    assert "copy" not in lvm.calls and lv.tags == {"cinderblock"}


def test_failed_copy_leaves_no_lv(thick) -> None:
    driver, lvm, _ = thick
    source = vol()
    driver.create_volume(source)
    lvm.failures["copy"] = "dd: error reading: Input/output error"
    clone = vol(source_volid=source.id)
    with pytest.raises(DriverError, match="Input/output error"):
        driver.create_volume(clone)
    assert set(lvm.lvs) == {f"volume-{source.id}"}


def test_thick_clone_copies_through_a_temporary_snapshot(thick) -> None:
    driver, lvm, _ = thick
    source = vol()
    driver.create_volume(source)
    lvm.content[f"volume-{source.id}"] = b"source data"
    clone = vol(source_volid=source.id)
    driver.create_volume(clone)
    assert lvm.content[f"volume-{clone.id}"] == b"source data"
    assert set(lvm.lvs) == {f"volume-{source.id}", f"volume-{clone.id}"}


def test_create_from_a_missing_snapshot_is_a_clear_error(thick) -> None:
    driver, _, _ = thick
    with pytest.raises(DriverError, match="snapshot .* does not exist"):
        driver.create_volume(vol(snapshot_id=str(uuid.uuid4())))


# -- delete, extend, snapshots --------------------------------------------------------

def test_delete_refuses_while_snapshots_exist(thick) -> None:
    driver, lvm, _ = thick
    volume = vol()
    driver.create_volume(volume)
    driver.create_snapshot(Snapshot(str(uuid.uuid4()), volume.id, 1))
    with pytest.raises(DriverError, match="still has snapshots"):
        driver.delete_volume(volume)
    assert f"volume-{volume.id}" in lvm.lvs


def test_delete_wipes_thick_volumes_up_to_volume_clear_size(thick) -> None:
    driver, lvm, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    driver.initialize_connection(volume, {"initiator": INITIATOR})
    driver.delete_volume(volume)
    assert lvm.zeroed == [(f"volume-{volume.id}", 4 * MiB, False)]
    assert not lvm.lvs and not exporter.targets and not exporter.objects


def test_delete_does_not_wipe_thin_volumes(thin) -> None:
    driver, lvm, _ = thin
    volume = vol()
    driver.create_volume(volume)
    driver.delete_volume(volume)
    assert lvm.zeroed == [] and f"volume-{volume.id}" not in lvm.lvs


def test_volume_clear_none_skips_the_wipe(tmp_path: pathlib.Path) -> None:
    driver, lvm, _ = make_driver(tmp_path, volume_clear="none")
    volume = vol()
    driver.create_volume(volume)
    driver.delete_volume(volume)
    assert lvm.zeroed == []


def test_deleting_what_is_gone_succeeds(thick) -> None:
    driver, _, _ = thick
    volume = vol()
    driver.create_volume(volume)
    driver.delete_volume(volume)
    driver.delete_volume(volume)
    driver.delete_snapshot(Snapshot(str(uuid.uuid4()), volume.id, 1))


def test_extend_grows_and_is_idempotent(thick) -> None:
    driver, lvm, _ = thick
    volume = vol()
    driver.create_volume(volume)
    driver.extend_volume(volume, 5)
    driver.extend_volume(volume, 5)
    assert lvm.lvs[f"volume-{volume.id}"].size == 5 * GiB
    assert lvm.calls.count("extend") == 1


def test_extend_of_a_missing_volume_fails(thick) -> None:
    with pytest.raises(DriverError, match="does not exist"):
        thick[0].extend_volume(vol(), 2)


def test_thick_snapshot_is_sized_like_its_origin_and_wiped_on_delete(thick) -> None:
    driver, lvm, _ = thick
    volume = vol(size=2)
    driver.create_volume(volume)
    snap = Snapshot(str(uuid.uuid4()), volume.id, 2)
    driver.create_snapshot(snap)
    driver.create_snapshot(snap)
    lv = lvm.lvs[f"_snapshot-{snap.id}"]
    assert (lv.size, lv.origin) == (2 * GiB, f"volume-{volume.id}")
    driver.delete_snapshot(snap)
    assert lvm.zeroed == [(f"_snapshot-{snap.id}", 4 * MiB, True)]
    assert f"_snapshot-{snap.id}" not in lvm.lvs


# -- connections ----------------------------------------------------------------------

def test_connection_info_has_the_shape_os_brick_reads(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    info = driver.initialize_connection(volume, {"initiator": INITIATOR})
    auth = info["model_update"]["provider_auth"]
    method, user, secret = auth.split()
    assert method == "CHAP" and len(user) == 20 and len(secret) == 16
    iqn = f"{PREFIX}volume-{volume.id}"
    assert info["driver_volume_type"] == "iscsi"
    assert info["data"] == {
        "target_discovered": False, "target_iqn": iqn, "target_portal": "127.0.0.1:3260",
        "target_lun": 0, "volume_id": volume.id, "auth_method": "CHAP",
        "auth_username": user, "auth_password": secret, "encrypted": False,
        "access_mode": "rw", "discard": False}
    assert info["model_update"]["provider_location"] == f"127.0.0.1:3260,1 {iqn} 0"
    assert exporter.targets[iqn].acls == {INITIATOR: (user, secret, False)}


def test_a_reexport_reuses_the_controllers_credentials(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    stored = Volume(volume.id, 1, provider_auth="CHAP keptuser keptsecret123456")
    info = driver.initialize_connection(stored, {"initiator": INITIATOR})
    assert (info["data"]["auth_username"], info["data"]["auth_password"]) == (
        "keptuser", "keptsecret123456")
    assert info["model_update"]["provider_auth"] == stored.provider_auth


def test_multipath_connector_gets_portal_lists_and_ro_maps_read_only(thin) -> None:
    driver, _, exporter = thin
    volume = vol()
    driver.create_volume(volume)
    info = driver.initialize_connection(
        volume, {"initiator": INITIATOR, "multipath": True, "mode": "ro"})
    data = info["data"]
    assert data["target_portals"] == ["127.0.0.1:3260"]
    assert data["target_iqns"] == [data["target_iqn"]] and data["target_luns"] == [0]
    assert data["access_mode"] == "ro" and data["discard"] is True
    assert exporter.targets[data["target_iqn"]].acls[INITIATOR][2] is True


def test_a_second_initiator_gets_the_same_credentials(thick) -> None:
    driver, _, _ = thick
    volume = vol()
    driver.create_volume(volume)
    first = driver.initialize_connection(volume, {"initiator": INITIATOR})
    second = driver.initialize_connection(volume, {"initiator": OTHER_INITIATOR})
    assert first["model_update"] == second["model_update"]


def test_bad_connectors_are_refused(thick) -> None:
    driver, _, _ = thick
    volume = vol()
    driver.create_volume(volume)
    with pytest.raises(DriverError, match="initiator"):
        driver.initialize_connection(volume, {"host": "compute-1"})
    with pytest.raises(DriverError, match="initiator"):
        driver.initialize_connection(volume, {"initiator": "iqn.2024-01.bad name"})
    with pytest.raises(DriverError, match="access mode"):
        driver.initialize_connection(volume, {"initiator": INITIATOR, "mode": "wo"})


def test_failed_acl_rolls_back_the_new_target(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    exporter.fail_set_acl = True
    with pytest.raises(DriverError, match="allow initiator failed"):
        driver.initialize_connection(volume, {"initiator": INITIATOR})
    assert not exporter.targets and not exporter.objects


def test_terminate_keeps_the_target_until_the_last_acl_goes(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    driver.initialize_connection(volume, {"initiator": INITIATOR})
    driver.initialize_connection(volume, {"initiator": OTHER_INITIATOR})
    driver.terminate_connection(volume, {"initiator": INITIATOR})
    iqn = f"{PREFIX}volume-{volume.id}"
    assert list(exporter.targets[iqn].acls) == [OTHER_INITIATOR]
    driver.terminate_connection(volume, {"initiator": OTHER_INITIATOR})
    assert not exporter.targets and not exporter.objects


def test_terminate_without_connector_removes_every_acl(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    driver.initialize_connection(volume, {"initiator": INITIATOR})
    driver.initialize_connection(volume, {"initiator": OTHER_INITIATOR})
    driver.terminate_connection(volume, None)
    assert not exporter.targets


def test_chap_secrets_are_never_logged(thick, caplog: pytest.LogCaptureFixture) -> None:
    driver, _, exporter = thick
    caplog.set_level(logging.DEBUG)
    volume = vol()
    driver.create_volume(volume)
    info = driver.initialize_connection(volume, {"initiator": INITIATOR})
    exporter.targets.clear()
    driver.reconcile_exports([Export(Volume(volume.id, 1, provider_auth=info["model_update"]
                                            ["provider_auth"]), (INITIATOR,))])
    assert caplog.records
    assert info["data"]["auth_password"] not in caplog.text


# -- capacity -------------------------------------------------------------------------

def test_thick_pool_report_follows_the_volume_group(thick) -> None:
    driver, lvm, _ = thick
    driver.create_volume(vol(size=3))
    driver.create_volume(vol(size=2))
    (pool,) = driver.get_pools()
    assert pool["total_capacity_gb"] == 100 and pool["free_capacity_gb"] == 95
    assert pool["provisioned_capacity_gb"] == 5 and pool["allocated_capacity_gb"] == 5
    assert pool["total_volumes"] == 2 and pool["thick_provisioning_support"] is True
    for key in ("reserved_percentage", "max_over_subscription_ratio", "multiattach",
                "storage_protocol", "vendor_name", "driver_version", "pool_name"):
        assert key in pool
    assert pool["volume_backend_name"] == "lvm" and pool["storage_protocol"] == "iSCSI"


def test_thin_pool_report_uses_the_pool_and_its_usage(thin) -> None:
    driver, lvm, _ = thin
    driver.create_volume(vol(size=10))
    pool_lv = lvm.lvs["cinder-volumes-pool"]
    lvm.lvs[pool_lv.name] = pool_lv.__class__(**{**pool_lv.__dict__, "data_percent": 25.0,
                                                 "metadata_percent": 3.5})
    (pool,) = driver.get_pools()
    assert pool["total_capacity_gb"] == 95
    assert pool["free_capacity_gb"] == 71.25
    assert pool["provisioned_capacity_gb"] == 10
    assert pool["pool_data_percent"] == 25.0 and pool["pool_metadata_percent"] == 3.5
    assert pool["thin_provisioning_support"] is True


# -- reconciliation -------------------------------------------------------------------

def test_reconcile_rebuilds_a_cleared_configuration_with_the_same_credentials(thick) -> None:
    driver, _, exporter = thick
    volume = vol()
    driver.create_volume(volume)
    info = driver.initialize_connection(volume, {"initiator": INITIATOR})
    exporter.targets.clear()
    exporter.objects.clear()
    saved_alone = exporter.changes_saved_alone
    stored = Volume(volume.id, 1, provider_auth=info["model_update"]["provider_auth"],
                    provider_location=info["model_update"]["provider_location"])
    report = driver.reconcile_exports([Export(stored, (INITIATOR,))])
    iqn = info["data"]["target_iqn"]
    assert report.targets_created == [iqn]
    assert report.acls_created == [f"{iqn} {INITIATOR}"]
    user, secret = info["data"]["auth_username"], info["data"]["auth_password"]
    assert exporter.targets[iqn].acls == {INITIATOR: (user, secret, False)}
    assert exporter.list_calls == 1
    # The whole pass is saved once after it, not after each target and ACL.
    assert exporter.changes_saved_alone == saved_alone


def test_reconcile_removes_only_this_backends_unneeded_exports(thick) -> None:
    driver, _, exporter = thick
    kept, dropped = vol(), vol()
    for volume in (kept, dropped):
        driver.create_volume(volume)
        driver.initialize_connection(volume, {"initiator": INITIATOR})
    driver.initialize_connection(kept, {"initiator": OTHER_INITIATOR})
    foreign = f"{PREFIX}volume-{uuid.uuid4()}"
    exporter.ensure_target(foreign, foreign.rsplit(":")[-1], "/dev/other-vg/x", False)
    auth = exporter.credentials(f"{PREFIX}volume-{kept.id}")
    report = driver.reconcile_exports(
        [Export(Volume(kept.id, 1, provider_auth=f"CHAP {auth[0]} {auth[1]}"), (INITIATOR,))])
    assert report.targets_removed == [f"{PREFIX}volume-{dropped.id}"]
    assert report.acls_removed == [f"{PREFIX}volume-{kept.id} {OTHER_INITIATOR}"]
    assert report.targets_created == [] and report.acls_created == []
    assert set(exporter.targets) == {f"{PREFIX}volume-{kept.id}", foreign}
    assert f"volume-{dropped.id}" not in exporter.objects


# -- orphans ----------------------------------------------------------------------------

def test_orphans_are_own_volume_lvs_the_controller_does_not_know(thick) -> None:
    driver, lvm, exporter = thick
    known, orphan, exported_orphan = vol(), vol(), vol()
    for volume in (known, orphan, exported_orphan):
        driver.create_volume(volume)
    driver.initialize_connection(exported_orphan, {"initiator": INITIATOR})
    foreign = f"volume-{uuid.uuid4()}"
    lvm.create_lv(foreign, GiB, thin=False)
    lvm.create_lv("notes", GiB, thin=False, tags=("cinderblock",))
    removed = driver.remove_orphans({known.id})
    assert sorted(removed) == sorted([orphan.id, exported_orphan.id])
    assert set(lvm.lvs) == {f"volume-{known.id}", foreign, "notes"}
    assert {name for name, _, _ in lvm.zeroed} >= {f"volume-{orphan.id}"}
    assert exporter.targets == {}
    assert driver.remove_orphans({known.id}) == []


def test_an_orphan_with_snapshots_is_left_and_logged(thick, caplog) -> None:
    driver, lvm, _ = thick
    orphan = vol()
    driver.create_volume(orphan)
    driver.create_snapshot(Snapshot(str(uuid.uuid4()), orphan.id, 1))
    assert driver.remove_orphans(set()) == []
    assert f"volume-{orphan.id}" in lvm.lvs and "still has snapshots" in caplog.text


def test_a_create_killed_before_its_copy_finished_is_an_orphan_or_redone(thick) -> None:
    driver, lvm, _ = thick
    gone, redelivered = vol(), vol()
    for volume in (gone, redelivered):
        lvm.create_lv(f"volume-{volume.id}", GiB, thin=False,
                      tags=("cinderblock", "cinderblock-incomplete"))
    assert driver.remove_orphans({redelivered.id}) == [gone.id]
    driver.create_volume(redelivered)
    assert set(lvm.lvs) == {f"volume-{redelivered.id}"}
    assert lvm.lvs[f"volume-{redelivered.id}"].tags == {"cinderblock"}
