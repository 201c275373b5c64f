"""Lists cost a fixed number of queries, whatever the page size (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import create_volume, headers, url


@contextmanager
def counted(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = sessions.kw["bind"]

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _queries(client: TestClient, sessions: sessionmaker[Session], path: str) -> int:
    with counted(sessions) as statements:
        assert client.get(url(path), headers=headers()).status_code == 200
    return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])


def test_detail_and_list_queries_do_not_grow_with_volumes(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    for i in range(3):
        create_volume(client, metadata={"i": str(i)})
    small = {path: _queries(client, session_factory, path) for path in
             ("volumes", "volumes/detail")}
    for i in range(5):
        create_volume(client, metadata={"i": str(i)})
    large = {path: _queries(client, session_factory, path) for path in
             ("volumes", "volumes/detail")}
    assert large == small
    assert large["volumes"] == 1 and large["volumes/detail"] <= 5
