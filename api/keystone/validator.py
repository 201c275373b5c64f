"""From a request's ``X-Auth-Token`` to a proven identity, or a 401 that says where to log in."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from api.errors import ApiError
from api.keystone.cache import TokenCache
from api.keystone.client import KeystoneClient, TokenIdentity, TokenSource

__all__ = ["Unauthorized", "TokenValidator", "EXPIRY_MARGIN"]

# A cached token is dropped this many seconds before Keystone's expiry, so a request
# never passes on a token that dies while it is being served.
EXPIRY_MARGIN = 30.0


class Unauthorized(ApiError):
    """Missing, invalid or expired token, in the body and header keystonemiddleware sends."""

    status = 401
    kind = "error"

    def __init__(self, www_authenticate_uri: str) -> None:
        super().__init__("The request you have made requires authentication.")
        self.www_authenticate_uri = www_authenticate_uri

    def body(self) -> dict[str, Any]:
        return {"error": {"code": 401, "title": "Unauthorized", "message": self.message}}

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Keystone uri="{self.www_authenticate_uri}"'}


class TokenValidator:
    """Validates tokens through ``source``, remembering valid ones.

    A valid token is trusted for ``cache_time`` seconds at most (0: ask Keystone every
    time), and never past ``EXPIRY_MARGIN`` before it expires. A revoked token is
    therefore honoured until its entry runs out, as with keystonemiddleware; operators
    who cannot accept that lower ``token_cache_time``. Invalid tokens are not cached:
    a token Keystone rejected never becomes valid, so a retry costs only a call.
    """

    def __init__(self, source: TokenSource, www_authenticate_uri: str, cache_time: float,
                 cache: TokenCache[TokenIdentity] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.www_authenticate_uri = www_authenticate_uri
        self.cache_time = cache_time
        self.clock = clock
        self.cache = cache if cache is not None else TokenCache(clock=clock)

    @classmethod
    def from_config(cls, keystone_conf: Any) -> TokenValidator:
        """The validator for ``[keystone_authtoken]``; clients are sent to
        ``www_authenticate_uri`` (old name ``auth_uri``), else to ``auth_url``."""
        return cls(KeystoneClient(keystone_conf),
                   keystone_conf.www_authenticate_uri or keystone_conf.auth_url,
                   keystone_conf.token_cache_time)

    def validate(self, token: str | None) -> TokenIdentity:
        """The identity behind ``token``; raises Unauthorized (401) or ServiceUnavailable."""
        if not token:
            raise Unauthorized(self.www_authenticate_uri)
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        identity = self.source.validate(token)
        if identity is None:
            raise Unauthorized(self.www_authenticate_uri)
        now = self.clock()
        deadline = min(now + self.cache_time,
                       identity.expires_at.timestamp() - EXPIRY_MARGIN)
        self.cache.put(token, identity, deadline)
        return identity
