"""``POST /v3/{project_id}/volumes/{volume_id}/action``: dispatch to the named action."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from api.deps import AgentDep, ConfigDep, ContextDep, SessionDep, VolumeRpcDep
from api.services.volume_actions import ActionContext, perform
from api.validation import read_body

router = APIRouter(prefix="/v3/{project_id}/volumes/{volume_id}", tags=["volume actions"])


@router.post("/action")
def volume_action(volume_id: str, body: Annotated[Any, Depends(read_body)],
                  context: ContextDep, session: SessionDep, conf: ConfigDep,
                  agent: AgentDep, rpc: VolumeRpcDep) -> Response:
    """Extend, set flags, attach and detach, or (admins) reset status and force delete."""
    result = perform(ActionContext(session, context, conf, agent, rpc), volume_id, body)
    if isinstance(result, Response):
        return result
    return Response(status_code=result, media_type="application/json")
