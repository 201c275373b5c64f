"""The admin-only checks handlers make, now decided by the configured policy."""

from __future__ import annotations

from api.deps import RequestContext
from api.policies import enforce

__all__ = ["require_admin"]


def require_admin(context: RequestContext, rule: str) -> None:
    """Refuse callers ``rule`` does not allow (by default: non-admins), with Cinder's
    policy message naming it."""
    enforce(context, rule)
