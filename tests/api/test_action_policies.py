"""Every volume and snapshot action passes Cinder's rule for it, so an operator's policy
file decides each one; the project-less default-types routes are admin-only."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api import policies
from api.app import create_app
from api.services import snapshot_actions, volume_actions
from tests.api.conftest import (
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    url,
    write_conf,
)

MEMBER = {"roles": "member", "user": "demo"}
OVERRIDES = """\
"volume:extend": "!"
"volume_extension:volume_admin_actions:reset_status": "rule:admin_api or role:member"
"volume_extension:snapshot_admin_actions:reset_status": "rule:admin_api or role:member"
"""


@pytest.fixture
def overridden(tmp_path: pathlib.Path, db_url: str, session_factory: sessionmaker[Session]
               ) -> Iterator[TestClient]:
    """An API whose operator policy file changes three action rules."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(OVERRIDES)
    conf = write_conf(tmp_path, db_url, f"policy_file = {policy}\n")
    try:
        app = create_app(conf, transport=RecordingFakeTransport(), sessions=session_factory)
        with TestClient(app) as client:
            yield client
    finally:
        policies.configure(None)


def _act(client: TestClient, path: str, body: object, **kw: str) -> int:
    return client.post(url(f"{path}/action"), headers=headers(**kw), json=body).status_code


def test_every_action_has_a_rule() -> None:
    assert set(volume_actions.ACTIONS) == set(volume_actions.ACTION_RULES)
    assert set(snapshot_actions.HANDLERS) == set(snapshot_actions.RULES)


def test_defaults_keep_admin_actions_for_admins(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"])
    reset = {"os-reset_status": {"status": "error"}}
    refused = client.post(url(f"volumes/{volume['id']}/action"), headers=headers(**MEMBER),
                          json=reset)
    assert refused.status_code == 403
    assert refused.json()["forbidden"]["message"] == (
        "Policy doesn't allow volume_extension:volume_admin_actions:reset_status to be "
        "performed.")
    assert _act(client, f"volumes/{volume['id']}", {"os-extend": {"new_size": 2}},
                **MEMBER) == 202


def test_policy_file_overrides_decide_each_action(
        overridden: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(overridden)
    place(session_factory, volume["id"])
    extend = overridden.post(url(f"volumes/{volume['id']}/action"), headers=headers(),
                             json={"os-extend": {"new_size": 2}})
    assert extend.status_code == 403, "'!' refuses even the admin"
    assert "volume:extend" in extend.json()["forbidden"]["message"]
    snapshot = overridden.post(url("snapshots"), headers=headers(),
                               json={"snapshot": {"volume_id": volume["id"]}})
    assert snapshot.status_code == 202, snapshot.text
    assert _act(overridden, f"snapshots/{snapshot.json()['snapshot']['id']}",
                {"os-reset_status": {"status": "available"}}, **MEMBER) == 202
    assert _act(overridden, f"volumes/{volume['id']}", {"os-reset_status": {"status": "error"}},
                **MEMBER) == 202


def test_default_types_without_project_are_admin_only(client: TestClient) -> None:
    for path in ("/v3/default-types", "/v3/default-types/5a3f9c1e7b2d4a6c8e0f1a2b3c4d5e6f"):
        member = client.get(path, headers=headers(version="3.62", **MEMBER))
        assert member.status_code == 403, path
    assert client.get("/v3/default-types", headers=headers(version="3.62")).status_code == 200
