"""``/v3/{project_id}/os-hosts`` (admin): services by host, and one host's usage."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConfigDep, ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import hosts

router = APIRouter(prefix="/v3/{project_id}/os-hosts", tags=["hosts"])


@router.get("")
def list_hosts(context: ContextDep, session: SessionDep, conf: ConfigDep,
               zone: str | None = None, service: str | None = None) -> JSONResponse:
    require_admin(context, "volume_extension:hosts")
    return JSONResponse({"hosts": hosts.list_hosts(session, conf, zone, service)})


@router.get("/{host}")
def show_host(host: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    """Volume and snapshot counts and sizes on ``host`` (``node@backend``), per project."""
    require_admin(context, "volume_extension:hosts")
    return JSONResponse({"host": hosts.host_usage(session, host)})
