"""Pooled connections survive the server dropping them (a restart, a failover, a timeout)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from common.config import Section
from common.options import DATABASE_OPTS
from db.session import make_engine
from tests.db_fixtures import admin_engine

BACKEND_ID = {"mariadb": "SELECT CONNECTION_ID()", "postgresql": "SELECT pg_backend_pid()"}
KILL = {"mariadb": "KILL {}", "postgresql": "SELECT pg_terminate_backend({})"}


def test_pool_replaces_a_connection_the_server_killed(db_url: str) -> None:
    server = ("mariadb" if db_url.startswith("mysql") else
              "postgresql" if db_url.startswith("postgresql") else None)
    if server is None:
        pytest.skip("SQLite has no server to drop connections")
    engine = make_engine(Section("database", DATABASE_OPTS, {
        "connection": db_url, "max_pool_size": 1, "max_overflow": 0, "pool_timeout": 10,
        "connection_recycle_time": 3600}))
    with engine.connect() as connection:
        first = connection.execute(text(BACKEND_ID[server])).scalar()
    admin = admin_engine(server)
    with admin.connect() as connection:
        connection.execute(text(KILL[server].format(int(first))))
    admin.dispose()
    with engine.connect() as connection:  # the pooled one is dead; pre-ping replaces it
        second = connection.execute(text(BACKEND_ID[server])).scalar()
    engine.dispose()
    assert second != first
