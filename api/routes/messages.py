"""``/v3/{project_id}/messages`` (3.3): list, show and delete user messages.

Filters, sorting and markers apply from 3.5; before that a list is every message
of the project, newest first.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep
from api.errors import NotFound
from api.responses import JSONResponse
from api.services import messages
from api.views.messages import message
from api.views.pages import collection

router = APIRouter(prefix="/v3/{project_id}/messages", tags=["messages"])


def _served(context: RequestContext) -> None:
    if not context.microversion.at_least("messages"):
        raise NotFound("The resource could not be found.")


@router.get("")
def list_messages(request: Request, context: ContextDep, session: SessionDep,
                  conf: ConfigDep) -> JSONResponse:
    _served(context)
    params = request.query_params.multi_items()
    if not context.microversion.at_least("messages_pagination"):
        params = [(k, v) for k, v in params if k == "all_tenants"]
    query = messages.MESSAGES.parse(context, params, conf.default.osapi_max_limit)
    rows, count = messages.listed(session, context, query)
    return JSONResponse(collection(context, "messages", [message(context, r) for r in rows],
                                   path="messages", query=params, limit=query.limit,
                                   count=count))


@router.get("/{message_id}")
def show_message(message_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    _served(context)
    return JSONResponse({"message": message(context,
                                            messages.find(session, context, message_id))})


@router.delete("/{message_id}", status_code=204)
def delete_message(message_id: str, context: ContextDep, session: SessionDep) -> Response:
    _served(context)
    messages.remove(session, messages.find(session, context, message_id))
    return Response(status_code=204)
