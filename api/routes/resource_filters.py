"""``GET /v3/{project_id}/resource_filters`` (3.33): the filters list calls accept."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ContextDep
from api.errors import NotFound
from api.responses import JSONResponse
from api.services import groups, messages, snapshots
from api.services.volume_query import USER_FILTERS

router = APIRouter(prefix="/v3/{project_id}/resource_filters", tags=["resource filters"])


@router.get("")
def list_resource_filters(context: ContextDep, resource: str | None = None) -> JSONResponse:
    if not context.microversion.at_least("resource_filters"):
        raise NotFound("The resource could not be found.")
    served = {"volume": sorted(USER_FILTERS), "snapshot": sorted(snapshots.USER_FILTERS),
              "message": sorted(messages.USER_FILTERS),
              "group": sorted(groups.GROUPS.user_filters)}
    chosen = {resource: served.get(resource, [])} if resource else served
    return JSONResponse({"resource_filters": [
        {"resource": name, "filters": filters} for name, filters in chosen.items()
        if filters]})
