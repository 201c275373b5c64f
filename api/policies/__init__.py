"""Who may do what: Cinder's policy rules, overridable by an operator's policy file.

Every project request passes ``enforce_request`` (the route's rule, see
``routes.py``); handlers call ``enforce(context, rule, target)`` for decisions that
depend on the body or the resource. The API calls ``configure(policy_file)`` once at
start-up; until then the defaults apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request

from api.policies.enforcer import Caller, Enforcer, PolicyFileError, PolicyNotAuthorized
from api.policies.routes import enforce_route

__all__ = ["enforce", "enforce_request", "allows", "configure", "Enforcer",
           "PolicyNotAuthorized", "PolicyFileError"]

_enforcer = Enforcer()


def configure(policy_file: str | Path | None) -> Enforcer:
    """Load the operator's overrides (raises PolicyFileError) and use them from now on."""
    global _enforcer
    _enforcer = Enforcer.from_file(policy_file)
    return _enforcer


def enforce(context: Caller, rule: str, target: Mapping[str, Any] | None = None) -> None:
    """Raises PolicyNotAuthorized (403 ``forbidden``) unless ``rule`` allows it."""
    _enforcer.enforce(context, rule, target)


def allows(context: Caller, rule: str, target: Mapping[str, Any] | None = None) -> bool:
    """For choices that are not refusals, e.g. whether to show an admin-only field."""
    return _enforcer.allows(context, rule, target)


def enforce_request(context: Caller, request: Request) -> None:
    """Raises PolicyNotAuthorized unless ``context`` may use the route ``request`` hit."""
    route = request.scope.get("route")
    enforce_route(_enforcer, context, request.method,
                  getattr(route, "path", request.url.path), request.path_params)
