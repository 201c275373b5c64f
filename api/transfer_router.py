"""The transfer API, served twice as Cinder serves it: ``os-volume-transfer`` (3.0) and
``volume-transfers`` (3.55, which adds ``no_snapshots``). One factory builds both so
they cannot drift apart; from 3.57 both show the transfer's projects and state.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep
from api.errors import NotFound
from api.responses import JSONResponse, accepted
from api.services import transfers
from api.validation import entity, read_body
from api.views.pages import collection
from api.views.volumes import iso, links
from db.models import Transfer

__all__ = ["transfer_router"]

BodyDep = Annotated[Any, Depends(read_body)]


def _view(context: RequestContext, row: Transfer, collection_name: str, *, detail: bool
          ) -> dict[str, Any]:
    body: dict[str, Any] = {"id": row.id}
    if detail:
        body["created_at"] = iso(row.created_at)
    body.update({"name": row.display_name, "volume_id": row.volume_id})
    if detail and context.microversion.at_least("transfer_no_snapshots"):
        body["no_snapshots"] = row.no_snapshots
    if detail and context.microversion.at_least("transfer_history"):
        body.update({"destination_project_id": row.destination_project_id,
                     "source_project_id": row.project_id, "accepted": row.accepted})
    body["links"] = links(context, collection_name, row.id, row.project_id)
    return body


def transfer_router(collection_name: str, since: str | None) -> APIRouter:
    """``since`` names the FEATURES entry below which the collection does not exist."""
    router = APIRouter(prefix=f"/v3/{{project_id}}/{collection_name}", tags=["transfers"])

    def served(context: RequestContext) -> None:
        if since is not None and not context.microversion.at_least(since):
            raise NotFound("The resource could not be found.")

    def page(request: Request, context: RequestContext, session: Any, conf: Any,
             path: str, detail: bool) -> JSONResponse:
        served(context)
        params = request.query_params.multi_items()
        if not context.microversion.at_least("transfer_pagination"):
            params = [(k, v) for k, v in params if k == "all_tenants"]
        query = transfers.TRANSFERS.parse(context, params, conf.default.osapi_max_limit)
        items = [_view(context, row, collection_name, detail=detail)
                 for row in transfers.listed(session, context, query)]
        return JSONResponse(collection(context, "transfers", items, path=path, query=params,
                                       limit=query.limit, count=None))

    @router.post("", status_code=202)
    def create_transfer(body: BodyDep, context: ContextDep,
                        session: SessionDep) -> JSONResponse:
        """Offer a volume; the answer holds the auth key, which is never shown again."""
        served(context)
        with_flag = since is not None
        offer = transfers.create(session, context, entity(body, "transfer"), with_flag)
        view = _view(context, offer.row, collection_name, detail=True)
        view = {**{k: v for k, v in view.items() if k != "links"},
                "auth_key": offer.auth_key, "links": view["links"]}
        return JSONResponse({"transfer": view}, status_code=202)

    @router.get("")
    def list_transfers(request: Request, context: ContextDep, session: SessionDep,
                       conf: ConfigDep) -> JSONResponse:
        return page(request, context, session, conf, collection_name, detail=False)

    @router.get("/detail")
    def list_transfers_detail(request: Request, context: ContextDep, session: SessionDep,
                              conf: ConfigDep) -> JSONResponse:
        return page(request, context, session, conf, f"{collection_name}/detail",
                    detail=True)

    @router.get("/{transfer_id}")
    def show_transfer(transfer_id: str, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
        served(context)
        row = transfers.find(session, context, transfer_id)
        return JSONResponse({"transfer": _view(context, row, collection_name, detail=True)})

    @router.post("/{transfer_id}/accept", status_code=202)
    def accept_transfer(transfer_id: str, body: BodyDep, context: ContextDep,
                        session: SessionDep, conf: ConfigDep) -> JSONResponse:
        """Take the volume into the caller's project with the key the giver passed on."""
        served(context)
        row = transfers.accept(session, context, conf, transfer_id, body)
        return JSONResponse({"transfer": _view(context, row, collection_name, detail=False)},
                            status_code=202)

    @router.delete("/{transfer_id}", status_code=202)
    def delete_transfer(transfer_id: str, context: ContextDep, session: SessionDep
                        ) -> Response:
        served(context)
        transfers.withdraw(session, transfers.find(session, context, transfer_id))
        return accepted()

    return router
