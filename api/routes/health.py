"""``GET /healthcheck`` (the name oslo.middleware gives Cinder's) and ``GET /metrics``.

Both answer without authentication, as load balancers and Prometheus call them. The
health check does real work (one ``SELECT 1``, one broker connection), so a balancer
polling every few seconds sees a lost database or broker at once; it holds no lock and
no cache, and a failing check answers within its own short timeout.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from api.metrics import REGISTRY
from api.responses import JSONResponse
from common.prometheus import CONTENT_TYPE

router = APIRouter(tags=["health"])
BROKER_TIMEOUT = 2.0


def _database(request: Request) -> str | None:
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def _broker(request: Request) -> str | None:
    transport = request.app.state.transport
    if not hasattr(transport, "connection"):
        return None  # an in-process transport (tests): nothing to reach
    try:
        with transport.connection() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@router.get("/healthcheck")
def healthcheck(request: Request) -> JSONResponse:
    """200 when the database and the broker answer, 503 naming what failed."""
    request.state.bare_response = True
    failures = {name: error for name, error in
                (("database", _database(request)), ("broker", _broker(request)))
                if error is not None}
    checks = {name: failures.get(name, "ok") for name in ("database", "broker")}
    return JSONResponse({"status": "failed" if failures else "ok", "checks": checks},
                        status_code=503 if failures else 200)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format; on the event loop, where the figures are updated."""
    request.state.bare_response = True
    return Response(REGISTRY.render(), media_type=CONTENT_TYPE)
