"""URL normalisation and the SQLite settings the embedded default relies on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import make_engine, normalize_url


@pytest.mark.parametrize(("given", "expected"), [
    ("mysql://cinder:cinder@127.0.0.1/cinder",
     "mysql+pymysql://cinder:cinder@127.0.0.1/cinder?charset=utf8mb4"),
    ("mysql+pymysql://cinder:cinder@db/cinder?charset=utf8",
     "mysql+pymysql://cinder:cinder@db/cinder?charset=utf8"),
    ("postgresql://cinder:cinder@db/cinder", "postgresql+psycopg://cinder:cinder@db/cinder"),
    ("postgres://cinder@db/cinder", "postgresql+psycopg://cinder@db/cinder"),
    ("sqlite:////var/lib/cinderblock/cinderblock.sqlite",
     "sqlite:////var/lib/cinderblock/cinderblock.sqlite"),
])
def test_bare_urls_get_the_shipped_drivers(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


def test_sqlite_engine_creates_its_directory_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "cinderblock.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        pragmas = [connection.execute(text(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")]
    engine.dispose()
    assert path.parent.is_dir()
    assert pragmas[0] == "wal" and pragmas[1] == 1 and pragmas[2] >= 1000
