"""The API under ``auth_strategy = keystone``, with tokens from the real Keystone.

What users rely on: no token or a bad one is a 401 that says where to log in; a project
sees only its own volumes; a reader cannot create; a member cannot use admin actions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api import policies
from api.app import create_app
from common.config import load
from db.manage import sync
from db.session import make_engine, make_session_factory
from tests.api.conftest import RecordingFakeTransport, place
from tests.keystone.server import Keystone

UNAUTHORIZED = {"error": {"code": 401, "title": "Unauthorized",
                          "message": "The request you have made requires authentication."}}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'cinder.sqlite'}")
    sync(engine)
    return make_session_factory(engine)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, keystone: Keystone,
        sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    conf = tmp_path_factory.mktemp("conf") / "cinder.conf"
    conf.write_text("[DEFAULT]\nauth_strategy = keystone\n[database]\nconnection = sqlite://\n"
                    + keystone.authtoken_section())
    app = create_app(load([str(conf)]), transport=RecordingFakeTransport(), sessions=sessions)
    with TestClient(app) as client:
        yield client


class Caller:
    """A Keystone user as the API sees it: token, project, and request helpers."""

    def __init__(self, api: TestClient, keystone: Keystone, user: str) -> None:
        self.api = api
        self.token, body = keystone.token(user)
        self.project = body["project"]["id"]

    def request(self, method: str, path: str, project: str | None = None, **kw):
        return self.api.request(method, f"/v3/{project or self.project}/{path}",
                                headers={"X-Auth-Token": self.token}, **kw)

    def create_volume(self) -> dict:
        response = self.request("POST", "volumes", json={"volume": {"size": 1}})
        assert response.status_code == 202, response.text
        return response.json()["volume"]


@pytest.fixture(scope="module")
def callers(api: TestClient, keystone: Keystone) -> dict[str, Caller]:
    return {user: Caller(api, keystone, user)
            for user in ("admin", "demo", "demo-reader", "alt-demo")}


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "garbage"},
                                     {"X-Auth-Token": "admin:admin"}])
def test_missing_or_bad_token_is_401_naming_keystone(api, keystone, callers, headers):
    response = api.get(f"/v3/{callers['demo'].project}/volumes", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == f'Keystone uri="{keystone.url}"'


def test_revoked_token_is_401(api, keystone):
    caller = Caller(api, keystone, "alt-demo")
    keystone.revoke(caller.token)
    # The app's validator may have cached it only if used before; this one never was.
    assert caller.request("GET", "volumes").status_code == 401


def test_member_creates_and_lists_in_its_project(callers):
    demo = callers["demo"]
    volume = demo.create_volume()
    listed = demo.request("GET", "volumes").json()["volumes"]
    assert volume["id"] in {v["id"] for v in listed}


def test_projects_cannot_see_or_touch_each_other(callers):
    volume = callers["demo"].create_volume()
    alt = callers["alt-demo"]
    assert volume["id"] not in {v["id"] for v in alt.request("GET", "volumes").json()["volumes"]}
    assert alt.request("GET", f"volumes/{volume['id']}").status_code == 404
    assert alt.request("DELETE", f"volumes/{volume['id']}").status_code == 404
    foreign_url = alt.request("GET", "volumes", project=callers["demo"].project)
    assert foreign_url.status_code == 400


def test_reader_reads_but_cannot_create(callers):
    volume = callers["demo"].create_volume()
    reader = callers["demo-reader"]
    assert reader.request("GET", f"volumes/{volume['id']}").status_code == 200
    refused = reader.request("POST", "volumes", json={"volume": {"size": 1}})
    assert refused.status_code == 403
    assert refused.json() == {"forbidden": {
        "code": 403, "message": "Policy doesn't allow volume:create to be performed."}}
    assert reader.request("DELETE", f"volumes/{volume['id']}").status_code == 403


def test_snapshots_follow_the_same_personas(callers, sessions):
    volume = callers["demo"].create_volume()
    place(sessions, volume["id"])
    body = {"snapshot": {"volume_id": volume["id"], "name": "s"}}
    assert callers["demo-reader"].request("POST", "snapshots", json=body).status_code == 403
    created = callers["demo"].request("POST", "snapshots", json=body)
    assert created.status_code == 202, created.text
    snapshot_id = created.json()["snapshot"]["id"]
    assert callers["demo-reader"].request("GET", f"snapshots/{snapshot_id}").status_code == 200
    assert callers["alt-demo"].request("GET", f"snapshots/{snapshot_id}").status_code == 404


def test_member_cannot_reset_status_or_list_services(callers):
    demo = callers["demo"]
    volume = demo.create_volume()
    reset = demo.request("POST", f"volumes/{volume['id']}/action",
                         json={"os-reset_status": {"status": "available"}})
    assert reset.status_code == 403
    assert demo.request("GET", "os-services").status_code == 403


def test_admin_lists_services_and_sees_every_project(callers):
    admin = callers["admin"]
    volume = callers["demo"].create_volume()
    assert admin.request("GET", "os-services").status_code == 200
    everyone = admin.request("GET", "volumes?all_tenants=1").json()["volumes"]
    assert volume["id"] in {v["id"] for v in everyone}


def test_operator_policy_file_opens_services_to_members(tmp_path, keystone, sessions,
                                                         callers):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"volume_extension:services:index": "rule:admin_api or role:member"\n')
    conf = tmp_path / "cinder.conf"
    conf.write_text(f"[DEFAULT]\nauth_strategy = keystone\npolicy_file = {policy}\n"
                    "[database]\nconnection = sqlite://\n" + keystone.authtoken_section())
    demo = callers["demo"]
    try:
        app = create_app(load([str(conf)]), transport=RecordingFakeTransport(),
                         sessions=sessions)
        with TestClient(app) as client:
            listed = client.get(f"/v3/{demo.project}/os-services",
                                headers={"X-Auth-Token": demo.token})
    finally:
        policies.configure(None)
    assert listed.status_code == 200
