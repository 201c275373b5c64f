"""A volume service that never answers, over the real RabbitMQ: attach fails in
``rpc_response_timeout`` with a 503, the volume is back to ``available`` with no
attachment, and the undo of the export waits in the agent's queue for when it returns.

Only the volume RPC uses the broker (casts go to the recording fake), and the volume
sits on a host named for this run, so its queue crosses no other test's.
"""

from __future__ import annotations

import pathlib
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from kombu import Connection
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services.volume_rpc import VolumeRpc
from common.messaging import Transport, queue_name
from db.models import VolumeAttachment
from tests.api.conftest import (
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    url,
    write_conf,
)

BROKER = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def silent_node() -> Iterator[str]:
    """``node@lvm`` with nobody consuming its queue; the queue is removed afterwards."""
    node = f"silent-{uuid.uuid4().hex[:8]}@lvm"
    yield node
    with Connection(BROKER) as conn:
        conn.default_channel.queue_delete(queue_name(f"volume.{node}"))


def test_silent_agent_times_out_and_rolls_back(tmp_path: pathlib.Path, db_url: str,
                                               session_factory: sessionmaker[Session],
                                               silent_node: str) -> None:
    conf = write_conf(tmp_path, db_url)
    transport = Transport(BROKER)
    app = create_app(conf, transport=RecordingFakeTransport(), sessions=session_factory)
    app.state.volume_rpc = VolumeRpc(transport, timeout=1)
    with TestClient(app) as client:
        volume = create_volume(client)
        place(session_factory, volume["id"], host=f"{silent_node}#lvm")
        started = time.monotonic()
        response = client.post(url("attachments"), headers=headers(version="3.54"), json={
            "attachment": {"volume_uuid": volume["id"], "connector": {
                "initiator": "iqn.2026-01.test:compute", "host": "compute"}}})
        took = time.monotonic() - started
        status = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()
    transport.close()
    assert response.status_code == 503, response.text
    assert "did not answer in time" in response.json()["serviceUnavailable"]["message"]
    assert took < 10
    assert status["volume"]["status"] == "available"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(VolumeAttachment)) == 0
    with Connection(BROKER) as conn:
        queue = conn.SimpleQueue(queue_name(f"volume.{silent_node}"), no_ack=True)
        waiting = [queue.get(timeout=5).payload for _ in range(2)]
        queue.close()
    # The export the agent will find, and its undo right behind it; the undo names the
    # export's attachment so it cannot undo a newer export of the same initiator.
    assert [body["method"] for body in waiting] == ["initialize_connection",
                                                    "terminate_connection"]
    export, undo = (body["args"] for body in waiting)
    assert undo["attachment_id"] == export["attachment_id"] is not None
