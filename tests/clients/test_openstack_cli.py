"""python-openstackclient against cinderblock, found through Keystone's catalog."""

from __future__ import annotations

import uuid

from tests.clients.stack import BACKEND


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_volume_create_show_list_set_delete(shell):
    created = shell.json("demo", "volume", "create", "--size", "1", name("osc"))
    assert created["size"] == 1
    shown = shell.wait_volume("demo", created["id"], "available")
    assert shown["name"] == created["name"]
    assert created["id"] in [v["ID"] for v in shell.json("demo", "volume", "list")]

    shell.run("demo", "openstack", "volume", "set", "--name", "renamed", "--description",
              "from osc", "--property", "tier=gold", created["id"])
    shown = shell.json("demo", "volume", "show", created["id"])
    assert (shown["name"], shown["description"]) == ("renamed", "from osc")
    assert shown["properties"] == {"tier": "gold"}

    shell.run("demo", "openstack", "volume", "delete", created["id"])
    assert "No Volume found" in shell.fails(
        "demo", "openstack", "volume", "show", created["id"])


def test_volume_set_size_extends(shell):
    volume = shell.json("demo", "volume", "create", "--size", "1", name("grow"))["id"]
    shell.wait_volume("demo", volume, "available")
    shell.run("demo", "openstack", "volume", "set", "--size", "3", volume)
    assert shell.wait_volume("demo", volume, "available")["size"] == 3


def test_admin_lists_the_volume_service_up(shell):
    """By Cinder's binary name, as operators ask for it."""
    services = shell.json("admin", "volume", "service", "list", "--service", "cinder-volume")
    assert [(s["Binary"], s["Host"], s["State"], s["Status"]) for s in services] == [
        ("cinder-volume", f"clients@{BACKEND}", "up", "enabled")]


def test_admin_type_is_used_by_a_member(shell):
    type_name = name("gold")
    created = shell.json("admin", "volume", "type", "create", "--property",
                         f"volume_backend_name={BACKEND}", type_name)
    assert created["name"] == type_name
    volume = shell.json("demo", "volume", "create", "--size", "1", "--type", type_name,
                        name("typed"))["id"]
    assert shell.wait_volume("demo", volume, "available")["type"] == type_name


def test_snapshot_create_of_a_volume(shell):
    volume = shell.json("demo", "volume", "create", "--size", "1", name("snapped"))["id"]
    shell.wait_volume("demo", volume, "available")
    snapshot = shell.json("demo", "volume", "snapshot", "create", "--volume", volume,
                          name("snap"))
    assert snapshot["volume_id"] == volume
    listed = shell.json("demo", "volume", "snapshot", "list", "--volume", volume)
    assert [s["ID"] for s in listed] == [snapshot["id"]]
