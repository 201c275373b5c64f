"""The shared servers both systems run against: a fresh MariaDB database and RabbitMQ
vhost per system, so neither sees the other's rows or queues."""

from __future__ import annotations

import socket
import subprocess

import pymysql

MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
# Cinder opens up to max_pool_size + max_overflow (5 + 50) connections per process; with
# six Cinder processes and cinderblock's next to them MariaDB's default 151 runs out.
MIN_MAX_CONNECTIONS = 1024


def mysql_url(database: str) -> str:
    return f"mysql+pymysql://root@127.0.0.1:3306/{database}?charset=utf8mb4"


def _mysql(statements: list[str]) -> list[tuple]:
    conn = pymysql.connect(**MYSQL, autocommit=True)
    try:
        with conn.cursor() as cur:
            rows: list[tuple] = []
            for sql in statements:
                cur.execute(sql)
                rows.extend(cur.fetchall())
            return rows
    finally:
        conn.close()


def reset_database(name: str) -> None:
    """Drop and re-create ``name``; raise max_connections (never lower it: the server is shared)."""
    _mysql([f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}`"])
    (current,), = _mysql(["SELECT @@GLOBAL.max_connections"])
    if int(current) < MIN_MAX_CONNECTIONS:
        _mysql([f"SET GLOBAL max_connections = {MIN_MAX_CONNECTIONS}"])


def drop_database(name: str) -> None:
    _mysql([f"DROP DATABASE IF EXISTS `{name}`"])


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True)
    if check and done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()[-300:]}")


def reset_vhost(name: str) -> None:
    """An empty vhost (queues of an earlier run are gone) that guest may use fully."""
    _rabbitmqctl("delete_vhost", name, check=False)
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")


def delete_vhost(name: str) -> None:
    _rabbitmqctl("delete_vhost", name, check=False)


def rabbit_url(vhost: str) -> str:
    return f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"


def free_port() -> int:
    """A port nothing listens on now; the service binds it a moment later."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
