"""``os-availability-zone``: zones volumes may be created in."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConfigDep, ContextDep, SessionDep
from api.responses import JSONResponse
from api.services.zones import list_zones

router = APIRouter(prefix="/v3/{project_id}/os-availability-zone", tags=["zones"])


@router.get("")
def list_availability_zones(_context: ContextDep, session: SessionDep,
                            conf: ConfigDep) -> JSONResponse:
    zones = list_zones(session, conf)
    return JSONResponse({"availabilityZoneInfo": [
        {"zoneName": name, "zoneState": {"available": up}} for name, up in zones.items()]})
