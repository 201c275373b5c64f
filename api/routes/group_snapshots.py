"""``/v3/{project_id}/group_snapshots`` (3.14): snapshots of whole groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import AgentDep, ConfigDep, ContextDep, RequestContext, SessionDep
from api.errors import BadRequest, NotFound
from api.responses import JSONResponse, accepted
from api.services import group_snapshots
from api.validation import entity, read_body
from api.views.pages import collection
from api.views.volumes import iso
from db.models import GroupSnapshot

router = APIRouter(prefix="/v3/{project_id}/group_snapshots", tags=["group snapshots"])
BodyDep = Annotated[Any, Depends(read_body)]


def _served(context: RequestContext) -> None:
    if not context.microversion.at_least("group_snapshots"):
        raise NotFound("The resource could not be found.")


def _summary(row: GroupSnapshot) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "group_type_id": row.group_type_id}


def _detail(row: GroupSnapshot) -> dict[str, Any]:
    return {"id": row.id, "group_id": row.group_id, "group_type_id": row.group_type_id,
            "status": row.status, "created_at": iso(row.created_at), "name": row.name,
            "description": row.description}


def _page(request: Request, context: RequestContext, session: Any, conf: Any, path: str,
          detail: bool) -> JSONResponse:
    _served(context)
    params = request.query_params.multi_items()
    query = group_snapshots.GROUP_SNAPSHOTS.parse(context, params,
                                                  conf.default.osapi_max_limit)
    rows = group_snapshots.listed(session, context, query)
    items = [_detail(row) if detail else _summary(row) for row in rows]
    return JSONResponse(collection(context, "group_snapshots", items, path=path,
                                   query=params, limit=query.limit, count=None))


@router.post("", status_code=202)
def create_group_snapshot(body: BodyDep, context: ContextDep, session: SessionDep,
                          conf: ConfigDep, agent: AgentDep) -> JSONResponse:
    """Snapshot every volume of the group; 202 while the members are created."""
    _served(context)
    row = group_snapshots.create(session, context, conf, agent,
                                 entity(body, "group_snapshot"))
    return JSONResponse({"group_snapshot": _summary(row)}, status_code=202)


@router.get("")
def list_group_snapshots(request: Request, context: ContextDep, session: SessionDep,
                         conf: ConfigDep) -> JSONResponse:
    return _page(request, context, session, conf, "group_snapshots", detail=False)


@router.get("/detail")
def list_group_snapshots_detail(request: Request, context: ContextDep, session: SessionDep,
                                conf: ConfigDep) -> JSONResponse:
    return _page(request, context, session, conf, "group_snapshots/detail", detail=True)


@router.get("/{group_snapshot_id}")
def show_group_snapshot(group_snapshot_id: str, context: ContextDep,
                        session: SessionDep) -> JSONResponse:
    _served(context)
    row = group_snapshots.find(session, context, group_snapshot_id)
    return JSONResponse({"group_snapshot": _detail(row)})


@router.delete("/{group_snapshot_id}", status_code=202)
def delete_group_snapshot(group_snapshot_id: str, context: ContextDep, session: SessionDep,
                          agent: AgentDep) -> Response:
    _served(context)
    group_snapshots.delete(session, context, agent,
                           group_snapshots.find(session, context, group_snapshot_id))
    return accepted()


@router.post("/{group_snapshot_id}/action", status_code=202)
def group_snapshot_action(group_snapshot_id: str, body: BodyDep, context: ContextDep,
                          session: SessionDep) -> Response:
    """``reset_status`` (admins, 3.19)."""
    _served(context)
    if not isinstance(body, dict) or list(body) != ["reset_status"] \
            or not context.microversion.at_least("group_snapshot_reset_status"):
        name = next(iter(body), None) if isinstance(body, dict) else None
        raise BadRequest(f"There is no such action: {name}. Verify the request body and "
                         "Content-Type header and try again.")
    group_snapshots.reset_status(session, context,
                                 group_snapshots.find(session, context, group_snapshot_id),
                                 body["reset_status"])
    return accepted()
