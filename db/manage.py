"""``cinderblock-manage``: schema and configuration chores, as ``cinder-manage`` has them.

    cinderblock-manage [--config-file PATH] db sync [REVISION]
    cinderblock-manage [--config-file PATH] db version
    cinderblock-manage [--config-file PATH] config dump
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

import migrations
from common.config import Config, ConfigError, parse_args
from db.models import DEFAULT_VOLUME_TYPE, VolumeType
from db.session import make_engine

__all__ = ["main", "alembic_config", "sync", "current_revision", "seed_default_type"]

LOG = logging.getLogger("cinderblock-manage")
MIGRATIONS_DIR = os.path.dirname(os.path.abspath(migrations.__file__))


def alembic_config(connection: Connection) -> AlembicConfig:
    """An alembic Config for this package's migrations, running on ``connection``."""
    config = AlembicConfig()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    config.attributes["connection"] = connection
    return config


def seed_default_type(engine: Engine) -> None:
    """Create ``__DEFAULT__`` unless it exists; two syncs at once both succeed."""
    with Session(engine) as session:
        exists = session.scalar(select(VolumeType.id).where(
            VolumeType.name == DEFAULT_VOLUME_TYPE))
        if exists:
            return
        session.add(VolumeType(name=DEFAULT_VOLUME_TYPE, description="Default Volume Type",
                               is_public=True))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()


def sync(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` and seed what Cinder seeds."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    seed_default_type(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _dump_config(conf: Config) -> None:
    for section, values in conf.dump().items():
        print(f"[{section}]")
        for key, value in values.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key} = {'' if shown is None else shown}")
        print()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cinderblock-manage")
    categories = parser.add_subparsers(dest="category", required=True)
    db = categories.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True)
    db_sync = db.add_parser("sync", help="create or upgrade the schema")
    db_sync.add_argument("revision", nargs="?", default="head")
    db.add_parser("version", help="print the schema revision")
    config = categories.add_parser("config", help="configuration").add_subparsers(
        dest="action", required=True)
    config.add_parser("dump", help="print effective settings, secrets masked")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        conf, args = parse_args("cinderblock-manage", argv, _parser())
    except ConfigError as exc:
        print(f"cinderblock-manage: {exc}", file=sys.stderr)
        return 2
    if args.category == "config":
        _dump_config(conf)
        return 0
    engine = make_engine(conf.database)
    try:
        if args.action == "sync":
            sync(engine, args.revision)
        else:
            print(current_revision(engine) or "None")
    except SQLAlchemyError as exc:
        print(f"cinderblock-manage: database error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
