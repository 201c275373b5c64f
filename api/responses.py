"""Response classes: JSON rendered with orjson, and the empty 202 Cinder gives for work
that continues in the background."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JSONResponse", "accepted"]


class JSONResponse(Response):
    """Views build plain dicts, so orjson renders them directly: no model validation
    pass and no jsonable_encoder walk over large volume lists."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def accepted() -> Response:
    return Response(status_code=202, media_type="application/json")
