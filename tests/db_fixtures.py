"""pytest plugin: real databases for tests, one throwaway database per server and run.

Fixtures:
- ``db_url`` (session scope), parametrised ``sqlite``/``mariadb``/``postgresql``: the
  URL, written the way an operator writes it (bare ``mysql://``, ``postgresql://``),
  of a fresh database migrated to head with ``__DEFAULT__`` seeded. It is dropped
  when the run ends.
- ``db_engine`` (session scope): the engine ``db.session.make_engine`` builds for it.
- ``session_factory``: a sessionmaker on that engine; after the test every row
  is deleted and ``__DEFAULT__`` re-seeded, so tests never see each other's data.
- ``db_session``: one Session from ``session_factory``, closed after the test.

``CINDERBLOCK_TEST_DBS=sqlite,postgresql`` narrows the servers for a quick loop;
by default all three run, and an unreachable server fails rather than skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from db.manage import seed_default_type, sync
from db.models import Base
from db.session import make_engine, make_session_factory, normalize_url

MARIADB_ADMIN_URL = "mysql://root@127.0.0.1:3306/"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVERS = ("sqlite", "mariadb", "postgresql")


def _selected_servers() -> list[str]:
    wanted = os.environ.get("CINDERBLOCK_TEST_DBS")
    if not wanted:
        return list(SERVERS)
    chosen = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = set(chosen) - set(SERVERS)
    if unknown:
        raise pytest.UsageError(f"CINDERBLOCK_TEST_DBS: unknown {sorted(unknown)}")
    return chosen


def admin_engine(server: str) -> Engine:
    """A root/superuser engine in autocommit, for CREATE/DROP DATABASE and users."""
    url = MARIADB_ADMIN_URL if server == "mariadb" else POSTGRES_ADMIN_URL
    return create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")


def _create_database(server: str, name: str, tmp_dir: str) -> str:
    if server == "sqlite":
        return f"sqlite:///{tmp_dir}/{name}.sqlite"
    engine = admin_engine(server)
    with engine.connect() as connection:
        if server == "mariadb":
            connection.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        else:
            connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    if server == "mariadb":
        return f"mysql://root@127.0.0.1:3306/{name}"
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def _drop_database(server: str, name: str) -> None:
    if server == "sqlite":
        return
    engine = admin_engine(server)
    with engine.connect() as connection:
        force = " WITH (FORCE)" if server == "postgresql" else ""
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    engine.dispose()


@pytest.fixture(scope="session", params=[
    pytest.param(server, id=server, marks=pytest.mark.db) for server in SERVERS])
def db_url(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = request.param
    if server not in _selected_servers():
        pytest.skip(f"{server} not in CINDERBLOCK_TEST_DBS")
    name = f"cbtest_{uuid.uuid4().hex[:12]}"
    url = _create_database(server, name, str(tmp_path_factory.mktemp("sqlite")))
    try:
        engine = make_engine(url)
        sync(engine)
        engine.dispose()
        yield url
    finally:
        _drop_database(server, name)


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _delete_all_rows(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session_factory(db_engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield make_session_factory(db_engine)
    _delete_all_rows(db_engine)
    seed_default_type(db_engine)


@pytest.fixture
def db_session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session
