"""``/v3/{project_id}/os-quota-sets/{target}`` and ``/v3/{project_id}/limits``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from api.deps import ConfigDep, ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import quotas
from api.validation import boolean, read_body

router = APIRouter(prefix="/v3/{project_id}", tags=["quotas"])


@router.get("/os-quota-sets/{target}")
def show_quota_set(target: str, context: ContextDep, session: SessionDep, conf: ConfigDep,
                   usage: str = "false") -> JSONResponse:
    """Limits of ``target``; with ``usage=True`` also what it holds and has reserved."""
    quotas.check_target(context, target)
    if boolean(usage, "usage"):
        return JSONResponse({"quota_set": quotas.quota_usage_set(session, conf, target)})
    return JSONResponse({"quota_set": quotas.quota_set(session, conf, target)})


@router.get("/os-quota-sets/{target}/defaults")
def show_quota_defaults(target: str, context: ContextDep, session: SessionDep,
                        conf: ConfigDep) -> JSONResponse:
    quotas.check_target(context, target)
    return JSONResponse({"quota_set": quotas.default_set(session, conf, target)})


@router.put("/os-quota-sets/{target}")
def update_quota_set(target: str, body: Annotated[Any, Depends(read_body)],
                     context: ContextDep, session: SessionDep, conf: ConfigDep
                     ) -> JSONResponse:
    require_admin(context, "volume_extension:quotas:update")
    return JSONResponse({"quota_set": quotas.update(session, conf, target, body)})


@router.delete("/os-quota-sets/{target}")
def reset_quota_set(target: str, context: ContextDep, session: SessionDep) -> Response:
    require_admin(context, "volume_extension:quotas:delete")
    quotas.reset(session, target)
    return Response(status_code=200, media_type="application/json")


@router.get("/limits")
def show_limits(context: ContextDep, session: SessionDep, conf: ConfigDep,
                target_project: Annotated[str | None, Query(alias="project_id")] = None
                ) -> JSONResponse:
    """Absolute limits and usage of the caller's project (from 3.39 an admin may name
    another with ``?project_id=``); no rate limits."""
    target = context.project_id
    if target_project and context.is_admin and context.microversion.at_least(
            "limits_project_filter"):
        target = target_project
    return JSONResponse({"limits": {
        "rate": [], "absolute": quotas.absolute_limits(session, conf, target)}})
