"""``GET /`` (300, every version) and ``GET /v3/`` (the v3 document)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CallerDep
from api.responses import JSONResponse
from api.views.versions import version_document

router = APIRouter(tags=["versions"])


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/")
def list_versions(request: Request) -> JSONResponse:
    """Every API version; 300 because the client must choose one."""
    return JSONResponse(version_document(_base(request)), status_code=300)


@router.get("/v3/")
@router.get("/v3", include_in_schema=False)
def show_v3(request: Request, _caller: CallerDep) -> JSONResponse:
    """The v3 document; under noauth a request without a token gets the 204 handshake."""
    return JSONResponse(version_document(_base(request)))
