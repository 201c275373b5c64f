"""Casts, calls and the consumer server against the real RabbitMQ."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from common.messaging import MessagingTimeout, RemoteError, Server, Transport


class Recorder:
    """An endpoint that records what it was asked, and fails on request."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict]] = []
        self.event = threading.Event()

    def note(self, **kwargs: object) -> None:
        self.seen.append(("note", kwargs))
        self.event.set()

    def add(self, a: int, b: int) -> int:
        return a + b

    def boom(self) -> None:
        raise ValueError("volume 42 is on fire")

    def slow(self, seconds: float) -> str:
        time.sleep(seconds)
        return "done"


@pytest.fixture
def topic() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def served(transport: Transport, topic: str) -> Iterator[Recorder]:
    recorder = Recorder()
    server = Server(transport)
    server.listen(topic, recorder)
    server.start()
    assert server.ready.wait(10)
    yield recorder
    server.stop()


def test_cast_reaches_handler_with_its_arguments(transport: Transport, topic: str,
                                                 served: Recorder) -> None:
    transport.cast(topic, "note", {"volume_id": "v1", "size": 2})
    assert served.event.wait(5)
    assert served.seen == [("note", {"volume_id": "v1", "size": 2})]


def test_call_returns_the_result(transport: Transport, topic: str, served: Recorder) -> None:
    assert transport.call(topic, "add", {"a": 2, "b": 3}, timeout=5) == 5


def test_call_reraises_remote_failure(transport: Transport, topic: str,
                                      served: Recorder) -> None:
    with pytest.raises(RemoteError) as info:
        transport.call(topic, "boom", timeout=5)
    assert info.value.exc_type == "ValueError"
    assert "on fire" in info.value.message


def test_call_to_unknown_method_is_a_remote_error(transport: Transport, topic: str,
                                                  served: Recorder) -> None:
    with pytest.raises(RemoteError, match="no method"):
        transport.call(topic, "_private", timeout=5)


def test_call_times_out_when_nobody_serves(transport: Transport) -> None:
    started = time.monotonic()
    with pytest.raises(MessagingTimeout):
        transport.call(f"nobody{uuid.uuid4().hex[:6]}", "add", {"a": 1, "b": 1}, timeout=0.5)
    assert time.monotonic() - started < 3


def test_slow_handler_does_not_block_others(transport: Transport, topic: str,
                                            served: Recorder) -> None:
    slow = threading.Thread(target=transport.call, args=(topic, "slow", {"seconds": 2}),
                            kwargs={"timeout": 10})
    slow.start()
    started = time.monotonic()
    assert transport.call(topic, "add", {"a": 1, "b": 1}, timeout=5) == 2
    assert time.monotonic() - started < 1.5
    slow.join()


def test_cast_before_any_consumer_waits_in_durable_queue(transport: Transport,
                                                         topic: str) -> None:
    transport.cast(topic, "note", {"n": 1})
    recorder = Recorder()
    server = Server(transport)
    server.listen(topic, recorder)
    server.start()
    try:
        assert recorder.event.wait(5)
        assert recorder.seen == [("note", {"n": 1})]
    finally:
        server.stop()


def test_fanout_reaches_every_listener(transport: Transport) -> None:
    exchange = f"fan{uuid.uuid4().hex[:8]}"
    recorders = [Recorder(), Recorder()]
    servers = []
    for recorder in recorders:
        server = Server(transport)
        server.listen_fanout(exchange, recorder)
        server.start()
        assert server.ready.wait(10)
        servers.append(server)
    try:
        transport.fanout(exchange, "note", {"all": True})
        for recorder in recorders:
            assert recorder.event.wait(5)
            assert recorder.seen == [("note", {"all": True})]
    finally:
        for server in servers:
            server.stop()


def test_cast_with_ttl_expires_unconsumed(transport: Transport, topic: str) -> None:
    transport.cast(topic, "note", {"stale": True}, ttl=0.2)
    transport.cast(topic, "note", {"fresh": True})
    time.sleep(0.5)
    recorder = Recorder()
    server = Server(transport)
    server.listen(topic, recorder)
    server.start()
    try:
        assert recorder.event.wait(5)
        time.sleep(0.3)
        assert recorder.seen == [("note", {"fresh": True})]
    finally:
        server.stop()
