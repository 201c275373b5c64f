"""Cinder's error bodies, and the exceptions services raise to produce them.

Every error leaves the API as ``{"<kind>": {"code": N, "message": "..."}}``, the
shape OpenStack clients parse; routes and services raise these exceptions and
never build error responses themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.responses import JSONResponse

__all__ = [
    "ApiError", "BadRequest", "NotFound", "Forbidden", "Conflict", "OverLimit",
    "PreconditionFailed",
    "NotAcceptable", "ServiceUnavailable", "NoAuthHandshake", "install_handlers",
    "error_response", "route_not_found",
]


class ApiError(Exception):
    """An error with a status code, a Cinder body key and a user-facing message."""

    status = 500
    kind = "computeFault"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {self.kind: {"code": self.status, "message": self.message}}

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError):
    status = 400
    kind = "badRequest"


class Forbidden(ApiError):
    status = 403
    kind = "forbidden"


class NotFound(ApiError):
    status = 404
    kind = "itemNotFound"


class Conflict(ApiError):
    status = 409
    kind = "conflictingRequest"


class PreconditionFailed(ApiError):
    """An If-Match that no longer matches; Cinder keys unnamed statuses computeFault."""

    status = 412
    kind = "computeFault"


class OverLimit(ApiError):
    """Quota exceeded: Cinder answers 413 and tells the client not to retry soon."""

    status = 413
    kind = "overLimit"

    def body(self) -> dict[str, Any]:
        body = super().body()
        body[self.kind]["retryAfter"] = "0"
        return body

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "0"}


class NotAcceptable(ApiError):
    """A microversion outside the served range; Cinder keys this body computeFault."""

    status = 406
    kind = "computeFault"


class ServiceUnavailable(ApiError):
    status = 503
    kind = "serviceUnavailable"


class NoAuthHandshake(Exception):
    """A noauth request without a token: Cinder hands out a token instead of serving."""

    def __init__(self, token: str, management_url: str) -> None:
        super().__init__(token)
        self.token = token
        self.management_url = management_url


# The body the routing layer gives for paths no controller serves (samples 79-81).
_NOT_FOUND_BODY = {
    "message": "The resource could not be found.<br /><br />\n\n\n",
    "code": "404 Not Found",
    "title": "Not Found",
}
_METHOD_NOT_ALLOWED_BODY = {
    "message": "The method is not allowed for the requested URL.<br /><br />\n\n\n",
    "code": "405 Method Not Allowed",
    "title": "Method Not Allowed",
}


def error_response(exc: ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


def route_not_found(request: Request) -> Response:
    """The routing layer's 404, which Cinder sends without microversion headers."""
    request.state.bare_response = True
    return JSONResponse(_NOT_FOUND_BODY, status_code=404)


def _describe_validation(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = location[-1] if location else "request"
    if first.get("type") == "json_invalid":
        return "Malformed request body"
    return f"Invalid input for field/attribute {field}. {first.get('msg', 'invalid value')}"


async def _api_error(_: Request, exc: ApiError) -> Response:
    return error_response(exc)


async def _validation_error(_: Request, exc: RequestValidationError) -> Response:
    return error_response(BadRequest(_describe_validation(exc)))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        return route_not_found(request)
    if exc.status_code == 405:
        return JSONResponse(_METHOD_NOT_ALLOWED_BODY, status_code=405,
                              headers=dict(exc.headers or {}))
    kind = {400: BadRequest, 403: Forbidden, 409: Conflict}.get(exc.status_code, ApiError)
    error = kind(str(exc.detail))
    error.status = exc.status_code
    return error_response(error)


async def _noauth_handshake(request: Request, exc: NoAuthHandshake) -> Response:
    request.state.bare_response = True
    return Response(status_code=204, media_type="text/plain", headers={
        "X-Auth-Token": exc.token, "X-Server-Management-Url": exc.management_url})


def install_handlers(app: FastAPI) -> None:
    """Route every error FastAPI or a service raises into Cinder's body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NoAuthHandshake, _noauth_handshake)
