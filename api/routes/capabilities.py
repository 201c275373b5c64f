"""``/v3/{project_id}/capabilities/{host}`` (admin): what a backend can be asked for."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import pools

router = APIRouter(prefix="/v3/{project_id}/capabilities", tags=["capabilities"])


@router.get("/{host}")
def show_capabilities(host: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    require_admin(context, "volume_extension:capabilities")
    return JSONResponse(pools.capabilities(session, host))
