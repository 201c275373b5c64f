"""A broker that refuses connections is a MessagingError (the API's 503), not kombu's own
OperationalError escaping as a 500 (found by tests/faults/test_broker_restart_attach.py)."""

from __future__ import annotations

import pytest

from common.messaging import MessagingError, Transport

# Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
REFUSED = "amqp://guest:guest@127.0.0.1:9//"


def test_call_to_a_refusing_broker_is_a_messaging_error() -> None:
    transport = Transport(REFUSED)
    try:
        with pytest.raises(MessagingError):
            transport.call("volume.node@a", "terminate_connection", {}, timeout=2)
    finally:
        transport.close()
