"""Engines and sessions from ``[database]``, with the URLs install guides write.

A guide's ``mysql://`` would pick MySQLdb, a compiled driver we do not ship, so
bare URLs are mapped to pure-Python PyMySQL (utf8mb4) and psycopg 3. SQLite is
the embedded single-host default: WAL lets readers run beside the writer, and
every transaction starts ``BEGIN IMMEDIATE`` so writers queue on the busy timeout
instead of failing when two of them try to upgrade a read lock at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from common.config import Section

__all__ = ["normalize_url", "make_engine", "make_session_factory", "session_scope"]

_DRIVERS = {
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """``url`` with the driver cinderblock ships: PyMySQL or psycopg 3."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so the "begin" hook below decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _make_sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        parent = os.path.dirname(os.path.abspath(url.database))
        os.makedirs(parent, exist_ok=True)
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def make_engine(database: Section | str) -> Engine:
    """An engine for ``conf.database`` (or a bare URL, with default pool settings).

    ``pool_pre_ping`` makes pooled connections survive a database restart;
    READ COMMITTED avoids InnoDB gap locks, which deadlock the quota code's
    insert-if-missing of usage rows under REPEATABLE READ.
    """
    if isinstance(database, str):
        url, pool = normalize_url(database), {}
    else:
        url = normalize_url(database.connection)
        pool = {
            "pool_size": database.max_pool_size,
            "max_overflow": database.max_overflow,
            "pool_timeout": database.pool_timeout,
            "pool_recycle": database.connection_recycle_time,
        }
    if url.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, isolation_level="READ COMMITTED", **pool)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (views render them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session
