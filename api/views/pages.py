"""A page of any collection as Cinder shapes it: items, a next link when full, a count."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from api.deps import RequestContext

__all__ = ["collection"]


def collection(context: RequestContext, key: str, items: list[dict[str, Any]], *, path: str,
               query: Sequence[tuple[str, str]], limit: int, count: int | None
               ) -> dict[str, Any]:
    """``{key: items}``, plus ``<key>_links`` with the next marker when the page is full."""
    body: dict[str, Any] = {key: items}
    if items and len(items) >= limit:
        # The marker already stands past the offset: keeping it would skip rows again.
        params = [(k, v) for k, v in query if k not in ("marker", "offset")]
        params.append(("marker", items[-1]["id"]))
        body[f"{key}_links"] = [{
            "rel": "next",
            "href": f"{context.base_url}/v3/{context.project_id}/{path}?{urlencode(params)}",
        }]
    if count is not None:
        body["count"] = count
    return body
