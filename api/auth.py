"""Who is calling: the identity behind a request, from the configured auth strategy.

Only ``noauth`` exists today (Cinder's: ``X-Auth-Token: user:project``, no check);
Keystone slots in as another ``Authenticator`` returning the same ``Identity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from api.errors import NoAuthHandshake

__all__ = ["Identity", "Authenticator", "NoAuth", "ADMIN_ROLE"]

ADMIN_ROLE = "admin"


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: str
    project_id: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


class Authenticator(Protocol):
    def __call__(self, request: Request) -> Identity:
        """The caller of ``request``; raises an ApiError (or NoAuthHandshake) otherwise."""


def _roles(header: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if header is None:
        return default
    return tuple(role.strip() for role in header.split(",") if role.strip())


class NoAuth:
    """Trusts the token's ``user:project``; roles come from config or ``X-Roles``.

    Without a token Cinder answers 204 with a made-up ``admin:admin`` token and the
    management URL, which old clients use as a login step; we do the same.
    """

    def __init__(self, default_roles: list[str]) -> None:
        self.default_roles = tuple(default_roles)

    def __call__(self, request: Request) -> Identity:
        token = request.headers.get("x-auth-token")
        if token is None:
            user = request.headers.get("x-auth-user", "admin")
            project = request.headers.get("x-auth-project-id", "admin")
            raise NoAuthHandshake(f"{user}:{project}", str(request.base_url) + "v3")
        user, _, project = token.partition(":")
        return Identity(user, project or user,
                        _roles(request.headers.get("x-roles"), self.default_roles))
