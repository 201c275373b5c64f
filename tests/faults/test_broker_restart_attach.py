"""RabbitMQ restarted during a stream of attaches and detaches (the stream of creates is
tests/messaging/test_processes.py): exports are calls to the agent, so requests
during the outage answer 503 and roll back, none answers 500, and afterwards no
volume or attachment is left attaching or detaching and usage equals the rows."""

from __future__ import annotations

import collections
import pathlib
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import Transport
from db.models import VolumeAttachment
from tests.faults.cluster import Api, check_end_state, running
from tests.messaging.cluster import Deployment, wait_for

ATTACH_VERSION = {"OpenStack-API-Version": "volume 3.54"}


def rabbitmq(action: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", action], check=True, capture_output=True, timeout=120)


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str, one_db_url: str,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    # Heartbeats stop with the broker; the agent must not count as down meanwhile.
    with running(tmp_path, broker_url, one_db_url, session_factory, transport,
                 rpc_response_timeout=5, stuck_task_timeout=30) as made:
        yield made


class AttachLoop:
    """Attach (create, complete) and detach (delete) each volume in turn until stopped."""

    def __init__(self, api: Api, volume_ids: list[str]) -> None:
        self.api = api
        self.volume_ids = volume_ids
        self.answers: collections.Counter[str] = collections.Counter()
        self.bad: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _request(self, method: str, path: str, body: object = None) -> httpx.Response | None:
        try:
            response = self.api.client.request(method, path, json=body,
                                               headers=ATTACH_VERSION)
        except httpx.TransportError as exc:
            self.bad.append(f"{method} {path}: {exc!r}")
            return None
        self.answers[f"{method} {response.status_code}"] += 1
        if response.status_code >= 500 and response.status_code != 503:
            self.bad.append(f"{method} {path}: {response.status_code} {response.text}")
        return response

    def _run(self) -> None:
        while not self.stop.is_set():
            for volume_id in self.volume_ids:
                connector = {"initiator": f"iqn.1993-08.org.debian:01:{uuid.uuid4().hex[:8]}",
                             "host": "compute1", "ip": "127.0.0.1"}
                created = self._request("POST", "/attachments", {"attachment": {
                    "volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4()),
                    "connector": connector}})
                if created is None or created.status_code != 200:
                    continue
                attachment_id = created.json()["attachment"]["id"]
                self._request("POST", f"/attachments/{attachment_id}/action",
                              {"os-complete": None})
                self._request("DELETE", f"/attachments/{attachment_id}")


def test_broker_restart_during_attaches_and_detaches(
        deployment: Deployment, session_factory: sessionmaker[Session],
        summary: list[str]) -> None:
    started = time.monotonic()
    deployment.start_all(deployment.write(down_time=120))
    api = Api(deployment).start()
    volume_ids = [api.create(1) for _ in range(3)]
    wait_for(lambda: {v.status for v in check_end_state(
        deployment, session_factory).values()} == {"available"}, timeout=30)
    loop = AttachLoop(api, volume_ids)
    loop.thread.start()
    try:
        wait_for(lambda: loop.answers["DELETE 202"] + loop.answers["DELETE 200"] >= 3,
                 timeout=60)
        rabbitmq("stop_app")
        time.sleep(3)
    finally:
        rabbitmq("start_app")
    detached_before = sum(n for key, n in loop.answers.items() if key.startswith("DELETE 2"))
    wait_for(lambda: sum(n for key, n in loop.answers.items()
                         if key.startswith("DELETE 2")) > detached_before + 3, timeout=90)
    loop.stop.set()
    loop.thread.join(timeout=120)
    api.close()

    assert not loop.bad, (loop.bad[:5], deployment.logs()[-5000:])
    # Whichever step was asking the agent while the broker was away answered 503.
    assert loop.answers["POST 503"] + loop.answers["DELETE 503"] >= 1, dict(loop.answers)
    volumes = check_end_state(deployment, session_factory, timeout=60)
    with session_factory() as session:
        in_flight = list(session.scalars(select(VolumeAttachment.attach_status).where(
            VolumeAttachment.attach_status.in_(["attaching", "detaching"]))))
    assert not in_flight, in_flight
    assert {v.status for v in volumes.values()} <= {"available", "in-use"}
    summary.append(f"RabbitMQ restart during attaches/detaches: "
                   f"{dict(sorted(loop.answers.items()))}, no 500, nothing left attaching "
                   f"or detaching ({time.monotonic() - started:.0f}s)")
