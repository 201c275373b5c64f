"""Quota sets and limits: what a project may hold and what it holds, from ``db.quota``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, Forbidden
from api.validation import DB_MAX_INT
from common.config import Config
from db import quota
from db.models import Quota

__all__ = ["check_target", "quota_set", "quota_usage_set", "default_set", "update", "reset",
           "absolute_limits", "class_set", "update_class"]

_LIMIT_NAMES = (
    ("maxTotalVolumes", "volumes"), ("maxTotalSnapshots", "snapshots"),
    ("maxTotalVolumeGigabytes", "gigabytes"), ("maxTotalBackups", "backups"),
    ("maxTotalBackupGigabytes", "backup_gigabytes"),
)
_USED_NAMES = (
    ("totalVolumesUsed", "volumes"), ("totalGigabytesUsed", "gigabytes"),
    ("totalSnapshotsUsed", "snapshots"), ("totalBackupsUsed", "backups"),
    ("totalBackupGigabytesUsed", "backup_gigabytes"),
)


def check_target(context: RequestContext, target: str) -> None:
    """Members see their own project's quota only; admins any project's."""
    if not context.is_admin and target != context.project_id:
        raise Forbidden("Policy doesn't allow volume_extension:quotas:show to be performed.")


def quota_set(session: Session, conf: Config, target: str) -> dict[str, Any]:
    return {**quota.limits(session, conf.default, target), "id": target}


def quota_usage_set(session: Session, conf: Config, target: str) -> dict[str, Any]:
    used = quota.usages(session, target)
    body: dict[str, Any] = {}
    for resource, limit in quota.limits(session, conf.default, target).items():
        usage = used.get(resource, quota.Usage(0, 0))
        body[resource] = {"limit": limit, "in_use": usage.in_use, "reserved": usage.reserved}
    body["id"] = target
    return body


def default_set(session: Session, conf: Config, target: str) -> dict[str, Any]:
    return {**quota.default_limits(session, conf.default), "id": target}


def _limit(resource: str, value: Any) -> int:
    if isinstance(value, bool):
        value = None
    try:
        limit = int(value) if isinstance(value, (int, str)) else None
    except ValueError:
        limit = None
    if limit is None or limit < quota.UNLIMITED or limit > DB_MAX_INT:
        raise BadRequest(f"Invalid input received: Quota limit for {resource} must be an "
                         f"integer from -1 to {DB_MAX_INT}, not {value!r}.")
    return limit


def _checked_limits(session: Session, body: Any, key: str) -> dict[str, int]:
    """The resource -> limit pairs of a request body's ``quota_set``/``quota_class_set``."""
    wanted = body.get(key) if isinstance(body, dict) else None
    if not isinstance(wanted, dict) or not wanted:
        raise BadRequest(f"Missing required element '{key}' in request body.")
    known = quota.resource_names(session)
    bad = sorted(set(wanted) - set(known) - {"id"})
    if bad:
        raise BadRequest(f"Bad key(s): {', '.join(bad)} in {key}")
    return {resource: _limit(resource, value) for resource, value in wanted.items()
            if resource != "id"}


def update(session: Session, conf: Config, target: str, body: Any) -> dict[str, int]:
    """Set the limits of a request body for ``target``; a limit below what is held is
    refused."""
    limits = _checked_limits(session, body, "quota_set")
    used = quota.usages(session, target)
    for resource, limit in limits.items():
        usage = used.get(resource, quota.Usage(0, 0))
        held = usage.in_use + usage.reserved
        if limit != quota.UNLIMITED and limit < held:
            raise BadRequest(f"Invalid input received: Quota limit {limit} for {resource} "
                             f"must be greater than or equal to already used and reserved "
                             f"{held}.")
        quota.set_project_limit(session, target, resource, limit)
    session.commit()
    return quota.limits(session, conf.default, target)


def class_set(session: Session, conf: Config, class_name: str) -> dict[str, Any]:
    """A quota class's limits: its rows over the configured defaults."""
    return {**quota.default_limits(session, conf.default, class_name), "id": class_name}


def update_class(session: Session, conf: Config, class_name: str, body: Any
                 ) -> dict[str, int]:
    """Set the limits of a request body for a class; ``default`` is the class every
    project falls back to. The body is checked before the name, as Cinder validates
    its schema before the method runs."""
    limits = _checked_limits(session, body, "quota_class_set")
    if not 1 <= len(class_name) <= 255:
        raise BadRequest("Invalid input received: quota_class_name must be 1 to 255 "
                         "characters.")
    for resource, limit in limits.items():
        quota.set_class_limit(session, class_name, resource, limit)
    session.commit()
    return quota.default_limits(session, conf.default, class_name)


def reset(session: Session, target: str) -> None:
    """Back to the defaults: drop every override of ``target``."""
    session.execute(delete(Quota).where(Quota.project_id == target))
    session.commit()


def absolute_limits(session: Session, conf: Config, project_id: str) -> dict[str, int]:
    limits = quota.limits(session, conf.default, project_id)
    used = quota.usages(session, project_id)
    body = {name: limits[resource] for name, resource in _LIMIT_NAMES}
    body.update({name: used.get(resource, quota.Usage(0, 0)).in_use
                 for name, resource in _USED_NAMES})
    return body
