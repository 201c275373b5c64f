"""``cinderblock-manage`` as operators run it: the installed console script and a config file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from db.manage import MIGRATIONS_DIR
from db.models import DEFAULT_VOLUME_TYPE, VolumeType
from db.session import make_engine
from tests.db_fixtures import admin_engine

REPO = Path(__file__).resolve().parents[2]
MANAGE = str(Path(sys.executable).parent / "cinderblock-manage")
GUIDE_CONFIGS = [REPO / "tests" / "fixtures" / "install-guide-cinder.conf",
                 REPO.parent / "shared" / "seed" / "cinder.conf"]
HEAD = ScriptDirectory(MIGRATIONS_DIR).get_current_head()


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MANAGE, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO)


def write_conf(tmp_path: Path, connection: str) -> str:
    path = tmp_path / "cinderblock.conf"
    path.write_text(f"[database]\nconnection = {connection}\n"
                    "[oslo_messaging_rabbit]\nrabbit_password = s3cret\n")
    return str(path)


def test_sync_then_version_on_every_server(db_url: str, tmp_path: Path) -> None:
    conf = write_conf(tmp_path, db_url)
    synced = manage("--config-file", conf, "db", "sync")
    assert synced.returncode == 0, synced.stderr
    version = manage("--config-file", conf, "db", "version")
    assert (version.returncode, version.stdout.strip()) == (0, HEAD)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        defaults = connection.scalar(select(func.count()).select_from(VolumeType).where(
            VolumeType.name == DEFAULT_VOLUME_TYPE))
    engine.dispose()
    assert defaults == 1


def test_first_sync_creates_the_sqlite_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "cinderblock" / "cinderblock.sqlite"
    conf = write_conf(tmp_path, f"sqlite:///{path}")
    assert manage("--config-file", conf, "db", "version").stdout.strip() == "None"
    assert manage("--config-file", conf, "db", "sync").returncode == 0
    assert manage("--config-file", conf, "db", "version").stdout.strip() == HEAD
    assert path.is_file()


def test_config_dump_masks_secrets(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "mysql://cinder:hunter2@127.0.0.1/cinder")
    dumped = manage("--config-file", conf, "config", "dump")
    assert dumped.returncode == 0, dumped.stderr
    assert "hunter2" not in dumped.stdout and "s3cret" not in dumped.stdout
    assert "connection = ***" in dumped.stdout
    assert "[database]" in dumped.stdout


def test_unreadable_config_fails_with_a_message(tmp_path: Path) -> None:
    result = manage("--config-file", str(tmp_path / "missing.conf"), "db", "version")
    assert result.returncode == 2
    assert "missing.conf" in result.stderr


def test_unreachable_database_fails_with_a_message(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "mysql://nobody:wrong@127.0.0.1:3306/nothing")
    result = manage("--config-file", conf, "db", "version")
    assert result.returncode == 1
    assert "database error" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def cinder_database() -> None:
    """The database and user the install guide has the operator create, made as root.

    The database is made afresh: one left by an earlier run (or another checkout) may
    carry a revision this tree does not have, which is not what a new operator meets.
    """
    engine = admin_engine("mariadb")
    with engine.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS cinder"))
        connection.execute(text("CREATE DATABASE cinder"))
        for host in ("localhost", "127.0.0.1", "%"):
            connection.execute(text(
                f"CREATE USER IF NOT EXISTS 'cinder'@'{host}' IDENTIFIED BY 'cinder'"))
            connection.execute(text(f"GRANT ALL PRIVILEGES ON cinder.* TO 'cinder'@'{host}'"))
    engine.dispose()


@pytest.mark.db
@pytest.mark.parametrize("guide_conf", [
    pytest.param(path, id=path.parent.name) for path in GUIDE_CONFIGS])
def test_install_guide_config_syncs_mariadb(cinder_database: None, guide_conf: Path) -> None:
    if not guide_conf.exists():
        pytest.skip(f"{guide_conf} is not on this machine")
    for action in ("sync", "sync"):  # twice: the second run must be a no-op
        result = manage("--config-file", str(guide_conf), "db", action)
        assert result.returncode == 0, result.stderr
    version = manage("--config-file", str(guide_conf), "db", "version")
    assert version.stdout.strip() == HEAD
