"""``/v3[/{project_id}]/default-types[/{target}]`` (3.62): per-project default types.

Cinder serves these with and without the project in the URL; both forms lead to
the same handlers, and ``target`` is the project whose default is meant. The
handlers enforce their rules themselves: the project-less form passes no route rule.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import RequestContext, SessionDep, get_caller, get_context
from api.errors import NotFound
from api.policies import enforce
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import default_types
from api.validation import read_body

router = APIRouter(tags=["default types"])
_PATHS = ("/v3/{project_id}/default-types", "/v3/default-types")


def _caller(request: Request) -> RequestContext:
    """The context, checking the URL's project when the URL has one; 404 before 3.62."""
    project_id = request.path_params.get("project_id")
    context = get_context(request, project_id) if project_id else get_caller(request)
    if not context.microversion.at_least("default_type_overrides"):
        raise NotFound("The resource could not be found.")
    return context


CallerDep = Annotated[RequestContext, Depends(_caller)]


def _each_path(method: str, suffix: str = "", **kw: Any) -> Any:
    def register(handler: Any) -> Any:
        for path in _PATHS:
            router.add_api_route(f"{path}{suffix}", handler, methods=[method], **kw)
        return handler
    return register


@_each_path("PUT", "/{target}")
def set_default_type(target: str, context: CallerDep, session: SessionDep,
                     body: Annotated[Any, Depends(read_body)]) -> JSONResponse:
    require_admin(context, "volume_extension:default_set_or_update")
    row = default_types.set_default(session, target, body)
    return JSONResponse({"default_type": default_types.as_dict(row)})


@_each_path("GET")
def list_default_types(context: CallerDep, session: SessionDep) -> JSONResponse:
    require_admin(context, "volume_extension:default_get_all")
    rows = default_types.list_defaults(session)
    return JSONResponse({"default_types": [default_types.as_dict(row) for row in rows]})


@_each_path("GET", "/{target}")
def show_default_type(target: str, context: CallerDep, session: SessionDep) -> JSONResponse:
    enforce(context, "volume_extension:default_get", {"project_id": target})
    row = default_types.get_default(session, target)
    return JSONResponse({"default_type": default_types.as_dict(row)})


@_each_path("DELETE", "/{target}", status_code=204)
def unset_default_type(target: str, context: CallerDep, session: SessionDep) -> Response:
    require_admin(context, "volume_extension:default_unset")
    default_types.unset_default(session, target)
    return Response(status_code=204)
