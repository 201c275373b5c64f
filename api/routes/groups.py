"""``/v3/{project_id}/groups`` (3.13): generic volume groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import (
    AgentDep,
    ConfigDep,
    ContextDep,
    RequestContext,
    SchedulerDep,
    SessionDep,
)
from api.errors import BadRequest, NotFound
from api.responses import JSONResponse, accepted
from api.services import group_sources, groups
from api.validation import boolean, entity, read_body, reject_unexpected
from api.views.pages import collection
from api.views.volumes import iso
from db.models import Group

router = APIRouter(prefix="/v3/{project_id}/groups", tags=["groups"])
BodyDep = Annotated[Any, Depends(read_body)]


def _served(context: RequestContext) -> None:
    if not context.microversion.at_least("groups"):
        raise NotFound("The resource could not be found.")


def _detail(context: RequestContext, session: Session, row: Group,
            list_volume: bool = False) -> dict[str, Any]:
    version = context.microversion
    body: dict[str, Any] = {
        "id": row.id, "status": row.status, "availability_zone": row.availability_zone,
        "created_at": iso(row.created_at), "name": row.name, "description": row.description,
        "group_type": row.group_type_id,
        "volume_types": [m.volume_type_id for m in row.volume_types],
    }
    if version.at_least("snapshot_group_snapshot_id"):
        body.update({"group_snapshot_id": row.group_snapshot_id,
                     "source_group_id": row.source_group_id})
    if list_volume and version.at_least("group_volume_list"):
        body["volumes"] = groups.member_ids(session, row)
    if version.at_least("group_replication_status"):
        body["replication_status"] = None
    return body


def _page(request: Request, context: RequestContext, session: Session, conf: Any,
          path: str, detail: bool) -> JSONResponse:
    _served(context)
    params = request.query_params.multi_items()
    list_volume = boolean(dict(params).pop("list_volume", "false"), "list_volume")
    params = [(k, v) for k, v in params if k != "list_volume"]
    query = groups.GROUPS.parse(context, params, conf.default.osapi_max_limit)
    rows = groups.listed(session, context, query)
    items = [_detail(context, session, row, list_volume) if detail
             else {"id": row.id, "name": row.name} for row in rows]
    return JSONResponse(collection(context, "groups", items, path=path, query=params,
                                   limit=query.limit, count=None))


@router.post("", status_code=202)
def create_group(body: BodyDep, context: ContextDep, session: SessionDep,
                 conf: ConfigDep) -> JSONResponse:
    _served(context)
    row = groups.create(session, context, conf, entity(body, "group"))
    return JSONResponse({"group": {"id": row.id, "name": row.name}}, status_code=202)


@router.post("/action", status_code=202)
def create_group_from_source(body: BodyDep, context: ContextDep, session: SessionDep,
                             conf: ConfigDep, scheduler: SchedulerDep) -> JSONResponse:
    """``create-from-src`` (3.14): a new group copied from a group snapshot or a group."""
    _served(context)
    if not context.microversion.at_least("group_snapshots"):
        raise NotFound("The resource could not be found.")
    spec = entity(body, "create-from-src")
    reject_unexpected(body, {"create-from-src"})
    row = group_sources.create_from_source(session, context, conf, scheduler, spec)
    return JSONResponse({"group": {"id": row.id, "name": row.name}}, status_code=202)


@router.get("")
def list_groups(request: Request, context: ContextDep, session: SessionDep,
                conf: ConfigDep) -> JSONResponse:
    return _page(request, context, session, conf, "groups", detail=False)


@router.get("/detail")
def list_groups_detail(request: Request, context: ContextDep, session: SessionDep,
                       conf: ConfigDep) -> JSONResponse:
    return _page(request, context, session, conf, "groups/detail", detail=True)


@router.get("/{group_id}")
def show_group(group_id: str, context: ContextDep, session: SessionDep,
               list_volume: str = "false") -> JSONResponse:
    _served(context)
    row = groups.find_group(session, context, group_id)
    return JSONResponse({"group": _detail(context, session, row,
                                          boolean(list_volume, "list_volume"))})


@router.put("/{group_id}", status_code=202)
def update_group(group_id: str, body: BodyDep, context: ContextDep,
                 session: SessionDep) -> Response:
    """Rename, re-describe, or add and remove volumes (comma-separated ids)."""
    _served(context)
    groups.update(session, context, groups.find_group(session, context, group_id),
                  entity(body, "group"))
    return accepted()


@router.post("/{group_id}/action", status_code=202)
def group_action(group_id: str, body: BodyDep, context: ContextDep, session: SessionDep,
                 conf: ConfigDep, agent: AgentDep) -> Response:
    """``delete`` (with ``delete-volumes``) and, from 3.20, the admin's ``reset_status``."""
    _served(context)
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: give exactly one action.")
    (name, args), = body.items()
    row = groups.find_group(session, context, group_id)
    if name == "delete":
        groups.delete(session, context, conf, agent, row, args)
    elif name == "reset_status" and context.microversion.at_least("group_reset_status"):
        groups.reset_status(session, context, row, args)
    else:
        raise BadRequest(f"There is no such action: {name}. Verify the request body and "
                         "Content-Type header and try again.")
    return accepted()
