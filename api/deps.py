"""Typed dependencies every route takes: the request context, a DB session, the RPC clients.

The context is built in one place (``get_context``) from the configured
authenticator, so swapping noauth for Keystone touches nothing else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from api.errors import BadRequest
from api.microversions import Version
from api.policies import allows, enforce_request
from api.services.agent_client import AgentClient
from api.services.scheduler_client import SchedulerClient
from api.services.volume_rpc import VolumeRpc
from common.config import Config

__all__ = [
    "RequestContext", "ContextDep", "SessionDep", "ConfigDep", "SchedulerDep", "AgentDep",
    "CallerDep", "get_context", "get_caller", "get_session", "get_config", "get_scheduler",
    "get_agent", "VolumeRpcDep", "get_volume_rpc",
]

LOG = logging.getLogger(__name__)
# Cinder routes only hex (and dashed) project ids; anything else is an unknown path.
_PROJECT_ID = re.compile(r"^[0-9a-fA-F-]+$")


@dataclass(frozen=True, slots=True)
class RequestContext:
    user_id: str
    project_id: str
    roles: tuple[str, ...]
    is_admin: bool
    microversion: Version
    request_id: str
    base_url: str

    def can_access(self, project_id: str) -> bool:
        return self.is_admin or project_id == self.project_id


def _context(request: Request) -> RequestContext:
    identity = request.app.state.authenticate(request)
    return RequestContext(
        user_id=identity.user_id, project_id=identity.project_id, roles=identity.roles,
        is_admin=allows(identity, "context_is_admin"), microversion=request.state.microversion,
        request_id=request.state.request_id, base_url=str(request.base_url).rstrip("/"))


def get_context(request: Request, project_id: str) -> RequestContext:
    """The caller, who must be asking about their own project (the URL's) and be
    allowed the route by policy."""
    if not _PROJECT_ID.match(project_id):
        raise HTTPException(status_code=404)
    context = _context(request)
    if project_id != context.project_id:
        raise BadRequest("Malformed request url")
    enforce_request(context, request)
    return context


def get_caller(request: Request) -> RequestContext:
    """The caller of a path without a project (the version documents)."""
    return _context(request)


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessions()
    try:
        yield session
    finally:
        try:
            session.close()
        except DBAPIError as exc:
            # The database went away after the work was done (e.g. restarted right after
            # a commit): the server has rolled back whatever was open and the pool drops
            # the connection, so the answer already sent must not become a dropped one.
            LOG.warning("database connection lost while closing a session: %s", exc)


def get_config(request: Request) -> Config:
    return request.app.state.conf


def get_scheduler(request: Request) -> SchedulerClient:
    return request.app.state.scheduler


def get_agent(request: Request) -> AgentClient:
    return request.app.state.agent


def get_volume_rpc(request: Request) -> VolumeRpc:
    return request.app.state.volume_rpc


ContextDep = Annotated[RequestContext, Depends(get_context)]
CallerDep = Annotated[RequestContext, Depends(get_caller)]
SessionDep = Annotated[Session, Depends(get_session)]
ConfigDep = Annotated[Config, Depends(get_config)]
SchedulerDep = Annotated[SchedulerClient, Depends(get_scheduler)]
AgentDep = Annotated[AgentClient, Depends(get_agent)]
VolumeRpcDep = Annotated[VolumeRpc, Depends(get_volume_rpc)]
