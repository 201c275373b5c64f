"""``/v3/{project_id}/volumes``: create, list, detail, summary, show, update, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import AgentDep, ConfigDep, ContextDep, RequestContext, SchedulerDep, SessionDep
from api.errors import NotFound
from api.policy import require_admin
from api.responses import JSONResponse, accepted
from api.services import snapshots, volumes
from api.services.volume_query import VOLUMES, ListQuery
from api.validation import boolean, entity, read_body
from api.views import volumes as view

router = APIRouter(prefix="/v3/{project_id}/volumes", tags=["volumes"])
BodyDep = Annotated[Any, Depends(read_body)]


def _list_query(request: Request, context: ContextDep, conf: ConfigDep) -> ListQuery:
    return VOLUMES.parse(context, request.query_params.multi_items(),
                         conf.default.osapi_max_limit)


QueryDep = Annotated[ListQuery, Depends(_list_query)]


def _page(context: RequestContext, request: Request, path: str, items: list[dict[str, Any]],
          query: ListQuery, count: int | None) -> JSONResponse:
    return JSONResponse(view.volume_list(context, items, path=path,
                                         query=request.query_params.multi_items(),
                                         limit=query.limit, count=count))


@router.post("", status_code=202)
def create_volume(body: BodyDep, context: ContextDep, session: SessionDep, conf: ConfigDep,
                  scheduler: SchedulerDep) -> JSONResponse:
    """Record the volume, hold its quota and hand it to the scheduler; 202 while creating."""
    request = volumes.parse_create(entity(body, "volume"))
    row = volumes.create(session, context, conf, scheduler, request)
    return JSONResponse({"volume": view.volume(context, row, extended=False)},
                        status_code=202)


@router.get("")
def list_volumes(request: Request, context: ContextDep, session: SessionDep,
                 query: QueryDep) -> JSONResponse:
    """Ids, names and links of one page of volumes."""
    rows, count = volumes.list_brief(session, context, query)
    items = [view.brief(context, row.id, row.display_name, row.project_id) for row in rows]
    return _page(context, request, "volumes", items, query, count)


@router.get("/detail")
def list_volumes_detail(request: Request, context: ContextDep, session: SessionDep,
                        query: QueryDep) -> JSONResponse:
    """Full bodies of one page of volumes."""
    rows, count = volumes.list_detail(session, context, query)
    items = view.volume_details(context, rows)
    return _page(context, request, "volumes/detail", items, query, count)


@router.get("/summary")
def volume_summary(context: ContextDep, session: SessionDep, query: QueryDep) -> JSONResponse:
    """Count, total size and distinct metadata of the volumes the filters select."""
    if not context.microversion.at_least("volume_summary"):
        raise NotFound(volumes.volume_message("summary"))
    total_count, total_size, meta = volumes.summarize(session, context, query)
    return JSONResponse(view.summary(context, total_count, total_size, meta))


@router.get("/{volume_id}")
def show_volume(volume_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    detail = volumes.show(session, context, volume_id)
    return JSONResponse({"volume": view.volume_details(context, [detail])[0]})


@router.put("/{volume_id}")
def update_volume(volume_id: str, body: BodyDep, context: ContextDep,
                  session: SessionDep) -> JSONResponse:
    """Rename, re-describe or replace the metadata of a volume."""
    spec = entity(body, "volume")
    row = volumes.update(session, volumes.find(session, context, volume_id), spec)
    return JSONResponse({"volume": view.volume(context, row, extended=False)})


@router.delete("/{volume_id}", status_code=202)
def delete_volume(volume_id: str, context: ContextDep, session: SessionDep, conf: ConfigDep,
                  agent: AgentDep, force: str = "false", cascade: str = "false") -> Response:
    """Delete a volume: at once if it never reached storage, else through its agent.
    From 3.23 admins may pass ``force=true`` (as ``os-force_delete``); ``cascade=true``
    deletes its snapshots first."""
    row = volumes.find(session, context, volume_id)
    if context.microversion.at_least("delete_force_param") and boolean(force, "force"):
        require_admin(context, "volume:force_delete")
        volumes.force_delete(session, context, conf, agent, row)
    elif boolean(cascade, "cascade"):
        snapshots.delete_volume_cascade(session, context, conf, agent, row)
    else:
        volumes.delete_volume(session, context, conf, agent, row)
    return accepted()
