"""A fake of the volume RPC client (api.services.volume_rpc.VolumeRpc) for API tests,
and the fixtures ``rpc`` and ``placed_volume`` the attachment tests share (a test module
imports ``rpc_fixture`` and ``placed_volume_fixture`` to use them).

It stands above the messaging contract only: it answers initialize_connection the way
the LVM driver's contract says (iSCSI connection_info plus ``model_update``), keeps
which initiators each volume is exported to, and can be told to fail like a silent
agent (MessagingTimeout) or a failing one (RemoteError).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import MessagingTimeout, RemoteError
from tests.api.conftest import create_volume, place

CHAP = "CHAP fakeuser fakesecret123456"


@dataclass
class FakeVolumeRpc:
    calls: list[tuple[str, str, dict[str, Any] | None]] = field(default_factory=list)
    exports: dict[str, set[str]] = field(default_factory=dict)
    fail: str | None = None  # "timeout" or "remote" for the following calls
    revoked: list[tuple[str, str]] = field(default_factory=list)
    # Runs inside initialize_connection: what another request does meanwhile.
    meanwhile: Callable[[], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _failing(self) -> None:
        if self.fail == "timeout":
            raise MessagingTimeout("no reply from volume.node2@lvm (fake)")
        if self.fail == "remote":
            raise RemoteError("DriverError", "export volume failed (fake)")

    def initialize_connection(self, request_id: str, volume: dict[str, Any],
                              connector: dict[str, Any], attachment_id: str
                              ) -> dict[str, Any]:
        with self.lock:
            self.calls.append(("initialize_connection", volume["id"], connector))
            self._failing()
            if self.meanwhile is not None:
                self.meanwhile()
            self.exports.setdefault(volume["id"], set()).add(connector["initiator"])
        iqn = f"iqn.2010-10.org.openstack:volume-{volume['id']}"
        return {"driver_volume_type": "iscsi", "data": {
            "target_discovered": False, "target_iqn": iqn, "target_portal": "10.0.2.15:3260",
            "target_lun": 0, "volume_id": volume["id"], "auth_method": "CHAP",
            "auth_username": "fakeuser", "auth_password": "fakesecret123456",
            "encrypted": False, "access_mode": connector.get("mode", "rw"), "discard": False},
            "model_update": {"provider_location": f"10.0.2.15:3260,1 {iqn} 0",
                             "provider_auth": CHAP}}

    def terminate_connection(self, request_id: str, volume: dict[str, Any],
                             connector: dict[str, Any] | None,
                             attachment_id: str | None = None) -> None:
        with self.lock:
            self.calls.append(("terminate_connection", volume["id"], connector))
            self._failing()
            initiators = self.exports.get(volume["id"], set())
            if connector is None:
                initiators.clear()
            else:
                initiators.discard(connector["initiator"])
            if not initiators:
                self.exports.pop(volume["id"], None)

    def revoke_later(self, request_id: str, volume: dict[str, Any],
                     connector: dict[str, Any], attachment_id: str) -> None:
        with self.lock:
            self.revoked.append((volume["id"], connector["initiator"]))


@pytest.fixture(name="rpc")
def rpc_fixture(client: TestClient) -> FakeVolumeRpc:
    """The app's volume RPC client, replaced by the fake."""
    fake = FakeVolumeRpc()
    client.app.state.volume_rpc = fake
    return fake


@pytest.fixture(name="placed_volume")
def placed_volume_fixture(client: TestClient, session_factory: sessionmaker[Session]
                  ) -> dict[str, Any]:
    """An available 1 GiB volume on ``node2@lvm``."""
    created = create_volume(client)
    place(session_factory, created["id"])
    return created
