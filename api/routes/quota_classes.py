"""``/v3/{project_id}/os-quota-class-sets/{class_name}`` (admin): limits of a quota class."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import ConfigDep, ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import quotas
from api.validation import read_body

router = APIRouter(prefix="/v3/{project_id}/os-quota-class-sets", tags=["quota classes"])


@router.get("/{class_name}")
def show_quota_class(class_name: str, context: ContextDep, session: SessionDep,
                     conf: ConfigDep) -> JSONResponse:
    require_admin(context, "volume_extension:quota_classes")
    return JSONResponse({"quota_class_set": quotas.class_set(session, conf, class_name)})


@router.put("/{class_name}")
def update_quota_class(class_name: str, body: Annotated[Any, Depends(read_body)],
                       context: ContextDep, session: SessionDep, conf: ConfigDep
                       ) -> JSONResponse:
    require_admin(context, "volume_extension:quota_classes:update")
    return JSONResponse({"quota_class_set": quotas.update_class(session, conf, class_name,
                                                                body)})
