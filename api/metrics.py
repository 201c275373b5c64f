"""Request counts and latencies by route template and status, and one access log line
per request (with the request id the log filter adds); ``api.middleware`` calls
:func:`observe` once per request.

The route is the template (``/v3/{project_id}/volumes/{volume_id}``), never the raw path,
so the number of series stays bounded whatever clients send; paths no route matched
count as ``unmatched``. Each uvicorn worker process keeps its own figures.
"""

from __future__ import annotations

import logging

from starlette.types import Scope

from common.prometheus import Counter, Histogram, Registry

__all__ = ["observe", "REGISTRY"]

LOG = logging.getLogger("cinderblock.api.access")
REGISTRY = Registry()
REQUESTS = REGISTRY.add(Counter(
    "cinderblock_api_requests_total", "HTTP requests answered, by method, route and status.",
    ("method", "route", "status")))
LATENCY = REGISTRY.add(Histogram(
    "cinderblock_api_request_duration_seconds",
    "Time from receiving a request to sending its response body, by method and route.",
    ("method", "route")))
_STATUS = {code: str(code) for code in range(100, 600)}


def observe(scope: Scope, status: int, elapsed: float) -> None:
    """Count one answered request and log its access line."""
    template = getattr(scope.get("route"), "path", "unmatched")
    method = scope["method"]
    REQUESTS.inc((method, template, _STATUS.get(status, str(status))))
    LATENCY.observe((method, template), elapsed)
    LOG.info("%s %s %d %.1fms", method, scope["path"], status, elapsed * 1000)
