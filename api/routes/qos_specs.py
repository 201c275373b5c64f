"""``/v3/{project_id}/qos-specs`` (admin): QoS specs and their volume type associations.

Associate and disassociate are GETs with ``vol_type_id`` in the query, as in Cinder.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, RequestContext, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse, accepted
from api.services import qos_specs
from api.validation import boolean, read_body
from api.views.pages import collection
from api.views.volumes import links
from db.models import QualityOfServiceSpecs

router = APIRouter(prefix="/v3/{project_id}/qos-specs", tags=["qos specs"])
BodyDep = Annotated[Any, Depends(read_body)]
_RULE = "volume_extension:qos_specs_manage"


def _spec(row: QualityOfServiceSpecs) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "consumer": row.consumer,
            "specs": qos_specs.specs_dict(row)}


def _detail(context: RequestContext, row: QualityOfServiceSpecs) -> JSONResponse:
    return JSONResponse({"qos_specs": _spec(row), "links": links(context, "qos-specs", row.id)})


@router.get("")
def list_qos_specs(request: Request, context: ContextDep, session: SessionDep,
                   conf: ConfigDep) -> JSONResponse:
    require_admin(context, f"{_RULE}:get_all")
    params = request.query_params.multi_items()
    query = qos_specs.QOS_SPECS.parse(context, params, conf.default.osapi_max_limit)
    rows = qos_specs.listed(session, context, query)
    return JSONResponse(collection(context, "qos_specs", [_spec(row) for row in rows],
                                   path="qos-specs", query=params, limit=query.limit,
                                   count=None))


@router.post("")
def create_qos_specs(body: BodyDep, context: ContextDep, session: SessionDep) -> JSONResponse:
    """Name, optional ``consumer`` (back-end, front-end, both) and any spec keys."""
    require_admin(context, f"{_RULE}:create")
    return _detail(context, qos_specs.create(session, body))


@router.get("/{specs_id}")
def show_qos_specs(specs_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    require_admin(context, f"{_RULE}:get")
    return _detail(context, qos_specs.find(session, specs_id))


@router.put("/{specs_id}")
def set_qos_keys(specs_id: str, body: BodyDep, context: ContextDep,
                 session: SessionDep) -> JSONResponse:
    require_admin(context, f"{_RULE}:update")
    given = qos_specs.set_keys(session, qos_specs.find(session, specs_id), body)
    return JSONResponse({"qos_specs": given})


@router.put("/{specs_id}/delete_keys")
def unset_qos_keys(specs_id: str, body: BodyDep, context: ContextDep,
                   session: SessionDep) -> Response:
    require_admin(context, f"{_RULE}:delete")
    qos_specs.delete_keys(session, qos_specs.find(session, specs_id), body)
    return accepted()


@router.delete("/{specs_id}")
def delete_qos_specs(specs_id: str, context: ContextDep, session: SessionDep,
                     force: str = "false") -> Response:
    """Refused while types use the specs, unless ``force`` (which disassociates them)."""
    require_admin(context, f"{_RULE}:delete")
    qos_specs.delete(session, qos_specs.find(session, specs_id), boolean(force, "force"))
    return accepted()


@router.get("/{specs_id}/associations")
def list_associations(specs_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    require_admin(context, f"{_RULE}:get_all")
    row = qos_specs.find(session, specs_id)
    return JSONResponse({"qos_associations": qos_specs.associations(session, row)})


@router.get("/{specs_id}/associate")
def associate(specs_id: str, context: ContextDep, session: SessionDep,
              vol_type_id: str | None = None) -> Response:
    require_admin(context, f"{_RULE}:update")
    qos_specs.associate(session, qos_specs.find(session, specs_id), vol_type_id)
    return accepted()


@router.get("/{specs_id}/disassociate")
def disassociate(specs_id: str, context: ContextDep, session: SessionDep,
                 vol_type_id: str | None = None) -> Response:
    require_admin(context, f"{_RULE}:update")
    qos_specs.disassociate(session, qos_specs.find(session, specs_id), vol_type_id)
    return accepted()


@router.get("/{specs_id}/disassociate_all")
def disassociate_all(specs_id: str, context: ContextDep, session: SessionDep) -> Response:
    require_admin(context, f"{_RULE}:update")
    qos_specs.disassociate_all(session, qos_specs.find(session, specs_id))
    return accepted()
