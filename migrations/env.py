"""Alembic environment: runs on the connection ``db.manage`` hands over.

There is no alembic.ini; ``db.manage.alembic_config`` builds the Config and
puts an open connection in ``config.attributes["connection"]``, so migrations
use exactly the engine (driver, SQLite pragmas) the services use.
"""

from alembic import context

from db.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
