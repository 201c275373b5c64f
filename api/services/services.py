"""``os-services``: the services table as heartbeats keep it, and admins' enable/disable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from api.errors import BadRequest, NotFound
from api.validation import optional_text
from api.views.services import cinder_binary, stored_binary
from common.config import Config
from db.models import Service, utcnow

__all__ = ["list_services", "is_up", "set_enabled"]


def is_up(conf: Config, row: Service) -> bool:
    """Up when the controller *received* a heartbeat within service_down_time; the
    agent's clock plays no part, so skew cannot mark a live service down."""
    if row.last_seen_at is None:
        return False
    return utcnow() - row.last_seen_at <= timedelta(seconds=conf.default.service_down_time)


def _on_host(host: str) -> ColumnElement[bool]:
    """Cinder's host filter: ``node`` finds the node's scheduler and its ``node@backend``
    volume services; ``node@backend`` finds that backend only."""
    if "@" in host:
        return Service.host == host
    return or_(Service.host == host, Service.host.startswith(f"{host}@", autoescape=True))


def list_services(session: Session, host: str | None, binary: str | None) -> list[Service]:
    """``binary`` by Cinder's name or the executable's."""
    statement = select(Service).order_by(Service.binary.desc(), Service.host)
    if host:
        statement = statement.where(_on_host(host))
    if binary:
        statement = statement.where(Service.binary == stored_binary(binary))
    return list(session.scalars(statement))


def _target(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get("host"), str) \
            or not isinstance(body.get("binary"), str):
        raise BadRequest("Missing required element 'host' or 'binary' in request body.")
    return body["host"], body["binary"]


def set_enabled(session: Session, action: str, body: Any) -> dict[str, Any]:
    """``enable``, ``disable`` or ``disable-log-reason`` one service (``binary`` in either
    spelling); the response body, which names it as Cinder does."""
    host, given = _target(body)
    binary = stored_binary(given)
    row = session.scalars(select(Service).where(Service.host == host,
                                                Service.binary == binary)).one_or_none()
    if row is None:
        raise NotFound(f"Service {given} on host {host} could not be found.")
    result: dict[str, Any] = {"host": host, "binary": cinder_binary(binary)}
    if action == "enable":
        row.disabled, row.disabled_reason = False, None
    elif action == "disable":
        row.disabled = True
    elif action == "disable-log-reason":
        reason = optional_text(body.get("disabled_reason"), "disabled_reason")
        if not reason:
            raise BadRequest("Disabled reason contains invalid characters or is too long")
        row.disabled, row.disabled_reason = True, reason
        result["disabled_reason"] = reason
    else:
        raise NotFound(f"Unknown action {action}.")
    session.commit()
    result.update({"status": "disabled" if row.disabled else "enabled",
                   "disabled": row.disabled})
    return result
