"""The migrations build exactly the schema the models describe, on every server."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from db.manage import MIGRATIONS_DIR, current_revision
from db.models import Base


def test_database_is_at_the_newest_revision(db_engine: Engine) -> None:
    head = ScriptDirectory(MIGRATIONS_DIR).get_current_head()
    assert current_revision(db_engine) == head


def test_autogenerate_finds_no_difference_from_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
