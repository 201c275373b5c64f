"""Builds the API application from a Config: routers, error handlers, middleware."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api import policies
from api.auth import Authenticator, NoAuth
from api.errors import install_handlers
from api.keystone.authenticator import KeystoneAuth
from api.middleware import ApiMiddleware
from api.responses import JSONResponse
from api.routes import (
    attachments,
    availability_zones,
    capabilities,
    default_types,
    extensions,
    group_snapshots,
    group_types,
    groups,
    health,
    hosts,
    messages,
    os_volume_transfer,
    qos_specs,
    quota_classes,
    quotas,
    resource_filters,
    scheduler_stats,
    services,
    snapshot_metadata,
    snapshots,
    type_encryption,
    types,
    versions,
    volume_actions,
    volume_metadata,
    volume_transfers,
    volumes,
)
from api.services import (
    attachment_actions,  # noqa: F401  (registers the legacy actions)
    migration,  # noqa: F401  (registers os-migrate_volume)
    retype,  # noqa: F401  (registers os-retype)
)
from api.services.agent_client import AgentClient
from api.services.scheduler_client import Caster, SchedulerClient
from api.services.volume_rpc import VolumeRpc
from common.config import Config
from common.messaging import Transport
from db.session import make_engine, make_session_factory

__all__ = ["create_app", "PROJECT_PREFIX"]

PROJECT_PREFIX = "/v3/{project_id}"


def _authenticator(conf: Config) -> Authenticator:
    if conf.default.auth_strategy == "keystone":
        return KeystoneAuth.from_config(conf)
    return NoAuth(conf.default.noauth_roles)


def create_app(conf: Config, *, transport: Caster | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """The ASGI app for ``conf``.

    ``transport`` carries casts to the scheduler and agents (default: RabbitMQ from
    ``conf``); ``sessions`` overrides the engine built from ``[database] connection``.
    """
    # No slash redirects: Cinder answers 404 for ``/volumes/`` (an empty id), not the list;
    # the version documents at ``/`` and ``/v3/`` are routes of their own.
    app = FastAPI(title="cinderblock", docs_url=None, redoc_url=None, openapi_url=None,
                  default_response_class=JSONResponse, redirect_slashes=False)
    app.state.conf = conf
    app.state.authenticate = _authenticator(conf)
    policies.configure(conf.default.policy_file)
    app.state.sessions = sessions or make_session_factory(make_engine(conf.database))
    if transport is None:
        transport = Transport.from_config(conf)
    app.state.transport = transport
    app.state.scheduler = SchedulerClient(transport)
    app.state.agent = AgentClient(transport)
    app.state.volume_rpc = VolumeRpc(transport, conf.default.rpc_response_timeout)
    install_handlers(app)
    app.add_middleware(ApiMiddleware)
    app.include_router(health.router)
    for module in (versions, volumes, volume_metadata, volume_actions, types,
                   type_encryption, quotas, availability_zones, services, resource_filters,
                   attachments, snapshots, snapshot_metadata, messages, hosts, scheduler_stats,
                   capabilities, quota_classes, extensions, qos_specs,
                   os_volume_transfer, volume_transfers, default_types, group_types,
                   groups, group_snapshots):
        app.include_router(module.router)
    return app
