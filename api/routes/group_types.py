"""``/v3/{project_id}/group_types`` (3.11): group types and their group specs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep
from api.errors import BadRequest, NotFound
from api.policy import require_admin
from api.responses import JSONResponse, accepted
from api.services import group_types
from api.validation import entity, read_body
from api.views.pages import collection
from db.models import GroupType

router = APIRouter(prefix="/v3/{project_id}/group_types", tags=["group types"])
BodyDep = Annotated[Any, Depends(read_body)]
_MANAGE = "group:group_types"
_SPECS = "group:group_types_specs"


def _served(context: RequestContext) -> None:
    if not context.microversion.at_least("group_types"):
        raise NotFound("The resource could not be found.")


def _view(context: RequestContext, row: GroupType) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id, "name": row.name, "description": row.description,
                            "is_public": row.is_public}
    if context.is_admin:
        body["group_specs"] = group_types.specs(row)
    return body


@router.get("")
def list_group_types(request: Request, context: ContextDep, session: SessionDep,
                     conf: ConfigDep) -> JSONResponse:
    """Sorted and paged as Cinder's (``sort``, ``sort_key``/``sort_dir``, ``limit``,
    ``marker``, ``offset``), filtered on ``is_public``."""
    _served(context)
    params = request.query_params.multi_items()
    query = group_types.list_query(context, params, conf.default.osapi_max_limit)
    rows = group_types.list_types(session, context, query)
    return JSONResponse(collection(context, "group_types",
                                   [_view(context, row) for row in rows],
                                   path="group_types", query=params, limit=query.limit,
                                   count=None))


@router.post("", status_code=202)
def create_group_type(body: BodyDep, context: ContextDep, session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_MANAGE}:create")
    row = group_types.create(session, entity(body, "group_type"))
    return JSONResponse({"group_type": _view(context, row)}, status_code=202)


@router.get("/{type_id}")
def show_group_type(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    _served(context)
    return JSONResponse({"group_type": _view(context, group_types.find(session, context,
                                                                       type_id))})


@router.put("/{type_id}")
def update_group_type(type_id: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_MANAGE}:update")
    row = group_types.update(session, group_types.find(session, context, type_id),
                             entity(body, "group_type"))
    return JSONResponse({"group_type": _view(context, row)})


@router.delete("/{type_id}", status_code=202)
def delete_group_type(type_id: str, context: ContextDep, session: SessionDep) -> Response:
    _served(context)
    require_admin(context, f"{_MANAGE}:delete")
    group_types.remove(session, group_types.find(session, context, type_id))
    return accepted()


@router.get("/{type_id}/group_specs")
def list_group_specs(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_SPECS}:get_all")
    row = group_types.find(session, context, type_id)
    return JSONResponse({"group_specs": group_types.specs(row)})


@router.post("/{type_id}/group_specs", status_code=202)
def create_group_specs(type_id: str, body: BodyDep, context: ContextDep,
                       session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_SPECS}:create")
    if not isinstance(body, dict) or "group_specs" not in body:
        raise BadRequest("'group_specs' is a required property")
    row = group_types.find(session, context, type_id)
    given = group_types.set_specs(session, row, body["group_specs"])
    return JSONResponse({"group_specs": given}, status_code=202)


@router.get("/{type_id}/group_specs/{key}")
def show_group_spec(type_id: str, key: str, context: ContextDep,
                    session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_SPECS}:get")
    found = group_types.specs(group_types.find(session, context, type_id))
    if key not in found:
        raise NotFound(f"Group Type {type_id} has no specs with key {key}.")
    return JSONResponse({key: found[key]})


@router.put("/{type_id}/group_specs/{key}")
def update_group_spec(type_id: str, key: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
    _served(context)
    require_admin(context, f"{_SPECS}:update")
    if not isinstance(body, dict) or key not in body:
        raise BadRequest("Request body and URI mismatch")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    given = group_types.set_specs(session, group_types.find(session, context, type_id), body)
    return JSONResponse(given)


@router.delete("/{type_id}/group_specs/{key}", status_code=202)
def delete_group_spec(type_id: str, key: str, context: ContextDep,
                      session: SessionDep) -> Response:
    _served(context)
    require_admin(context, f"{_SPECS}:delete")
    group_types.delete_spec(session, group_types.find(session, context, type_id), key)
    return accepted()
