"""``/v3/{project_id}/snapshots``: create, list, detail, show, update, delete, actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import AgentDep, ConfigDep, ContextDep, RequestContext, SessionDep
from api.responses import JSONResponse, accepted
from api.services import snapshot_actions, snapshots
from api.services.listing import ListQuery
from api.validation import entity, read_body
from api.views.pages import collection
from api.views.snapshots import snapshot

router = APIRouter(prefix="/v3/{project_id}/snapshots", tags=["snapshots"])
BodyDep = Annotated[Any, Depends(read_body)]


def _list_query(request: Request, context: ContextDep, conf: ConfigDep) -> ListQuery:
    return snapshots.SNAPSHOTS.parse(context, request.query_params.multi_items(),
                                     conf.default.osapi_max_limit)


QueryDep = Annotated[ListQuery, Depends(_list_query)]


def _page(request: Request, context: RequestContext, session: SessionDep, query: ListQuery,
          path: str, detail: bool) -> JSONResponse:
    rows, count = snapshots.listed(session, context, query)
    items = [snapshot(context, row, detail=detail, extended=detail) for row in rows]
    return JSONResponse(collection(context, "snapshots", items, path=path,
                                   query=request.query_params.multi_items(),
                                   limit=query.limit, count=count))


@router.post("", status_code=202)
def create_snapshot(body: BodyDep, context: ContextDep, session: SessionDep, conf: ConfigDep,
                    agent: AgentDep) -> JSONResponse:
    """Record the snapshot, hold its quota and ask the volume's agent; 202 while creating."""
    request = snapshots.parse_create(entity(body, "snapshot"))
    row = snapshots.create(session, context, conf, agent, request)
    return JSONResponse({"snapshot": snapshot(context, row, extended=False)}, status_code=202)


@router.get("")
def list_snapshots(request: Request, context: ContextDep, session: SessionDep,
                   query: QueryDep) -> JSONResponse:
    return _page(request, context, session, query, "snapshots", detail=False)


@router.get("/detail")
def list_snapshots_detail(request: Request, context: ContextDep, session: SessionDep,
                          query: QueryDep) -> JSONResponse:
    return _page(request, context, session, query, "snapshots/detail", detail=True)


@router.get("/{snapshot_id}")
def show_snapshot(snapshot_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    row = snapshots.find(session, context, snapshot_id)
    return JSONResponse({"snapshot": snapshot(context, row)})


@router.put("/{snapshot_id}")
def update_snapshot(snapshot_id: str, body: BodyDep, context: ContextDep,
                    session: SessionDep) -> JSONResponse:
    """Rename or re-describe a snapshot."""
    spec = entity(body, "snapshot")
    row = snapshots.update(session, snapshots.find(session, context, snapshot_id), spec)
    return JSONResponse({"snapshot": snapshot(context, row, extended=False)})


@router.delete("/{snapshot_id}", status_code=202)
def delete_snapshot(snapshot_id: str, context: ContextDep, session: SessionDep,
                    agent: AgentDep) -> Response:
    snapshots.delete(session, context, agent, snapshots.find(session, context, snapshot_id))
    return accepted()


@router.post("/{snapshot_id}/action", status_code=202)
def snapshot_action(snapshot_id: str, body: BodyDep, context: ContextDep, session: SessionDep,
                    agent: AgentDep) -> Response:
    """Reset status, force delete (admins) or report progress; empty 202."""
    snapshot_actions.perform(session, context, agent, snapshot_id, body)
    return accepted()
