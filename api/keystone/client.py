"""Asks Keystone whether a user's token is valid, as the service user of cinder.conf.

keystoneauth1 does the service user's side: it logs in with the
``[keystone_authtoken]`` credentials, keeps that token, renews it before it expires
and retries once with a fresh one if Keystone answers 401. We only ask
``GET /v3/auth/tokens`` with the user's token in ``X-Subject-Token``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keystoneauth1 import access, session
from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1.identity import v3

from api.errors import ServiceUnavailable

__all__ = ["TokenIdentity", "TokenSource", "KeystoneClient", "identity_v3_url"]

LOG = logging.getLogger(__name__)

# Seconds to wait for Keystone: a hung Keystone must not pin every API worker thread.
TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """Who a valid token speaks for, and until when."""

    user_id: str
    project_id: str
    roles: tuple[str, ...]
    expires_at: datetime


class TokenSource(Protocol):
    def validate(self, token: str) -> TokenIdentity | None:
        """The token's identity, or None when Keystone says it is not valid (garbage,
        expired, revoked or not scoped to a project). Raises ServiceUnavailable when
        Keystone cannot answer."""


def identity_v3_url(auth_url: str) -> str:
    """Keystone's v3 root from an ``auth_url`` with or without ``/v3``.

    Old install guides give ``http://controller:35357``, new ones ``.../v3``; deriving
    the root avoids a version-discovery round trip on every start.
    """
    url = auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def _unavailable(reason: str) -> ServiceUnavailable:
    LOG.error("cannot validate tokens with Keystone: %s", reason)
    return ServiceUnavailable("The authentication service is unavailable; retry the request.")


class KeystoneClient:
    """The real Keystone behind ``auth_strategy = keystone``."""

    def __init__(self, keystone_conf: Any) -> None:
        if not keystone_conf.auth_url or not keystone_conf.password:
            raise ValueError("[keystone_authtoken] auth_url and password are required "
                             "when auth_strategy = keystone")
        self.url = identity_v3_url(keystone_conf.auth_url)
        plugin = v3.Password(
            auth_url=self.url, username=keystone_conf.username,
            password=keystone_conf.password, project_name=keystone_conf.project_name,
            user_domain_id=keystone_conf.user_domain_id,
            user_domain_name=keystone_conf.user_domain_name,
            project_domain_id=keystone_conf.project_domain_id,
            project_domain_name=keystone_conf.project_domain_name)
        self.session = session.Session(auth=plugin, timeout=TIMEOUT)

    def validate(self, token: str) -> TokenIdentity | None:
        try:
            response = self.session.get(
                f"{self.url}/auth/tokens?nocatalog", headers={"X-Subject-Token": token},
                authenticated=True, raise_exc=False)
        except ksa_exceptions.ClientException as exc:
            raise _unavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _unavailable(f"token validation answered {response.status_code}")
        info = access.create(body=response.json(), auth_token=token)
        if not info.project_scoped:
            return None
        return TokenIdentity(user_id=info.user_id, project_id=info.project_id,
                             roles=tuple(info.role_names), expires_at=info.expires)
