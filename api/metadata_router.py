"""The metadata sub-resource every owner (volume, snapshot) serves the same way.

``metadata_router`` builds ``GET/POST/PUT .../metadata`` and ``GET/PUT/DELETE
.../metadata/{key}`` for one owner, so the two resources cannot drift apart.
Annotations here are evaluated eagerly (no ``from __future__ import annotations``)
because the handlers' id parameter type is built per owner inside the factory.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import ContextDep, RequestContext, SessionDep
from api.errors import BadRequest, NotFound, PreconditionFailed
from api.responses import JSONResponse
from api.services.metadata import merge, replace
from api.validation import metadata, read_body

__all__ = ["Owner", "metadata_router"]

BodyDep = Annotated[Any, Depends(read_body)]


@dataclass(frozen=True)
class Owner:
    """How to find the owner row and reach its metadata items.

    ``etag`` turns on 3.15's ETag/If-Match, which Cinder gives volume metadata only.
    """

    noun: str
    param: str
    find: Callable[[Session, RequestContext, str], Any]
    items: Callable[[Any], list[Any]]
    make: Callable[..., Any]
    etag: bool


def _body_dict(body: Any, key: str) -> dict[str, str]:
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"'{key}' is a required property")
    return metadata(body[key], key)


def _etag(meta: dict[str, str]) -> str:
    return hashlib.md5(orjson.dumps(meta, option=orjson.OPT_SORT_KEYS),
                       usedforsecurity=False).hexdigest()


def _as_dict(items: list[Any]) -> dict[str, str]:
    return {item.key: item.value for item in items}


def metadata_router(prefix: str, tags: list[str], owner: Owner) -> APIRouter:
    """``prefix`` ends in the owner's id parameter, ``{<owner.param>}``."""
    router = APIRouter(prefix=f"{prefix}/metadata", tags=tags)
    uses_etag = owner.etag
    OwnerId = Annotated[str, Path(alias=owner.param)]  # noqa: N806

    def check_if_match(request: Request, context: RequestContext, row: Any) -> None:
        """From 3.15 a writer may send the ETag it read; a changed list is refused (412)
        instead of silently overwriting someone else's update."""
        expected = request.headers.get("if-match")
        if (not uses_etag or expected is None
                or not context.microversion.at_least("metadata_etag")):
            return
        if expected.strip('"') != _etag(_as_dict(owner.items(row))):
            raise PreconditionFailed(f"The {owner.noun.lower()} metadata changed since it "
                                     "was read (If-Match does not match its ETag).")

    def answer(context: RequestContext, meta: dict[str, str]) -> JSONResponse:
        response = JSONResponse({"metadata": meta})
        if uses_etag and context.microversion.at_least("metadata_etag"):
            response.headers["ETag"] = _etag(meta)
        return response

    def item_of(row: Any, key: str) -> Any:
        for item in owner.items(row):
            if item.key == key:
                return item
        raise NotFound(f"{owner.noun} {row.id} has no metadata with key {key}.")

    @router.get("")
    def show_metadata(owner_id: OwnerId, context: ContextDep, session: SessionDep) -> JSONResponse:
        return answer(context, _as_dict(owner.items(owner.find(session, context, owner_id))))

    def write(owner_id: str, body: Any, request: Request, context: RequestContext,
              session: Session, operation: Callable[..., None]) -> JSONResponse:
        wanted = _body_dict(body, "metadata")
        row = owner.find(session, context, owner_id)
        check_if_match(request, context, row)
        operation(session, owner.items(row), owner.make, wanted)
        session.commit()
        return answer(context, _as_dict(owner.items(row)))

    @router.post("")
    def add_metadata(owner_id: OwnerId, body: BodyDep, request: Request, context: ContextDep,
                     session: SessionDep) -> JSONResponse:
        """Add or overwrite the given keys; other keys stay."""
        return write(owner_id, body, request, context, session, merge)

    @router.put("")
    def replace_metadata(owner_id: OwnerId, body: BodyDep, request: Request,
                         context: ContextDep, session: SessionDep) -> JSONResponse:
        """Make the metadata exactly the given keys."""
        return write(owner_id, body, request, context, session, replace)

    @router.get("/{key}")
    def show_metadata_item(owner_id: OwnerId, key: str, context: ContextDep,
                           session: SessionDep) -> JSONResponse:
        item = item_of(owner.find(session, context, owner_id), key)
        return JSONResponse({"meta": {item.key: item.value}})

    @router.put("/{key}")
    def set_metadata_item(owner_id: OwnerId, key: str, body: BodyDep, context: ContextDep,
                          session: SessionDep) -> JSONResponse:
        wanted = _body_dict(body, "meta")
        if key not in wanted:
            raise BadRequest("Request body and URI mismatch")
        if len(wanted) > 1:
            raise BadRequest("Request body contains too many items")
        row = owner.find(session, context, owner_id)
        merge(session, owner.items(row), owner.make, wanted)
        session.commit()
        return JSONResponse({"meta": wanted})

    @router.delete("/{key}")
    def delete_metadata_item(owner_id: OwnerId, key: str, context: ContextDep,
                             session: SessionDep) -> Response:
        row = owner.find(session, context, owner_id)
        owner.items(row).remove(item_of(row, key))
        session.commit()
        return Response(status_code=200, media_type="application/json")

    return router
