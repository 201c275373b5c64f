"""``cinderblock-manage``: schema and configuration chores, as ``cinder-manage`` has them.

    cinderblock-manage [--config-file PATH] db sync [REVISION]
    cinderblock-manage [--config-file PATH] db version
    cinderblock-manage [--config-file PATH] config dump
    cinderblock-manage [--config-file PATH] task list [--older-than SECONDS]
    cinderblock-manage [--config-file PATH] task clean [--older-than SECONDS]
    cinderblock-manage [--config-file PATH] quota check [--project ID]
    cinderblock-manage [--config-file PATH] quota sync [--project ID]
    cinderblock-manage [--config-file PATH] service list
    cinderblock-manage [--config-file PATH] volume show VOLUME_ID

``task clean`` runs one pass of the scheduler's sweeper (scheduler/sweeper.py)
with the given age instead of ``stuck_task_timeout``; ``quota check`` exits 1
when usage has drifted from the rows it counts.
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
from db import manage_views, quota_check
from db.models import DEFAULT_VOLUME_TYPE, VolumeType, utcnow
from db.session import make_engine, make_session_factory

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
    task = categories.add_parser("task", help="work stuck in transitional statuses"
                                 ).add_subparsers(dest="action", required=True)
    for action, text in (("list", "list work in transitional statuses"),
                         ("clean", "resend or fail stuck work, expire reservations")):
        task.add_parser(action, help=text).add_argument(
            "--older-than", type=float, default=None, metavar="SECONDS",
            help="age that counts as stuck (default: stuck_task_timeout)")
    quota_parser = categories.add_parser("quota", help="quota usage against real rows"
                                         ).add_subparsers(dest="action", required=True)
    for action, text in (("check", "show usage that differs from the rows"),
                         ("sync", "set usage to what the rows say")):
        quota_parser.add_parser(action, help=text).add_argument("--project", default=None)
    service = categories.add_parser("service", help="services and their liveness"
                                    ).add_subparsers(dest="action", required=True)
    service.add_parser("list", help="every service, up or down, as os-services shows it")
    volume = categories.add_parser("volume", help="one volume's database row"
                                   ).add_subparsers(dest="action", required=True)
    volume.add_parser("show", help="every column, secrets masked").add_argument("volume_id")
    return parser


def _task(conf: Config, engine: Engine, args: argparse.Namespace) -> int:
    # The sweeper lives with the scheduler, which runs it; imported only for this command.
    from common.messaging import Transport
    from scheduler.manager import SchedulerManager
    from scheduler.sweeper import Sweeper, stuck_tasks

    sessions = make_session_factory(engine)
    older_than = conf.default.stuck_task_timeout if args.older_than is None \
        else args.older_than
    if args.action == "list":
        with sessions() as session:
            tasks = stuck_tasks(session, utcnow(), conf.default.service_down_time,
                                older_than=older_than)
        for task in tasks:
            state = "up" if task.owner_up else "down"
            print(f"{task.kind} {task.id} {task.status} owner={task.owner or '-'} "
                  f"({state}) age={task.age:.0f}s")
        return 0
    transport = Transport.from_config(conf)
    try:
        report = Sweeper(sessions, SchedulerManager(sessions, transport, conf),
                         conf).sweep(older_than)
    finally:
        transport.close()
    for volume_id in report.resent:
        print(f"resent {volume_id}")
    for row_id in report.failed:
        print(f"failed {row_id}")
    print(report)
    return 0


def _quota(engine: Engine, args: argparse.Namespace) -> int:
    with Session(engine) as session, session.begin():
        drifts = (quota_check.check if args.action == "check" else quota_check.sync)(
            session, args.project)
    for drift in drifts:
        print(drift)
    if args.action == "check":
        print(f"{len(drifts)} usage row(s) drifted")
        return 1 if drifts else 0
    print(f"{len(drifts)} usage row(s) fixed")
    return 0


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
        if args.category == "task":
            return _task(conf, engine, args)
        if args.category == "quota":
            return _quota(engine, args)
        if args.category == "service":
            return manage_views.service_list(conf, engine)
        if args.category == "volume":
            return manage_views.volume_show(engine, args.volume_id)
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
