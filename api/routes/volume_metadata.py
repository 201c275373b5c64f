"""``/v3/{project_id}/volumes/{volume_id}/metadata``: the user's key/value pairs."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.deps import ContextDep, RequestContext, SessionDep
from api.errors import BadRequest, NotFound, PreconditionFailed
from api.responses import JSONResponse
from api.services import volumes
from api.validation import metadata, read_body
from api.views.volumes import metadata as metadata_dict

router = APIRouter(prefix="/v3/{project_id}/volumes/{volume_id}/metadata",
                   tags=["volume metadata"])
BodyDep = Annotated[Any, Depends(read_body)]


def _body_dict(body: Any, key: str) -> dict[str, str]:
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"'{key}' is a required property")
    return metadata(body[key], key)


def _etag(meta: dict[str, str]) -> str:
    return hashlib.md5(orjson.dumps(meta, option=orjson.OPT_SORT_KEYS),
                       usedforsecurity=False).hexdigest()


def _check_if_match(request: Request, context: RequestContext, row: Any) -> None:
    """From 3.15 a writer may send the ETag it read; a changed list is refused (412)
    instead of silently overwriting someone else's update."""
    expected = request.headers.get("if-match")
    if expected is None or not context.microversion.at_least("metadata_etag"):
        return
    if expected.strip('"') != _etag(metadata_dict(row.volume_metadata)):
        raise PreconditionFailed("The volume metadata changed since it was read "
                                 "(If-Match does not match its ETag).")


def _answer(context: RequestContext, meta: dict[str, str]) -> JSONResponse:
    response = JSONResponse({"metadata": meta})
    if context.microversion.at_least("metadata_etag"):
        response.headers["ETag"] = _etag(meta)
    return response


@router.get("")
def show_metadata(volume_id: str, context: ContextDep, session: SessionDep) -> JSONResponse:
    row = volumes.find(session, context, volume_id)
    return _answer(context, metadata_dict(row.volume_metadata))


@router.post("")
def add_metadata(volume_id: str, body: BodyDep, request: Request, context: ContextDep,
                 session: SessionDep) -> JSONResponse:
    """Add or overwrite the given keys; other keys stay."""
    wanted = _body_dict(body, "metadata")
    row = volumes.find(session, context, volume_id)
    _check_if_match(request, context, row)
    volumes.merge_metadata(session, row, wanted)
    session.commit()
    return _answer(context, metadata_dict(row.volume_metadata))


@router.put("")
def replace_metadata(volume_id: str, body: BodyDep, request: Request, context: ContextDep,
                     session: SessionDep) -> JSONResponse:
    """Make the metadata exactly the given keys."""
    wanted = _body_dict(body, "metadata")
    row = volumes.find(session, context, volume_id)
    _check_if_match(request, context, row)
    volumes.replace_metadata(session, row, wanted)
    session.commit()
    return _answer(context, metadata_dict(row.volume_metadata))


def _item(row: Any, key: str) -> Any:
    for item in row.volume_metadata:
        if item.key == key:
            return item
    raise NotFound(f"Volume {row.id} has no metadata with key {key}.")


@router.get("/{key}")
def show_metadata_item(volume_id: str, key: str, context: ContextDep,
                       session: SessionDep) -> JSONResponse:
    item = _item(volumes.find(session, context, volume_id), key)
    return JSONResponse({"meta": {item.key: item.value}})


@router.put("/{key}")
def set_metadata_item(volume_id: str, key: str, body: BodyDep, context: ContextDep,
                      session: SessionDep) -> JSONResponse:
    wanted = _body_dict(body, "meta")
    if key not in wanted:
        raise BadRequest("Request body and URI mismatch")
    if len(wanted) > 1:
        raise BadRequest("Request body contains too many items")
    row = volumes.find(session, context, volume_id)
    volumes.merge_metadata(session, row, wanted)
    session.commit()
    return JSONResponse({"meta": wanted})


@router.delete("/{key}")
def delete_metadata_item(volume_id: str, key: str, context: ContextDep,
                         session: SessionDep) -> Response:
    row = volumes.find(session, context, volume_id)
    row.volume_metadata.remove(_item(row, key))
    session.commit()
    return Response(status_code=200, media_type="application/json")
