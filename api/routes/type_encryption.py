"""``/v3/{project_id}/types/{type_id}/encryption``: a volume type's encryption (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.responses import JSONResponse, accepted
from api.services import type_encryption, volume_types
from api.validation import entity, read_body
from api.views.volumes import iso
from db.models import Encryption

router = APIRouter(prefix="/v3/{project_id}/types/{type_id}/encryption",
                   tags=["volume type encryption"])
BodyDep = Annotated[Any, Depends(read_body)]


def _view(row: Encryption) -> dict[str, Any]:
    """Cinder's row as it shows it, soft-delete columns included (never deleted here)."""
    return {"volume_type_id": row.volume_type_id, "control_location": row.control_location,
            "deleted": False, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at), "encryption_id": row.encryption_id,
            "key_size": row.key_size, "provider": row.provider, "deleted_at": None,
            "cipher": row.cipher}


@router.get("")
def show_encryption(type_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    """The type's specification, or ``{}`` when its volumes are not encrypted."""
    volume_types.find(session, context, type_id)
    row = type_encryption.get(session, type_id)
    return JSONResponse(_view(row) if row is not None else {})


@router.get("/{spec}")
def show_encryption_item(type_id: str, spec: str, context: ContextDep,
                         session: SessionDep) -> JSONResponse:
    volume_types.find(session, context, type_id)
    row = type_encryption.find(session, type_id)
    view = _view(row)
    if spec not in view:
        raise type_encryption.not_found(type_id)
    return JSONResponse({spec: view[spec]})


@router.post("")
def create_encryption(type_id: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
    spec = entity(body, "encryption")
    row = volume_types.find(session, context, type_id)
    return JSONResponse({"encryption": type_encryption.create(session, row, spec)})


@router.put("/{encryption_id}")
def update_encryption(type_id: str, encryption_id: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
    spec = entity(body, "encryption")
    row = volume_types.find(session, context, type_id)
    return JSONResponse({"encryption": type_encryption.update(session, row, spec)})


@router.delete("/{encryption_id}", status_code=202)
def delete_encryption(type_id: str, encryption_id: str, context: ContextDep,
                      session: SessionDep) -> Response:
    type_encryption.delete(session, type_id)
    return accepted()
