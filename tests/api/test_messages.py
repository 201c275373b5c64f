"""/messages (3.3): what db.messages.record wrote, shown, filtered, paged and deleted."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from db.messages import Action, Detail, record
from tests.api.conftest import OTHER_PROJECT, PROJECT, headers, url

VOLUME_ID = "71a6ed59-67d7-469d-b090-968920273274"


def _record(sessions: sessionmaker[Session], project: str = PROJECT,
            detail: Detail = Detail.NO_BACKEND_AVAILABLE, **kw: str) -> str:
    with sessions() as session, session.begin():
        return record(session, project_id=project, action=Action.SCHEDULE_ALLOCATE_VOLUME,
                      detail=detail, resource_uuid=VOLUME_ID, request_id="req-1", **kw).id


def test_no_valid_backend_message_reads_as_cinders(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    message_id = _record(session_factory)
    assert client.get(url(f"messages/{message_id}"), headers=headers()).status_code == 404
    shown = client.get(url(f"messages/{message_id}"), headers=headers(version="3.3")).json()
    body = shown["message"]
    assert body["event_id"] == "VOLUME_VOLUME_001_003"
    assert body["user_message"] == ("schedule allocate volume:Could not find any available "
                                    "weighted backend.")
    assert (body["resource_type"], body["resource_uuid"], body["message_level"]) == (
        "VOLUME", VOLUME_ID, "ERROR")
    assert set(body) == {"id", "event_id", "user_message", "message_level", "created_at",
                         "guaranteed_until", "request_id", "links", "resource_type",
                         "resource_uuid"}
    assert body["guaranteed_until"] > body["created_at"]


def test_list_filters_from_3_5_and_project_scope(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    quota = _record(session_factory, detail=Detail.QUOTA_EXCEED)
    _record(session_factory)
    _record(session_factory, OTHER_PROJECT)
    every = client.get(url("messages?event_id=VOLUME_VOLUME_001_006"),
                       headers=headers(version="3.3")).json()["messages"]
    assert len(every) == 2  # filters arrive with 3.5
    filtered = client.get(url("messages?event_id=VOLUME_VOLUME_001_006"),
                          headers=headers(version="3.5")).json()["messages"]
    assert [m["id"] for m in filtered] == [quota]
    page = client.get(url("messages?limit=1"), headers=headers(version="3.5")).json()
    assert len(page["messages"]) == 1 and "messages_links" in page
    mine = client.get(url("messages", OTHER_PROJECT),
                      headers=headers(OTHER_PROJECT, roles="member", version="3.5")).json()
    assert len(mine["messages"]) == 1


def test_delete_message(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    message_id = _record(session_factory)
    path = url(f"messages/{message_id}")
    assert client.delete(path, headers=headers(version="3.3")).status_code == 204
    gone = client.get(path, headers=headers(version="3.3"))
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == f"Message {message_id} could not be found."
