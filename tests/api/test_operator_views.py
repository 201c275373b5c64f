"""Admin views: os-hosts, scheduler-stats/get_pools, capabilities, os-quota-class-sets,
extensions."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from db.models import Pool, Service, utcnow
from tests.api.conftest import OTHER_PROJECT, PROJECT, create_volume, headers, place, sample, url

_CAPS = {"pool_name": "lvm", "total_capacity_gb": 100.0, "free_capacity_gb": 90.0,
         "reserved_percentage": 0, "thin_provisioning_support": True,
         "volume_backend_name": "lvm", "storage_protocol": "iSCSI",
         "vendor_name": "cinderblock", "driver_version": "1.0"}


def _backends(sessions: sessionmaker[Session]) -> None:
    """node2@lvm is up with one pool; node3@old stopped reporting long ago."""
    with sessions() as session, session.begin():
        session.add_all([
            Service(host="node2@lvm", binary="cinderblock-volume", topic="cinderblock-volume",
                    availability_zone="nova", last_seen_at=utcnow()),
            Service(host="node3@old", binary="cinderblock-volume", topic="cinderblock-volume",
                    availability_zone="nova", last_seen_at=utcnow() - timedelta(hours=1)),
            Service(host="ctl", binary="cinderblock-scheduler", topic="cinderblock-scheduler",
                    availability_zone="nova", last_seen_at=utcnow(), disabled=True),
            Pool(host="node2@lvm#lvm", capabilities=_CAPS, allocated_capacity_gb=3),
            Pool(host="node3@old#old", capabilities={**_CAPS, "pool_name": "old"}),
        ])


def test_hosts_list_and_usage(client: TestClient,
                              session_factory: sessionmaker[Session]) -> None:
    _backends(session_factory)
    for project, size in ((PROJECT, 1), (PROJECT, 2), (OTHER_PROJECT, 4)):
        volume = create_volume(client, project, size=size)
        place(session_factory, volume["id"], host="node2@lvm#lvm")
    assert client.get(url("os-hosts"), headers=headers(roles="member")).status_code == 403
    hosts = client.get(url("os-hosts"), headers=headers()).json()["hosts"]
    assert [(h["host_name"], h["service-status"], h["service-state"]) for h in hosts] == [
        ("node2@lvm", "available", "enabled"), ("node3@old", "unavailable", "enabled")]
    assert set(hosts[0]) == {"host_name", "service", "zone", "service-status",
                             "service-state", "last-update"}
    assert {h["service"] for h in hosts} == {"cinder-volume"}
    for service in ("cinder-volume", "cinderblock-volume"):
        only = client.get(url(f"os-hosts?service={service}"), headers=headers()).json()
        assert [h["host_name"] for h in only["hosts"]] == ["node2@lvm", "node3@old"]
    usage = client.get(url("os-hosts/node2@lvm"), headers=headers()).json()["host"]
    by_project = {r["resource"]["project"]: r["resource"] for r in usage}
    assert by_project["(total)"]["volume_count"] == "3"
    assert by_project["(total)"]["total_volume_gb"] == "7"
    assert by_project[PROJECT]["total_volume_gb"] == "3"
    assert by_project[OTHER_PROJECT]["snapshot_count"] == "0"
    missing = client.get(url("os-hosts/nowhere@x"), headers=headers())
    assert missing.status_code == 404


def test_get_pools_lists_live_pools_like_cinder(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    _backends(session_factory)
    names = client.get(url("scheduler-stats/get_pools"), headers=headers()).json()
    assert names == {"pools": [{"name": "node2@lvm#lvm"}]}
    detail = client.get(url("scheduler-stats/get_pools?detail=True"),
                        headers=headers()).json()["pools"]
    recorded = sample("19_scheduler_pools_detail.json")["response"]["body"]["pools"][0]
    assert set(detail[0]) == set(recorded)
    caps = detail[0]["capabilities"]
    assert (caps["allocated_capacity_gb"], caps["free_capacity_gb"]) == (3, 90.0)
    assert caps["timestamp"]
    assert client.get(url("scheduler-stats/get_pools"), headers=headers(roles="member")
                      ).status_code == 403
    named = client.get(url("scheduler-stats/get_pools?name=nope"),
                       headers=headers(version="3.28")).json()
    assert named == {"pools": []}


def test_capabilities_of_a_backend(client: TestClient,
                                   session_factory: sessionmaker[Session]) -> None:
    _backends(session_factory)
    body = client.get(url("capabilities/node2@lvm"), headers=headers()).json()
    assert body["namespace"] == "OS::Storage::Capabilities::node2@lvm"
    assert (body["volume_backend_name"], body["storage_protocol"]) == ("lvm", "iSCSI")
    assert "thin_provisioning" in body["properties"]
    missing = client.get(url("capabilities/nowhere@x"), headers=headers())
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == "Can't find service: nowhere@x"


def test_quota_class_sets_change_the_defaults(client: TestClient) -> None:
    path = url("os-quota-class-sets/default")
    shown = client.get(path, headers=headers()).json()["quota_class_set"]
    assert shown["id"] == "default" and shown["volumes"] == 10
    assert client.get(path, headers=headers(roles="member")).status_code == 403
    updated = client.put(path, headers=headers(),
                         json={"quota_class_set": {"volumes": 3}}).json()["quota_class_set"]
    assert updated["volumes"] == 3 and "id" not in updated
    project = client.get(url(f"os-quota-sets/{PROJECT}"), headers=headers()).json()
    assert project["quota_set"]["volumes"] == 3
    for bad in ({"quota_class_set": {"volumes": "many"}}, {"quota_class_set": {"nope": 1}},
                {"other": {}}):
        assert client.put(path, headers=headers(), json=bad).status_code == 400, bad


def test_extensions_name_only_served_apis(client: TestClient) -> None:
    listed = client.get(url("extensions"), headers=headers()).json()["extensions"]
    recorded = sample("18_extensions_list.json")["response"]["body"]["extensions"]
    by_alias = {e["alias"]: e for e in recorded}
    aliases = [e["alias"] for e in listed]
    assert {"os-hosts", "scheduler-stats", "os-quota-class-sets", "capabilities"} <= set(aliases)
    assert "backups" not in aliases and "consistencygroups" not in aliases
    for entry in listed:
        assert entry == by_alias[entry["alias"]]
