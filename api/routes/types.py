"""``/v3/{project_id}/types``: volume types, their extra specs and project access."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep
from api.errors import BadRequest, NotFound
from api.policy import require_admin
from api.responses import JSONResponse, accepted
from api.services import volume_types
from api.validation import entity, invalid, read_body
from api.views.types import volume_type

router = APIRouter(prefix="/v3/{project_id}/types", tags=["volume types"])
BodyDep = Annotated[Any, Depends(read_body)]
_MANAGE = "volume_extension:types_manage"
_SPECS = "volume_extension:types_extra_specs"
_ACCESS = "volume_extension:volume_type_access"


def _one(context: RequestContext, row: Any, **kw: bool) -> JSONResponse:
    return JSONResponse({"volume_type": volume_type(context, row, **kw)})


@router.get("")
def list_types(context: ContextDep, session: SessionDep,
               is_public: str | None = None) -> JSONResponse:
    rows = volume_types.list_types(session, context, is_public)
    return JSONResponse({"volume_types": [volume_type(context, row) for row in rows]})


@router.post("")
def create_type(body: BodyDep, context: ContextDep, session: SessionDep) -> JSONResponse:
    require_admin(context, _MANAGE)
    row = volume_types.create(session, entity(body, "volume_type"))
    return _one(context, row, qos_field=False)


@router.get("/default")
def show_default_type(context: ContextDep, session: SessionDep,
                      conf: ConfigDep) -> JSONResponse:
    """The type volumes get when they name none (sample 11: no access flag)."""
    return _one(context, volume_types.default_type(session, conf, context.project_id),
                access_flag=False)


@router.get("/{type_id}")
def show_type(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    return _one(context, volume_types.find(session, context, type_id))


@router.put("/{type_id}")
def update_type(type_id: str, body: BodyDep, context: ContextDep,
                session: SessionDep) -> JSONResponse:
    require_admin(context, _MANAGE)
    row = volume_types.find(session, context, type_id)
    return _one(context, volume_types.update(session, row, entity(body, "volume_type")),
                access_flag=False, qos_field=False)


@router.delete("/{type_id}", status_code=202)
def delete_type(type_id: str, context: ContextDep, session: SessionDep,
                conf: ConfigDep) -> Response:
    require_admin(context, _MANAGE)
    volume_types.remove(session, conf, volume_types.find(session, context, type_id))
    return accepted()


@router.get("/{type_id}/extra_specs")
def list_extra_specs(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    row = volume_types.find(session, context, type_id)
    return JSONResponse({"extra_specs": volume_types.visible_extra_specs(context, row)})


@router.post("/{type_id}/extra_specs")
def set_extra_specs(type_id: str, body: BodyDep, context: ContextDep,
                    session: SessionDep) -> JSONResponse:
    require_admin(context, _SPECS)
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise BadRequest("'extra_specs' is a required property")
    if body["extra_specs"] is None:
        raise invalid("extra_specs", None, "None is not of type 'object'")
    row = volume_types.find(session, context, type_id)
    return JSONResponse({"extra_specs": volume_types.set_extra_specs(
        session, row, body["extra_specs"])})


@router.get("/{type_id}/extra_specs/{key}")
def show_extra_spec(type_id: str, key: str, context: ContextDep,
                    session: SessionDep) -> JSONResponse:
    specs = volume_types.visible_extra_specs(
        context, volume_types.find(session, context, type_id))
    if key not in specs:
        raise NotFound(f"Volume Type {type_id} has no extra specs with key {key}.")
    return JSONResponse({key: specs[key]})


@router.put("/{type_id}/extra_specs/{key}")
def set_extra_spec(type_id: str, key: str, body: BodyDep, context: ContextDep,
                   session: SessionDep) -> JSONResponse:
    require_admin(context, _SPECS)
    if not isinstance(body, dict) or key not in body:
        raise BadRequest("Request body and URI mismatch")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    row = volume_types.find(session, context, type_id)
    return JSONResponse(volume_types.set_extra_specs(session, row, body))


@router.delete("/{type_id}/extra_specs/{key}", status_code=202)
def delete_extra_spec(type_id: str, key: str, context: ContextDep,
                      session: SessionDep) -> Response:
    require_admin(context, _SPECS)
    volume_types.delete_extra_spec(session, volume_types.find(session, context, type_id), key)
    return accepted()


@router.get("/{type_id}/os-volume-type-access")
def list_type_access(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    require_admin(context, _ACCESS)
    row = volume_types.find(session, context, type_id)
    return JSONResponse({"volume_type_access": volume_types.access_list(row)})


@router.post("/{type_id}/action", status_code=202)
def type_action(type_id: str, body: BodyDep, context: ContextDep,
                session: SessionDep) -> Response:
    """``addProjectAccess`` / ``removeProjectAccess`` for private types."""
    require_admin(context, _ACCESS)
    row = volume_types.find(session, context, type_id)
    if isinstance(body, dict) and "addProjectAccess" in body:
        volume_types.add_access(session, row, body["addProjectAccess"])
    elif isinstance(body, dict) and "removeProjectAccess" in body:
        volume_types.remove_access(session, row, body["removeProjectAccess"])
    else:
        name = next(iter(body), "") if isinstance(body, dict) and body else ""
        raise BadRequest(f"There is no such action: {name}. Verify the request body and "
                         "Content-Type header and try again.")
    return accepted()
