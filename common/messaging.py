"""RabbitMQ messaging through kombu: casts, calls with a timeout, and a consumer server.

Delivery is at-least-once: queues are durable, messages persistent, casts are
confirmed by the broker (and retried across a broker restart), and a server acks
a message only after its handler returned. Handlers must therefore be idempotent.
Kept to stdlib and kombu (5.2 and newer) because the storage agent imports it.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from kombu import Connection, Consumer, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.mixins import ConsumerMixin

__all__ = [
    "EXCHANGE", "VOLUME_FANOUT", "MessagingError", "MessagingTimeout", "RemoteError",
    "Transport", "Server", "broker_urls", "queue_name", "volume_topic", "request_id",
]

LOG = logging.getLogger(__name__)

EXCHANGE = "cinderblock"
VOLUME_FANOUT = "cinderblock.fanout.volume"
_TOPIC = Exchange(EXCHANGE, type="topic", durable=True)
_RETRY = {"max_retries": 40, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}
# How long the consuming thread waits for the broker before it acks finished work:
# briefly while handlers run (an unacked message holds a prefetch slot, so a slow ack
# throttles the queue and delays every message behind it), long when idle.
_BUSY_WAIT = 0.002
_IDLE_WAIT = 1.0

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None)
"""The request being handled; casts made while handling it carry it on."""


class MessagingError(Exception):
    """The broker could not be used."""


class MessagingTimeout(MessagingError):
    """No reply to a call arrived in time: the peer is down, busy or gone."""


class RemoteError(MessagingError):
    """The handler of a call raised; ``exc_type`` names the remote exception class."""

    def __init__(self, exc_type: str, message: str) -> None:
        super().__init__(f"{exc_type}: {message}")
        self.exc_type = exc_type
        self.message = message


def queue_name(routing_key: str) -> str:
    return f"{EXCHANGE}.{routing_key}"


def volume_topic(host: str) -> str:
    """Routing key of the agent serving ``host`` (``node@backend``, any ``#pool`` dropped)."""
    return "volume." + host.split("#", 1)[0]


def _durable_queue(routing_key: str) -> Queue:
    return Queue(queue_name(routing_key), _TOPIC, routing_key=routing_key, durable=True)


def broker_urls(default: Any, rabbit: Any) -> list[str]:
    """kombu URLs from ``transport_url`` or, when it is unset, ``[oslo_messaging_rabbit]``.

    ``rabbit://u:p@h1:5672,u:p@h2:5672/vhost`` (oslo's form) gives one URL per host,
    which kombu uses as fail-over alternates.
    """
    if default.transport_url:
        parts = urlsplit(default.transport_url)
        if parts.scheme not in ("rabbit", "amqp", "pyamqp"):
            raise MessagingError(f"transport_url scheme {parts.scheme!r} is not supported; "
                                 "use rabbit://")
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return [_url(netloc, vhost) for netloc in parts.netloc.split(",") if netloc]
    hosts = rabbit.rabbit_hosts or [f"{rabbit.rabbit_host}:{rabbit.rabbit_port}"]
    auth = f"{quote(rabbit.rabbit_userid, safe='')}:{quote(rabbit.rabbit_password, safe='')}"
    return [_url(f"{auth}@{host}", rabbit.rabbit_virtual_host) for host in hosts]


def _url(netloc: str, vhost: str) -> str:
    return f"amqp://{netloc}/{quote(vhost, safe='')}"


def _envelope(method: str, args: dict[str, Any], reply_to: str | None = None,
              correlation_id: str | None = None) -> dict[str, Any]:
    return {"method": method, "args": args,
            "request_id": request_id.get() or f"req-{uuid.uuid4()}",
            "reply_to": reply_to, "correlation_id": correlation_id, "sent_at": time.time()}


class Transport:
    """Sends messages. Thread-safe: each send borrows a connection from a pool."""

    def __init__(self, urls: str | Sequence[str], *, heartbeat: int = 60,
                 pool_size: int = 8) -> None:
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.heartbeat = heartbeat
        self._pool = self.connection(confirm=True).Pool(limit=pool_size)

    @classmethod
    def from_config(cls, conf: Any) -> Transport:
        return cls(broker_urls(conf.default, conf.rabbit),
                   heartbeat=conf.rabbit.heartbeat_timeout_threshold)

    def connection(self, *, confirm: bool = False, heartbeat: int = 0) -> Connection:
        """A new, unopened connection. Publishing ones wait for broker confirms, so a
        cast that returned is on disk in a durable queue."""
        options = {"confirm_publish": True} if confirm else {}
        return Connection(self.urls, heartbeat=heartbeat, transport_options=options,
                          failover_strategy="round-robin")

    def cast(self, target: str, method: str, args: dict[str, Any] | None = None, *,
             ttl: float | None = None) -> None:
        """Queue ``method(**args)`` for the server of routing key ``target``; no reply.

        The target's durable queue is declared first, so a cast made before its
        consumer ever started waits in the queue instead of being dropped. With
        ``ttl`` the broker drops the message once it is that many seconds old: a
        heartbeat that waited out an outage must not make a dead service look alive.
        """
        self._publish(_envelope(method, args or {}), _TOPIC, target,
                      declare=[_durable_queue(target)], ttl=ttl)

    def fanout(self, exchange: str, method: str, args: dict[str, Any] | None = None) -> None:
        """Send ``method(**args)`` to every server listening on fanout ``exchange``."""
        self._publish(_envelope(method, args or {}),
                      Exchange(exchange, type="fanout", durable=True), "", declare=[], ttl=None)

    def call(self, target: str, method: str, args: dict[str, Any] | None = None, *,
             timeout: float = 60) -> Any:
        """``method(**args)`` on the server of ``target``; returns its result.

        Raises MessagingTimeout when no reply came within ``timeout`` seconds and
        RemoteError when the handler raised.
        """
        correlation_id = uuid.uuid4().hex
        reply_queue = Queue(f"{EXCHANGE}.reply.{correlation_id}", exclusive=True,
                            auto_delete=True, durable=False)
        replies: list[dict[str, Any]] = []

        def on_reply(body: dict[str, Any], message: Any) -> None:
            if body.get("correlation_id") == correlation_id:
                replies.append(body)

        deadline = time.monotonic() + timeout
        with self.connection(heartbeat=0) as conn:
            try:
                conn.ensure_connection(max_retries=1, timeout=timeout)
                with Consumer(conn.channel(), [reply_queue], callbacks=[on_reply],
                              accept=["json"], no_ack=True):
                    envelope = _envelope(method, args or {}, reply_queue.name, correlation_id)
                    conn.Producer().publish(
                        envelope, exchange=_TOPIC, routing_key=target, serializer="json",
                        delivery_mode=2, declare=[_durable_queue(target)])
                    while not replies:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            break
                        try:
                            conn.drain_events(timeout=remaining)
                        except TimeoutError:
                            break
            except (*conn.connection_errors, KombuOperationalError) as exc:
                raise MessagingError(f"broker unreachable calling {target}.{method}: "
                                     f"{exc}") from exc
        if not replies:
            raise MessagingTimeout(f"no reply from {target} to {method} in {timeout:g}s")
        failure = replies[0].get("failure")
        if failure:
            raise RemoteError(failure["exc_type"], failure["message"])
        return replies[0].get("result")

    def reply(self, reply_to: str, correlation_id: str, result: Any = None,
              failure: dict[str, str] | None = None) -> None:
        body = {"correlation_id": correlation_id, "result": result, "failure": failure}
        with self._pool.acquire(block=True) as conn:
            conn.Producer().publish(body, exchange="", routing_key=reply_to,
                                    serializer="json", delivery_mode=1)

    def _publish(self, body: dict[str, Any], exchange: Exchange, routing_key: str,
                 declare: list[Any], ttl: float | None) -> None:
        with self._pool.acquire(block=True) as conn:
            producer = conn.Producer()
            try:
                producer.publish(body, exchange=exchange, routing_key=routing_key,
                                 serializer="json", delivery_mode=2,
                                 declare=[exchange, *declare], expiration=ttl,
                                 retry=True, retry_policy=_RETRY)
            except (*conn.connection_errors, KombuOperationalError) as exc:
                raise MessagingError(f"cannot publish {body['method']} to {routing_key}: "
                                     f"{exc}") from exc

    def close(self) -> None:
        self._pool.force_close_all()


class _Binding:
    def __init__(self, queue: Queue, endpoint: object) -> None:
        self.queue = queue
        self.endpoint = endpoint


class Server(ConsumerMixin):
    """Consumes queues and dispatches each envelope to ``endpoint.<method>(**args)``.

    Handlers run on a thread pool so a slow one neither blocks the others nor the
    connection's heartbeats; the consuming thread acks each message once its handler
    finished (success or failure: a failing message would fail again). Replies to
    calls carry the result, or the exception as ``failure``. kombu's ConsumerMixin
    reconnects after a broker restart; unacked messages are then redelivered.
    """

    def __init__(self, transport: Transport, *, workers: int = 4) -> None:
        self.transport = transport
        self.connection = transport.connection(heartbeat=transport.heartbeat)
        self._bindings: list[_Binding] = []
        self._workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="rpc-handler")
        self._done: list[Any] = []
        self._done_lock = threading.Lock()
        self._in_flight = 0
        self._channel: Any = None
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def listen(self, routing_key: str, endpoint: object) -> None:
        """Serve the durable queue of ``routing_key`` with ``endpoint``."""
        self._bindings.append(_Binding(_durable_queue(routing_key), endpoint))

    def listen_fanout(self, exchange: str, endpoint: object) -> None:
        """Serve broadcasts on ``exchange`` through a private queue that lives with us."""
        queue = Queue(f"{exchange}.{uuid.uuid4().hex}",
                      Exchange(exchange, type="fanout", durable=True),
                      exclusive=True, auto_delete=True, durable=False)
        self._bindings.append(_Binding(queue, endpoint))

    def get_consumers(self, consumer_cls: Callable[..., Any], channel: Any) -> list[Any]:
        channel.basic_qos(0, self._workers, False)
        self._channel = channel
        with self._done_lock:
            self._done.clear()
        self._in_flight = 0
        return [consumer_cls(queues=[b.queue], accept=["json"],
                             callbacks=[self._receiver(b.endpoint)])
                for b in self._bindings]

    @contextmanager
    def establish_connection(self) -> Iterator[Any]:
        # kombu's default back-off grows to 30 s; a broker restart takes seconds.
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   interval_start=0.5, interval_step=0.5, interval_max=2)
            yield conn

    def on_consume_ready(self, connection: Any, channel: Any, consumers: Any,
                         **kwargs: Any) -> None:
        self.ready.set()

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.ready.clear()
        LOG.warning("broker connection lost (%s); retrying in %.1fs", exc, interval)

    def on_iteration(self) -> None:
        with self._done_lock:
            finished, self._done = self._done, []
        for message in finished:
            if message.channel is self._channel:
                self._in_flight -= 1
                message.ack()

    def consume(self, limit: int | None = None, **kwargs: Any) -> Iterator[None]:
        """kombu's loop (``limit`` is not used: it runs until stopped), acking between
        waits that are short only while work is in flight (acks must come from this
        thread: a channel is not thread-safe)."""
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            while not self.should_stop:
                self.on_iteration()
                try:
                    conn.drain_events(timeout=_BUSY_WAIT if self._in_flight else _IDLE_WAIT)
                except TimeoutError:
                    conn.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                else:
                    yield

    def _receiver(self, endpoint: object) -> Callable[[Any, Any], None]:
        def receive(body: Any, message: Any) -> None:
            self._in_flight += 1
            self._executor.submit(self._handle, endpoint, body, message)
        return receive

    def _handle(self, endpoint: object, body: Any, message: Any) -> None:
        try:
            self._dispatch(endpoint, body)
        finally:
            with self._done_lock:
                self._done.append(message)

    def _dispatch(self, endpoint: object, body: Any) -> None:
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            LOG.error("dropping malformed message: %r", body)
            return
        method, args = body["method"], body.get("args") or {}
        token = request_id.set(body.get("request_id"))
        result, failure = None, None
        try:
            handler = None if method.startswith("_") else getattr(endpoint, method, None)
            if handler is None:
                raise AttributeError(f"no method {method!r} on {type(endpoint).__name__}")
            result = handler(**args)
        except Exception as exc:
            LOG.exception("%s failed (request %s)", method, body.get("request_id"))
            failure = {"exc_type": type(exc).__name__, "message": str(exc)}
        finally:
            request_id.reset(token)
        if body.get("reply_to"):
            try:
                self.transport.reply(body["reply_to"], body.get("correlation_id") or "",
                                     result, failure)
            except Exception:
                LOG.exception("cannot reply to %s", method)

    def start(self) -> threading.Thread:
        """Consume on a daemon thread; returns it (``ready`` is set once consuming)."""
        self._thread = threading.Thread(target=self.run, name="rpc-server", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 10) -> None:
        self.should_stop = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._executor.shutdown(wait=True)
        self.connection.release()
