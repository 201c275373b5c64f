"""``/v3/{project_id}/attachments`` (3.27+): reserve, connect, complete, list, show, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep, VolumeRpcDep
from api.errors import BadRequest, NotFound
from api.responses import JSONResponse
from api.services import attachments, volumes
from api.services.attachments import Attacher
from api.validation import entity, invalid, optional_uuid, read_body
from api.views import attachments as view

router = APIRouter(prefix="/v3/{project_id}/attachments", tags=["attachments"])
BodyDep = Annotated[Any, Depends(read_body)]

def _served(context: RequestContext, feature: str = "attachments") -> None:
    """Below its microversion the resource does not exist (sample 46)."""
    if not context.microversion.at_least(feature):
        raise NotFound("The resource could not be found.")


def _only(spec: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unexpected = sorted(spec.keys() - set(allowed))
    if unexpected:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unexpected)} was unexpected)")


@router.post("")
def create_attachment(body: BodyDep, context: ContextDep, session: SessionDep,
                      rpc: VolumeRpcDep) -> JSONResponse:
    """Reserve the volume for an instance; with a connector, also export it (as Nova does)."""
    _served(context)
    spec = entity(body, "attachment")
    with_mode = context.microversion.at_least("attach_mode")
    _only(spec, ("volume_uuid", "instance_uuid", "connector", *(("mode",) if with_mode else ())))
    if "volume_uuid" not in spec:
        raise BadRequest("'volume_uuid' is a required property")
    volume_id = optional_uuid(spec["volume_uuid"], "volume_uuid")
    instance_uuid = optional_uuid(spec.get("instance_uuid"), "instance_uuid")
    connector = spec.get("connector")
    if connector is not None:
        connector = attachments.check_connector(connector)
    mode = spec.get("mode")
    if mode is not None and mode not in ("rw", "ro"):
        raise invalid("mode", mode, f"{mode!r} is not one of ['rw', 'ro']")
    volume = volumes.find(session, context, str(volume_id))
    row = attachments.reserve(session, volume, instance_uuid, mode=mode)
    if connector is not None:
        attachments.connect(Attacher(session, context, rpc), row, connector,
                            undo_reservation=True)
        session.refresh(row)
    return JSONResponse({"attachment": view.detail(row)})


def _listing(request: Request, context: RequestContext, session: SessionDep, max_limit: int,
             *, detailed: bool) -> JSONResponse:
    query = attachments.ATTACHMENTS.parse(context, request.query_params.multi_items(),
                                          max_limit)
    return JSONResponse(view.attachment_list(attachments.list_rows(session, context, query),
                                             detailed=detailed))


@router.get("")
def list_attachments(request: Request, context: ContextDep, session: SessionDep,
                     conf: ConfigDep) -> JSONResponse:
    """Id, status, instance and volume of the caller's attachments."""
    _served(context)
    return _listing(request, context, session, conf.default.osapi_max_limit, detailed=False)


@router.get("/detail")
def list_attachments_detail(request: Request, context: ContextDep, session: SessionDep,
                            conf: ConfigDep) -> JSONResponse:
    """Attachments with times, mode and connection_info."""
    _served(context)
    return _listing(request, context, session, conf.default.osapi_max_limit, detailed=True)


@router.get("/{attachment_id}")
def show_attachment(attachment_id: str, context: ContextDep,
                    session: SessionDep) -> JSONResponse:
    _served(context)
    return JSONResponse({"attachment": view.detail(
        attachments.find(session, context, attachment_id))})


@router.put("/{attachment_id}")
def update_attachment(attachment_id: str, body: BodyDep, context: ContextDep,
                      session: SessionDep, rpc: VolumeRpcDep) -> JSONResponse:
    """Give a reserved attachment its connector: the volume is exported to it."""
    _served(context)
    spec = entity(body, "attachment")
    _only(spec, ("connector",))
    if "connector" not in spec:
        raise BadRequest("'connector' is a required property")
    connector = attachments.check_connector(spec["connector"])
    row = attachments.find(session, context, attachment_id)
    attachments.connect(Attacher(session, context, rpc), row, connector)
    session.refresh(row)
    return JSONResponse({"attachment": view.detail(row)})


@router.post("/{attachment_id}/action")
def attachment_action(attachment_id: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> Response:
    """``os-complete`` (3.44): the consumer is connected, the volume is in use; 204."""
    _served(context, "attachment_complete")
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        name = next(iter(body), "") if isinstance(body, dict) else ""
        raise BadRequest(f"There is no such action: {name}. Verify the request body and "
                         "Content-Type header and try again.")
    attachments.complete(session, attachments.find(session, context, attachment_id))
    return Response(status_code=204, media_type="application/json")


@router.delete("/{attachment_id}")
def delete_attachment(attachment_id: str, context: ContextDep, session: SessionDep,
                      rpc: VolumeRpcDep) -> JSONResponse:
    """Remove the initiator's access and the attachment; lists the volume's others."""
    _served(context)
    row = attachments.find(session, context, attachment_id)
    left = attachments.delete(Attacher(session, context, rpc), row)
    return JSONResponse(view.attachment_list(left, detailed=False))
