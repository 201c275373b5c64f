"""``os-services`` (admin): which binaries run where, up or down; enable and disable."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import ConfigDep, ContextDep, SessionDep
from api.policy import require_admin
from api.responses import JSONResponse
from api.services import services
from api.services.zones import VOLUME_BINARY
from api.validation import read_body
from api.views.services import cinder_binary
from api.views.volumes import iso

router = APIRouter(prefix="/v3/{project_id}/os-services", tags=["services"])


@router.get("")
def list_services(context: ContextDep, session: SessionDep, conf: ConfigDep,
                  host: str | None = None, binary: str | None = None) -> JSONResponse:
    require_admin(context, "volume_extension:services:index")
    version = context.microversion
    items = []
    for row in services.list_services(session, host, binary):
        state = "up" if services.is_up(conf, row) else "down"
        item: dict[str, Any] = {
            "binary": cinder_binary(row.binary), "host": row.host,
            "zone": row.availability_zone or conf.default.storage_availability_zone,
            "status": "disabled" if row.disabled else "enabled", "state": state,
            "updated_at": iso(row.last_seen_at or row.updated_at),
        }
        if row.binary == VOLUME_BINARY and version.at_least("services_backend_state"):
            item["backend_state"] = state
        if version.at_least("services_cluster"):
            item["cluster"] = row.cluster_name
        item["disabled_reason"] = row.disabled_reason
        if row.binary == VOLUME_BINARY:
            item.update({"replication_status": row.replication_status or "disabled",
                         "active_backend_id": row.active_backend_id, "frozen": row.frozen})
        items.append(item)
    return JSONResponse({"services": items})


@router.put("/{action}")
def update_service(action: str, body: Annotated[Any, Depends(read_body)],
                   context: ContextDep, session: SessionDep) -> JSONResponse:
    """``enable``, ``disable`` or ``disable-log-reason`` a service (host and binary)."""
    require_admin(context, "volume_extension:services:update")
    return JSONResponse(services.set_enabled(session, action, body))
