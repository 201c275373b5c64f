"""Start-up reconciliation removes the volumes the controller does not know, and only
those: the agent's handler asks ``volumes_for_host`` of the real controller endpoint
over RabbitMQ, on every configured database. The backend is the recorded fake; the
LVM side (owner tag, wipe) is tested in tests/unit/volume_agent and the VM."""

from __future__ import annotations

import pathlib
import uuid

from sqlalchemy.orm import Session, sessionmaker

from common.config import load
from common.messaging import Transport
from tests.messaging.cluster import Cluster, write_conf
from volume_agent.fake_driver import FakeVolumeDriver


def test_start_up_removes_only_volumes_unknown_on_this_backend(
        tmp_path: pathlib.Path, broker_url: str, db_url: str, transport: Transport,
        session_factory: sessionmaker[Session]) -> None:
    driver = FakeVolumeDriver("a", 100)
    node = f"node-{uuid.uuid4().hex[:6]}"
    conf = load([write_conf(tmp_path / "c.conf", broker_url, db_url, host=node)])
    c = Cluster(conf, session_factory, transport, {"a": driver}).start()
    try:
        here = c.insert_volume(1, host=f"{node}@a#a", status="available")
        deleting = c.insert_volume(2, host=f"{node}@a#a", status="deleting")
        creating = c.insert_volume(1, host=f"{node}@a", status="creating")
        elsewhere = c.insert_volume(1, host=f"{node}@ab#a", status="available")
        orphan = str(uuid.uuid4())
        driver.volumes = {here: 1, deleting: 2, creating: 1, elsewhere: 1, orphan: 1}
        assert sorted(transport.call("controller", "volumes_for_host",
                                     {"host": f"{node}@a"}, timeout=10)) == sorted(
            [here, deleting, creating])
        c.managers[0].reconcile_exports(timeout=10)
        assert set(driver.volumes) == {here, deleting, creating}
        assert ("remove_orphan", orphan, "deleted") in driver.calls
    finally:
        c.stop()
