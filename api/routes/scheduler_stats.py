"""``/v3/{project_id}/scheduler-stats/get_pools`` (admin): the pools volumes may land on."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConfigDep, ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import pools
from api.validation import boolean

router = APIRouter(prefix="/v3/{project_id}/scheduler-stats", tags=["scheduler stats"])


@router.get("/get_pools")
def get_pools(context: ContextDep, session: SessionDep, conf: ConfigDep,
              detail: str = "false", name: str | None = None) -> JSONResponse:
    """Names only, or with ``detail=true`` each pool's capabilities; ``name`` from 3.28."""
    require_admin(context, "scheduler_extension:scheduler_stats:get_pools")
    wanted = name if context.microversion.at_least("pool_name_filter") else None
    found = pools.list_pools(session, conf, wanted)
    if not boolean(detail, "detail"):
        found = [{"name": pool["name"]} for pool in found]
    return JSONResponse({"pools": found})
