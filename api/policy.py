"""Who may do what: the few admin-only rules Cinder's default policy has, in one place."""

from __future__ import annotations

from api.deps import RequestContext
from api.errors import Forbidden

__all__ = ["require_admin"]


def require_admin(context: RequestContext, rule: str) -> None:
    """Refuse non-admins with Cinder's policy message naming ``rule``."""
    if not context.is_admin:
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
