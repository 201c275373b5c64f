"""One ASGI layer around the whole app: request ids, microversion headers, the
errors no route handles (a lost database becomes 503, anything else a 500 body),
and each request's metrics and access log line (``api.metrics``).

It is pure ASGI rather than ``BaseHTTPMiddleware`` to keep per-request overhead
low, and it sits outside Starlette's exception handling so even a crash still
carries the request id a user quotes in a bug report.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics, microversions
from api.errors import ApiError, ServiceUnavailable
from common import messaging

__all__ = ["ApiMiddleware"]

LOG = logging.getLogger(__name__)
_VARY = (b"vary", microversions.HEADER.encode())


def _is_connection_error(exc: BaseException) -> bool:
    """A database that is restarting, unreachable, or out of pooled connections.

    Drivers report these (and deadlocks or lock timeouts, which a retry also cures)
    as OperationalError or InterfaceError; programming errors stay 500s.
    """
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


class ApiMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._serve(scope, receive, send_counted)
        finally:
            metrics.observe(scope, status, time.perf_counter() - began)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = f"req-{uuid.uuid4()}"
        messaging.request_id.set(request_id)  # every log line of this request carries it
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        ids = [(b"x-openstack-request-id", request_id.encode()),
               (b"x-compute-request-id", request_id.encode())]
        version_headers: list[tuple[bytes, bytes]] = []
        try:
            version = microversions.parse(_header(scope, b"openstack-api-version"))
        except ApiError as exc:
            if exc.status == 406:
                asked = _header(scope, b"openstack-api-version") or ""
                version_headers = [(b"openstack-api-version", asked.encode()), _VARY]
            await _send_error(send, exc, ids + version_headers)
            return
        state["microversion"] = version
        version_headers = [(b"openstack-api-version", f"volume {version}".encode()), _VARY]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                extra = ids if state.get("bare_response") else ids + version_headers
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started:
                raise
            if _is_connection_error(exc):
                LOG.warning("%s: database unavailable: %s", request_id, exc)
                error: ApiError = ServiceUnavailable(
                    "The database is unavailable; retry the request.")
            else:
                LOG.exception("%s: unexpected error", request_id)
                error = ApiError("The server has either erred or is incapable of "
                                 "performing the requested operation.")
            await _send_error(send, error, ids + version_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_error(send: Send, exc: ApiError, headers: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps(exc.body())
    extra: list[tuple[bytes, Any]] = [(k.lower().encode(), v.encode())
                                      for k, v in exc.headers().items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()), *extra, *headers]})
    await send({"type": "http.response.body", "body": body})
