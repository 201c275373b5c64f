"""Secrets never leak: the API, scheduler and agent run at debug level with a database
password, a broker password, a Keystone password and a volume's CHAP secret that are
easy to recognise; after real traffic (creates, a delete that carries the CHAP
credentials to the agent, listings as admin and as a member) no log line, no
``config dump`` and no non-admin response holds any of them."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import Transport
from db.models import Volume, VolumeType
from db.session import session_scope
from tests.faults.cluster import PROJECT, Api, check_end_state, running, settled
from tests.messaging.cluster import Deployment

MANAGE = str(pathlib.Path(sys.executable).parent / "cinderblock-manage")
MARK = uuid.uuid4().hex[:10]
SECRETS = {"database": f"DbSecret{MARK}", "broker": f"MqSecret{MARK}",
           "keystone": f"KsSecret{MARK}", "chap": f"ChapSecret{MARK}"}
MEMBER = {"X-Auth-Token": f"member:{PROJECT}", "X-Roles": "member"}


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def secret_broker_url(broker_url: str) -> Iterator[str]:
    """The test vhost, reached as a user whose password is a recognisable secret."""
    user, vhost = f"cb-secrets-{MARK}", broker_url.rsplit("/", 1)[1]
    rabbitmqctl("add_user", user, SECRETS["broker"])
    try:
        rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield f"amqp://{user}:{SECRETS['broker']}@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_user", user)


@pytest.fixture
def deployment(tmp_path: pathlib.Path, secret_broker_url: str, db_url: str,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    # PostgreSQL trusts local connections, so any password is accepted (and visible in
    # the URL the services hold).
    if not db_url.startswith("postgresql"):
        pytest.skip("the secrets run uses PostgreSQL, which accepts any password here")
    url = db_url.replace("postgres@", f"postgres:{SECRETS['database']}@", 1)
    assert SECRETS["database"] in url
    with running(tmp_path, secret_broker_url, url, session_factory, transport,
                 debug="true") as made:
        with open(made.conf_path, "a", encoding="utf-8") as conf:
            conf.write(f"[keystone_authtoken]\nusername = cinder\n"
                       f"password = {SECRETS['keystone']}\n")
        yield made


def insert_volume_with_chap(deployment: Deployment, sessions: sessionmaker[Session]) -> str:
    """An available volume whose export credentials exist, as after a first attach."""
    with session_scope(sessions) as session:
        volume = Volume(project_id=PROJECT, size=1, status="available",
                        volume_type=session.scalars(select(VolumeType)).one(),
                        host=f"{deployment.node}@a#a", consumes_quota=False,
                        provider_location="127.0.0.1:3260,1 iqn.2010-10.org.openstack:x 0",
                        provider_auth=f"CHAP user{MARK} {SECRETS['chap']}")
        session.add(volume)
        session.flush()
        return volume.id


def leaks(text: str) -> list[str]:
    return [name for name, secret in SECRETS.items() if secret in text]


def test_no_secret_in_any_log_dump_or_member_response(
        deployment: Deployment, session_factory: sessionmaker[Session],
        tmp_path: pathlib.Path, summary: list[str]) -> None:
    started = time.monotonic()
    deployment.start_all()
    api = Api(deployment).start()
    created = [api.create(1) for _ in range(3)]
    assert {v.status for v in settled(session_factory).values()} == {"available"}
    chap_volume = insert_volume_with_chap(deployment, session_factory)

    responses: list[str] = []
    for headers in ({}, MEMBER):
        for path in ("/volumes/detail", f"/volumes/{chap_volume}", "/os-services",
                     "/scheduler-stats/get_pools?detail=true"):
            responses.append(api.client.get(path, headers=headers).text)
    member_view = api.client.get(f"/volumes/{chap_volume}", headers=MEMBER).json()
    assert "os-vol-host-attr:host" not in member_view["volume"]
    api.delete(chap_volume)
    for volume_id in created:
        api.delete(volume_id)
    assert check_end_state(deployment, session_factory) == {}
    api.close()

    dump = subprocess.run([MANAGE, "--config-file", deployment.conf_path, "config", "dump"],
                          capture_output=True, text=True, timeout=60)
    assert dump.returncode == 0, dump.stderr
    logs = {path.name: path.read_text(errors="replace")
            for path in tmp_path.rglob("*.log")}
    assert {"cinderblock-api.log", "cinderblock-scheduler.log",
            "cinderblock-volume.log"} <= set(logs)
    texts = {**logs, "config dump": dump.stdout + dump.stderr,
             "responses": "\n".join(responses)}
    found = {name: leaks(text) for name, text in texts.items() if leaks(text)}
    assert not found, found
    lines = sum(text.count("\n") for text in logs.values())
    summary.append(f"secrets: 4 recognisable secrets in none of {len(logs)} logs "
                   f"({lines} lines, debug on), config dump or {len(responses)} responses "
                   f"({time.monotonic() - started:.0f}s)")


def test_the_check_would_see_a_leak() -> None:
    assert leaks(f"connect postgresql://postgres:{SECRETS['database']}@x") == ["database"]
    assert leaks("nothing here") == []
