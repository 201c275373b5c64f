"""What keeps tenants apart, seen through the clients: projects, roles and tokens."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest


@pytest.fixture(scope="module")
def demo_volume(shell) -> str:
    """A volume of the demo project, available."""
    volume = shell.json("demo", "volume", "create", "--size", "1",
                        f"private-{uuid.uuid4().hex[:8]}")["id"]
    shell.wait_volume("demo", volume, "available")
    return volume


def demo_project(stack) -> str:
    return stack.keystone.token("demo")[1]["project"]["id"]


def test_other_project_cannot_see_or_touch_it(shell, demo_volume):
    assert demo_volume not in [v["ID"] for v in shell.json("alt-demo", "volume", "list")]
    for argv in (("volume", "show", demo_volume),
                 ("volume", "set", "--name", "stolen", demo_volume),
                 ("volume", "delete", demo_volume)):
        assert "No Volume found" in shell.fails("alt-demo", "openstack", *argv)
    shown = shell.wait_volume("demo", demo_volume, "available")
    assert shown["name"].startswith("private-")


def test_other_project_token_on_this_projects_url_is_refused(stack, demo_volume):
    token, _ = stack.keystone.token("alt-demo")
    response = httpx.get(f"{stack.api_url}/v3/{demo_project(stack)}/volumes/{demo_volume}",
                         headers={"X-Auth-Token": token})
    assert response.status_code in (400, 403, 404), response.text
    assert demo_volume not in response.text


def test_admin_sees_every_project(shell, demo_volume):
    listed = shell.json("admin", "volume", "list", "--all-projects")
    assert demo_volume in [v["ID"] for v in listed]


def test_reader_reads_but_cannot_create(shell, demo_volume):
    assert demo_volume in [v["ID"] for v in shell.json("demo-reader", "volume", "list")]
    before = len(shell.json("demo", "volume", "list"))
    assert "403" in shell.fails("demo-reader", "openstack", "volume", "create",
                                     "--size", "1", "by-reader")
    assert len(shell.json("demo", "volume", "list")) == before


def test_member_cannot_reset_status(shell, demo_volume):
    refused = shell.fails("demo", "openstack", "volume", "set", "--state", "error", demo_volume)
    assert "403" in refused and "reset_status" in refused
    assert shell.json("demo", "volume", "show", demo_volume)["status"] == "available"


def test_member_cannot_list_services(shell):
    refused = shell.fails("demo", "openstack", "volume", "service", "list")
    assert "403" in refused and "services:index" in refused


def test_garbage_token_is_401_with_where_to_authenticate(stack):
    response = httpx.get(f"{stack.api_url}/v3/{demo_project(stack)}/volumes",
                         headers={"X-Auth-Token": "gAAAAAB-garbage"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{stack.keystone.url}"'


def test_expired_token_is_401(stack):
    token, expires = stack.keystone.short_lived_token("demo", 3)
    url = f"{stack.api_url}/v3/{demo_project(stack)}/volumes"
    assert httpx.get(url, headers={"X-Auth-Token": token}).status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1)
    assert httpx.get(url, headers={"X-Auth-Token": token}).status_code == 401
