"""LVMDriver on real LVM, LIO and open-iscsi in the storage-node VM.

The driver runs in the guest as one long-lived process fed batches of calls
(tests/agent_vm/guest_driver.py), as the agent does; the guest is also the initiator,
logging in with the CHAP credentials the driver returned. Two backends share that
process as on a real node: ``thick`` on the VG ``cinder-volumes`` and ``thin`` on a
second VG made here.
"""

from __future__ import annotations

import json
import shlex
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.vm

GiB = 1 << 30
WORK = "/tmp/agent-vm"
CONFIG = f"{WORK}/cinder.conf"
QUEUE = f"{WORK}/queue"
CONFIGFS = "/sys/kernel/config/target/iscsi"
# The image ships no bytecode and 9p is slow to stat: compile once per VM, locally.
PYCACHE = "/var/tmp/agent-vm-pycache"
PREFIX = "iqn.2010-10.org.openstack:"
STRANGER = "iqn.2004-10.org.cinderblock:stranger"
THIN_VG = "cinder-thin"
CONFIG_TEXT = f"""\
[DEFAULT]
enabled_backends = thick,thin
[thick]
volume_group = cinder-volumes
lvm_type = default
volume_clear = zero
volume_clear_size = 4
target_ip_address = 127.0.0.1
[thin]
volume_group = {THIN_VG}
lvm_type = thin
target_ip_address = 127.0.0.1
"""
# Shell helpers for the guest initiator; no discovery, like os-brick with
# target_discovered = false: a static node record per target.
ISCSI = r"""
set -u
iscsi_login() {  # iqn portal user password [iface]
  local iface=${5:-default} kv
  iscsiadm -m node -o new -T "$1" -p "$2" -I "$iface" >/dev/null || return 1
  for kv in node.session.auth.authmethod=CHAP "node.session.auth.username=$3" \
            "node.session.auth.password=$4"; do
    iscsiadm -m node -T "$1" -p "$2" -I "$iface" -o update -n "${kv%%=*}" -v "${kv#*=}" \
      || return 1
  done
  iscsiadm -m node -T "$1" -p "$2" -I "$iface" --login >/dev/null 2>&1
}
iscsi_forget() {  # iqn portal
  iscsiadm -m node -T "$1" -p "$2" --logout >/dev/null 2>&1
  iscsiadm -m node -T "$1" -p "$2" -o delete >/dev/null 2>&1
  true
}
iscsi_disk() {  # iqn -> /dev/sdX once the LUN is attached
  local i d
  for i in $(seq 150); do
    d=$(iscsiadm -m session -P3 2>/dev/null | awk -v t="$1" \
        '$1=="Target:"{cur=$2} /Attached scsi disk/{if (cur==t) {print $4; exit}}')
    [ -n "$d" ] && [ -b "/dev/$d" ] && { echo "/dev/$d"; return 0; }
    sleep 0.2
  done
  return 1
}
lv_head() {  # vg lv MiB -> md5 of the first MiB, read past any cache
  dd if="/dev/$1/$2" bs=1M count="$3" iflag=direct status=none | md5sum | cut -d' ' -f1
}
"""


class Agent:
    """The guest side: one long-lived driver process fed batches, and shell scripts."""

    def __init__(self, vm: Any, initiator: str, pid: int) -> None:
        self.vm = vm
        self.initiator = initiator
        self.pid = pid

    def drive(self, *steps: dict[str, Any]) -> list[dict[str, Any]]:
        name = f"{QUEUE}/{uuid.uuid4().hex}"
        self.vm.write_file(f"{name}.new", json.dumps(list(steps)))
        result = self.vm.run(
            f"mv {name}.new {name}.json && until [ -e {name}.out ]; do "
            f"kill -0 {self.pid} || {{ tail -20 {WORK}/driver.log >&2; exit 3; }}; "
            f"sleep 0.1; done; cat {name}.out; cat {name}.err >&2", timeout=300)
        assert result.rc == 0, result.stderr
        return json.loads(result.stdout)

    def ok(self, *steps: dict[str, Any]) -> list[Any]:
        results = self.drive(*steps)
        errors = [(s["op"], r["error"]) for s, r in zip(steps, results, strict=True)
                  if "error" in r]
        assert not errors, errors
        return [r["ok"] for r in results]

    def sh(self, script: str, timeout: float = 180) -> dict[str, str]:
        """Run bash with the iSCSI helpers; ``key=value`` lines come back as a dict."""
        result = self.vm.run(ISCSI + script, timeout=timeout)
        assert result.rc == 0, f"rc={result.rc}\n{result.stdout}\n{result.stderr}"
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    def lvs(self, vg: str) -> dict[str, tuple[int, str, str]]:
        out = self.sh(f"lvm lvs --reportformat json --units b --nosuffix "
                      f"-o lv_name,lv_size,segtype,origin {vg} | tr -d '\\n' | "
                      f"sed 's/^/json=/'")["json"]
        rows = json.loads(out)["report"][0]["lv"]
        return {r["lv_name"]: (int(r["lv_size"]), r["segtype"], r["origin"]) for r in rows}

    def leftovers(self) -> dict[str, str]:
        """Volumes, snapshots, targets and storage objects the driver may have left."""
        return self.sh(
            "echo lvs=$(lvm lvs --noheadings -o lv_name cinder-volumes " + THIN_VG +
            " | grep -E 'volume-|_snapshot-|_clone-' | tr -d ' ' | tr '\\n' ,)\n"
            "echo targets=$(ls /sys/kernel/config/target/iscsi 2>/dev/null | "
            f"grep '^{PREFIX}' | tr '\\n' ,)\n"
            "echo objects=$(ls -d /sys/kernel/config/target/core/iblock_*/volume-* "
            "2>/dev/null | tr '\\n' ,)\n")


@pytest.fixture(scope="module")
def agent(storage_vm: Any) -> Iterator[Agent]:
    storage_vm.run(f"rm -rf {QUEUE} && mkdir -p {QUEUE}", check=True)
    storage_vm.write_file(CONFIG, CONFIG_TEXT)
    storage_vm.run(
        f"lvm vgs {THIN_VG} >/dev/null 2>&1 || {{ truncate -s 4G /var/tmp/{THIN_VG}.img && "
        f"dev=$(losetup -f --show /var/tmp/{THIN_VG}.img) && "
        f"lvm vgcreate -y {THIN_VG} $dev; }}", check=True)
    initiator = storage_vm.run(
        "sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi", check=True
    ).stdout.strip()
    process = storage_vm.spawn(
        f"cd {storage_vm.src} && PYTHONPYCACHEPREFIX={PYCACHE} exec python3 -m "
        f"tests.agent_vm.guest_driver {CONFIG} {QUEUE}", f"{WORK}/driver.log")
    yield Agent(storage_vm, initiator, process.pid)
    storage_vm.run(f"touch {QUEUE}/STOP")
    process.stop()


def new_volume(size: int, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "size": size, **extra}


def exported(volume: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The volume as the controller sends it after persisting a model update."""
    return {**volume, "provider_auth": update["provider_auth"],
            "provider_location": update["provider_location"]}


def login_write(info: dict[str, Any], offsets_mib: tuple[int, ...]) -> str:
    """Log in with the returned credentials, write a random 4 MiB pattern at each offset
    through the iSCSI disk, log out; returns the pattern's md5."""
    d = info["data"]
    args = " ".join(shlex.quote(x) for x in (d["target_iqn"], d["target_portal"],
                                             d["auth_username"], d["auth_password"]))
    writes = "\n".join(f"dd if={WORK}/pattern of=$disk bs=1M seek={o} oflag=direct "
                       f"conv=fsync status=none" for o in offsets_mib)
    return f"""
dd if=/dev/urandom of={WORK}/pattern bs=1M count=4 status=none
iscsi_login {args}
disk=$(iscsi_disk {d["target_iqn"]})
echo size=$(blockdev --getsize64 $disk)
{writes}
iscsi_forget {d["target_iqn"]} {d["target_portal"]}
echo pattern=$(md5sum < {WORK}/pattern | cut -d' ' -f1)
"""


def test_thick_volumes_snapshot_clone_extend_and_delete(agent: Agent) -> None:
    a = new_volume(1)
    first, again, info = agent.ok(
        {"backend": "thick", "op": "create_volume", "volume": a},
        {"backend": "thick", "op": "create_volume", "volume": a},
        {"backend": "thick", "op": "initialize_connection", "volume": a,
         "connector": {"initiator": agent.initiator, "multipath": True}})
    assert first == again == {"provider_location": info["model_update"]["provider_location"]}
    data = info["data"]
    assert data["target_iqn"] == f"{PREFIX}volume-{a['id']}"
    assert data["target_portal"] == "127.0.0.1:3260" and data["target_lun"] == 0
    assert data["target_portals"] == ["127.0.0.1:3260"] and data["discard"] is False
    assert info["model_update"]["provider_auth"] == (
        f"CHAP {data['auth_username']} {data['auth_password']}")

    written = agent.sh(login_write(info, (0, 512)))
    assert int(written["size"]) == GiB

    snap = {"id": str(uuid.uuid4()), "volume_id": a["id"], "volume_size": 1}
    b = new_volume(2, snapshot_id=snap["id"])
    c = new_volume(1, source_volid=a["id"])
    *_, pools = agent.ok(
        {"backend": "thick", "op": "terminate_connection", "volume": a,
         "connector": {"initiator": agent.initiator}},
        {"backend": "thick", "op": "create_volume", "volume": c},
        {"backend": "thick", "op": "create_snapshot", "snapshot": snap},
        {"backend": "thick", "op": "create_snapshot", "snapshot": snap},
        {"backend": "thick", "op": "create_volume", "volume": b},
        {"backend": "thick", "op": "extend_volume", "volume": c, "new_size": 3},
        {"backend": "thick", "op": "extend_volume", "volume": c, "new_size": 3},
        {"backend": "thick", "op": "get_pools"})
    facts = agent.sh(
        f"for lv in volume-{b['id']} volume-{c['id']}; do\n"
        f"  echo $lv.head=$(lv_head cinder-volumes $lv 4)\n"
        f"  echo $lv.tail=$(dd if=/dev/cinder-volumes/$lv bs=1M skip=512 count=4 "
        f"iflag=direct status=none | md5sum | cut -d' ' -f1)\n"
        "done\n"
        "echo vg=$(lvm vgs --noheadings --units b --nosuffix -o vg_size,vg_free "
        "cinder-volumes)\n"
        f"echo target=$(ls /sys/kernel/config/target/iscsi | grep -c volume-{a['id']})\n"
        f"cd {agent.vm.src} && PYTHONPYCACHEPREFIX={PYCACHE} python3 -c 'from volume_agent.lvm "
        f"import LVM; LVM(\"cinder-volumes\").zero(\"volume-{c['id']}\", 1 << 20)'\n"
        f"echo wiped=$(lv_head cinder-volumes volume-{c['id']} 1)\n"
        f"echo zeros=$(head -c 1048576 /dev/zero | md5sum | cut -d' ' -f1)\n"
        f"echo after=$(dd if=/dev/cinder-volumes/volume-{c['id']} bs=1M skip=1 count=3 "
        f"iflag=direct status=none | md5sum | cut -d' ' -f1)\n"
        f"echo pattern_after=$(tail -c +1048577 {WORK}/pattern | md5sum | cut -d' ' -f1)\n")
    for lv in (f"volume-{b['id']}", f"volume-{c['id']}"):
        assert facts[f"{lv}.head"] == facts[f"{lv}.tail"] == written["pattern"], lv
    assert facts["target"] == "0", "terminating the only connection removes the target"
    assert facts["wiped"] == facts["zeros"], "volume_clear zeroes the start of the LV"
    assert facts["after"] == facts["pattern_after"], "and nothing past volume_clear_size"
    lvs = agent.lvs("cinder-volumes")
    assert lvs[f"volume-{a['id']}"][:2] == (GiB, "linear")
    assert lvs[f"volume-{b['id']}"][:2] == (2 * GiB, "linear")
    assert lvs[f"volume-{c['id']}"][:2] == (3 * GiB, "linear")
    assert lvs[f"_snapshot-{snap['id']}"][2] == f"volume-{a['id']}"
    assert not [name for name in lvs if name.startswith("_clone-")]
    pool = pools[0]
    vg_size, vg_free = (int(x) for x in facts["vg"].split())
    assert pool["total_capacity_gb"] == round(vg_size / GiB, 2)
    assert pool["free_capacity_gb"] == round(vg_free / GiB, 2)
    assert pool["allocated_capacity_gb"] >= 6 and pool["thick_provisioning_support"] is True

    refused, *deleted = agent.drive(
        {"backend": "thick", "op": "delete_volume", "volume": a},
        {"backend": "thick", "op": "delete_snapshot", "snapshot": snap},
        {"backend": "thick", "op": "delete_snapshot", "snapshot": snap},
        {"backend": "thick", "op": "delete_volume", "volume": a},
        {"backend": "thick", "op": "delete_volume", "volume": a},
        {"backend": "thick", "op": "delete_volume", "volume": b},
        {"backend": "thick", "op": "delete_volume", "volume": c})
    assert "still has snapshots" in refused["error"]
    assert all("ok" in r for r in deleted), deleted
    assert agent.leftovers() == {"lvs": "", "targets": "", "objects": ""}


def test_thin_volumes_snapshot_clone_and_capacity(agent: Agent) -> None:
    t1 = new_volume(2)
    _, _, info = agent.ok(
        {"backend": "thin", "op": "create_volume", "volume": t1},
        {"backend": "thin", "op": "create_volume", "volume": t1},
        {"backend": "thin", "op": "initialize_connection", "volume": t1,
         "connector": {"initiator": agent.initiator}})
    assert info["data"]["discard"] is True and "target_portals" not in info["data"]
    written = agent.sh(login_write(info, (0,)))
    assert int(written["size"]) == 2 * GiB

    snap = {"id": str(uuid.uuid4()), "volume_id": t1["id"], "volume_size": 2}
    t2 = new_volume(3, snapshot_id=snap["id"])
    t3 = new_volume(2, source_volid=t1["id"])
    t1 = exported(t1, info["model_update"])
    *_, pools = agent.ok(
        {"backend": "thin", "op": "terminate_connection", "volume": t1,
         "connector": {"initiator": agent.initiator}},
        {"backend": "thin", "op": "create_snapshot", "snapshot": snap},
        {"backend": "thin", "op": "create_volume", "volume": t2},
        {"backend": "thin", "op": "create_volume", "volume": t3},
        {"backend": "thin", "op": "get_pools"})
    facts = agent.sh(
        f"echo t2=$(lv_head {THIN_VG} volume-{t2['id']} 4)\n"
        f"echo t3=$(lv_head {THIN_VG} volume-{t3['id']} 4)\n"
        f"echo pool=$(lvm lvs --noheadings --units b --nosuffix "
        f"-o lv_size,data_percent,metadata_percent {THIN_VG}/{THIN_VG}-pool)\n")
    assert facts["t2"] == facts["t3"] == written["pattern"]
    lvs = agent.lvs(THIN_VG)
    assert lvs[f"volume-{t1['id']}"][:2] == (2 * GiB, "thin")
    assert lvs[f"volume-{t2['id']}"] == (3 * GiB, "thin", f"_snapshot-{snap['id']}")
    assert lvs[f"volume-{t3['id']}"] == (2 * GiB, "thin", f"volume-{t1['id']}")
    assert lvs[f"_snapshot-{snap['id']}"][1:] == ("thin", f"volume-{t1['id']}")
    pool = pools[0]
    pool_size, data_percent, metadata_percent = facts["pool"].split()
    assert pool["total_capacity_gb"] == round(int(pool_size) / GiB, 2)
    assert pool["pool_data_percent"] == float(data_percent) > 0
    assert pool["pool_metadata_percent"] == float(metadata_percent) > 0
    assert pool["provisioned_capacity_gb"] == 9
    assert pool["thin_provisioning_support"] is True and pool["total_volumes"] == 4

    results = agent.drive(
        {"backend": "thin", "op": "delete_snapshot", "snapshot": snap},
        *({"backend": "thin", "op": "delete_volume", "volume": v} for v in (t1, t2, t3, t1)))
    assert all("ok" in r for r in results), results
    assert agent.leftovers() == {"lvs": "", "targets": "", "objects": ""}


def test_reconcile_restores_cleared_exports_and_strangers_are_refused(agent: Agent) -> None:
    kept, dropped, thin = new_volume(1), new_volume(1), new_volume(1)
    connector = {"initiator": agent.initiator}
    thin_iqn = f"{PREFIX}volume-{thin['id']}"
    _, _, _, info, dropped_info = agent.ok(
        {"backend": "thick", "op": "create_volume", "volume": kept},
        {"backend": "thick", "op": "create_volume", "volume": dropped},
        {"backend": "thin", "op": "create_volume", "volume": thin},
        {"backend": "thick", "op": "initialize_connection", "volume": kept,
         "connector": connector},
        {"backend": "thick", "op": "initialize_connection", "volume": dropped,
         "connector": connector})
    d = info["data"]
    iqn, portal = d["target_iqn"], d["target_portal"]
    # What a process killed part-way through an export leaves: a target without a LUN.
    written = agent.sh(f"""
python3 -c 'import rtslib_fb as r; r.TPG(r.Target(r.FabricModule("iscsi"), "{thin_iqn}"), 1)'
""" + login_write(info, (0,)) + f"""
iscsiadm -m iface -I stranger -o new >/dev/null 2>&1
iscsiadm -m iface -I stranger -o update -n iface.initiatorname -v {STRANGER} >/dev/null
iscsi_login {iqn} {portal} {d["auth_username"]} {d["auth_username"]}x; echo wrong_password=$?
iscsi_forget {iqn} {portal}
iscsi_login {iqn} {portal} {d["auth_username"]} {d["auth_password"]} stranger; echo stranger=$?
iscsi_forget {iqn} {portal}
iscsiadm -m iface -I stranger -o delete >/dev/null 2>&1
""")
    assert written["wrong_password"] != "0" and written["stranger"] != "0"

    kept_export = {"volume": exported(kept, info["model_update"]),
                   "initiators": [agent.initiator]}
    thin_info, report = agent.ok(
        {"backend": "thin", "op": "initialize_connection", "volume": thin,
         "connector": connector},
        {"backend": "thick", "op": "reconcile_exports", "exports": [kept_export]})
    assert report == {"targets_created": [], "acls_created": [], "acls_removed": [],
                      "targets_removed": [dropped_info["data"]["target_iqn"]]}
    thin_export = {"volume": exported(thin, thin_info["model_update"]),
                   "initiators": [agent.initiator]}
    still = agent.sh(f"echo thin_lun=$(ls {CONFIGFS}/{thin_iqn}/tpgt_1/lun)\n"
                     "python3 -c 'import rtslib_fb; "
                     "rtslib_fb.RTSRoot().clear_existing(confirm=True)'\n"
                     "echo left=$(ls /sys/kernel/config/target/iscsi | grep -c iqn)\n")
    assert still == {"thin_lun": "lun_0", "left": "0"}, "the incomplete target was rebuilt"

    thick_report, thin_report = agent.ok(
        {"backend": "thick", "op": "reconcile_exports", "exports": [kept_export]},
        {"backend": "thin", "op": "reconcile_exports", "exports": [thin_export]})
    assert thick_report["targets_created"] == [iqn]
    assert thick_report["acls_created"] == [f"{iqn} {agent.initiator}"]
    assert thin_report["targets_created"] == [thin_iqn]
    again = agent.sh(f"""
iscsi_login {iqn} {portal} {d["auth_username"]} {d["auth_password"]}; echo login=$?
disk=$(iscsi_disk {iqn})
echo read=$(dd if=$disk bs=1M count=4 iflag=direct status=none | md5sum | cut -d' ' -f1)
iscsi_forget {iqn} {portal}
""")
    assert again == {"login": "0", "read": written["pattern"]}

    results = agent.drive(
        {"backend": "thick", "op": "delete_volume", "volume": kept},
        {"backend": "thick", "op": "delete_volume", "volume": dropped},
        {"backend": "thin", "op": "delete_volume", "volume": thin})
    assert all("ok" in r for r in results), results
    assert agent.leftovers() == {"lvs": "", "targets": "", "objects": ""}


SAVED = "/etc/rtslib-fb-target/saveconfig.json"
OTHER = "iqn.2004-10.org.cinderblock:other-compute"


def saved_acls(agent: Agent) -> dict[str, list[str]]:
    """Our targets in LIO's saved configuration, each with its ACLs' initiators."""
    out = agent.sh(f"""python3 - <<'EOF'
import json
try:
    saved = json.load(open("{SAVED}"))
except FileNotFoundError:
    saved = {{}}
print("saved=" + json.dumps({{
    t["wwn"]: sorted(a["node_wwn"] for tpg in t.get("tpgs", [])
                     for a in tpg.get("node_acls", []))
    for t in saved.get("targets", []) if t["wwn"].startswith("{PREFIX}")}}))
EOF
""")
    return json.loads(out["saved"])


def wait_saved(agent: Agent, expected: dict[str, list[str]], timeout: float = 60) -> None:
    """The save follows a burst of changes by a couple of seconds."""
    deadline = time.monotonic() + timeout
    while (seen := saved_acls(agent)) != expected:
        assert time.monotonic() < deadline, f"saved {seen}, expected {expected}"
        time.sleep(1)


def test_the_saved_configuration_follows_every_change(agent: Agent) -> None:
    """Each save re-reads only the targets changed since the one before (a whole dump of
    200 targets lasts a minute under emulation): a change to a target already saved
    must still reach the file, an ACL added or removed as much as a target."""
    a, b = new_volume(1), new_volume(1)
    mine = {"initiator": agent.initiator}
    other = {"initiator": OTHER}
    _, _, info_a, info_b = agent.ok(
        {"backend": "thin", "op": "create_volume", "volume": a},
        {"backend": "thin", "op": "create_volume", "volume": b},
        {"backend": "thin", "op": "initialize_connection", "volume": a, "connector": mine},
        {"backend": "thin", "op": "initialize_connection", "volume": b, "connector": mine})
    iqn_a, iqn_b = info_a["data"]["target_iqn"], info_b["data"]["target_iqn"]
    me = agent.initiator.lower()
    wait_saved(agent, {iqn_a: [me], iqn_b: [me]})
    b_exported = exported(b, info_b["model_update"])
    agent.ok({"backend": "thin", "op": "initialize_connection", "volume": b_exported,
              "connector": other})
    wait_saved(agent, {iqn_a: [me], iqn_b: sorted([me, OTHER])})
    agent.ok({"backend": "thin", "op": "terminate_connection", "volume": b_exported,
              "connector": mine},
             {"backend": "thin", "op": "terminate_connection",
              "volume": exported(a, info_a["model_update"]), "connector": mine})
    wait_saved(agent, {iqn_b: [OTHER]})
    agent.ok({"backend": "thin", "op": "delete_volume", "volume": a},
             {"backend": "thin", "op": "delete_volume", "volume": b_exported})
    wait_saved(agent, {})
    assert agent.leftovers() == {"lvs": "", "targets": "", "objects": ""}
    agent.sh(f"rm -f {SAVED}")  # the VM's other modules start with no saved configuration


@pytest.mark.parametrize(("backend", "vg"), [("thick", "cinder-volumes"), ("thin", THIN_VG)])
def test_revert_to_snapshot_restores_the_snapshots_data(agent: Agent, backend: str,
                                                        vg: str) -> None:
    """Written after the snapshot: new data over old (at 0 MiB) and over blocks that were
    never written (at 700 MiB, which must read as zeros again); the snapshot stays."""
    volume = new_volume(1)
    snap = {"id": str(uuid.uuid4()), "volume_id": volume["id"], "volume_size": 1}
    lv = f"/dev/{vg}/volume-{volume['id']}"

    def read(name: str) -> str:
        return (f"echo {name}=$(for skip in 0 700; do dd if={lv} bs=1M skip=$skip count=4 "
                "iflag=direct status=none; done | md5sum | cut -d' ' -f1)\n")

    agent.ok({"backend": backend, "op": "create_volume", "volume": volume})
    before = agent.sh(f"dd if=/dev/urandom of={lv} bs=1M count=4 oflag=direct "
                      f"conv=fsync status=none\n" + read("data"))
    agent.ok({"backend": backend, "op": "create_snapshot", "snapshot": snap})
    changed = agent.sh("".join(f"dd if=/dev/urandom of={lv} bs=1M seek={at} count=4 "
                               "oflag=direct conv=fsync status=none\n" for at in (0, 700))
                       + read("data"))
    assert changed["data"] != before["data"]
    agent.ok({"backend": backend, "op": "revert_to_snapshot", "volume": volume,
              "snapshot": snap})
    after = agent.sh(read("data"))
    assert after["data"] == before["data"]
    assert f"_snapshot-{snap['id']}" in agent.lvs(vg), "the snapshot is kept"
    results = agent.drive(
        {"backend": backend, "op": "delete_snapshot", "snapshot": snap},
        {"backend": backend, "op": "delete_volume", "volume": volume})
    assert all("ok" in r for r in results), results
