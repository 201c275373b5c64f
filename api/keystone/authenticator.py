"""The API's ``Authenticator`` for ``auth_strategy = keystone``."""

from __future__ import annotations

from starlette.requests import Request

from api.auth import Identity
from api.keystone.validator import TokenValidator
from common.config import Config

__all__ = ["KeystoneAuth"]


class KeystoneAuth:
    """Trusts only what Keystone says of the request's ``X-Auth-Token``.

    Headers a client could forge (``X-Roles``, ``X-Project-Id``) are ignored: roles and
    project come from the validated token alone.
    """

    def __init__(self, validator: TokenValidator) -> None:
        self.validator = validator

    @classmethod
    def from_config(cls, conf: Config) -> KeystoneAuth:
        return cls(TokenValidator.from_config(conf.keystone))

    def __call__(self, request: Request) -> Identity:
        token = self.validator.validate(request.headers.get("x-auth-token"))
        return Identity(token.user_id, token.project_id, token.roles)
