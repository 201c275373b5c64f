"""The token validator against a real Keystone: what the API relies on to know who calls."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.errors import ServiceUnavailable
from api.keystone.client import KeystoneClient, TokenIdentity
from api.keystone.validator import TokenValidator, Unauthorized
from common.config import load
from tests.keystone.server import Keystone, free_port


def cinder_conf(tmp_path: Path, keystone: Keystone, password: str | None = None,
                cache_time: int = 300, port: int | None = None) -> Path:
    """The install guide's [keystone_authtoken], with its old option names."""
    cinder = keystone.users["cinder"]
    port = port or keystone.port
    path = tmp_path / "cinder.conf"
    path.write_text(f"""[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
auth_uri = http://127.0.0.1:{port}
auth_url = http://127.0.0.1:{port}
auth_plugin = password
project_domain_id = default
user_domain_id = default
project_name = {cinder.project}
username = {cinder.name}
password = {password or cinder.password}
token_cache_time = {cache_time}
""")
    return path


class CountingSource:
    """The real Keystone client, counting the validations that reach Keystone."""

    def __init__(self, client: KeystoneClient) -> None:
        self.client = client
        self.calls = 0

    def validate(self, token: str) -> TokenIdentity | None:
        self.calls += 1
        return self.client.validate(token)


def validator(tmp_path: Path, keystone: Keystone, cache_time: int = 300) -> TokenValidator:
    return TokenValidator.from_config(load([str(cinder_conf(tmp_path, keystone,
                                                            cache_time=cache_time))]).keystone)


def test_member_token_gives_user_project_and_roles(tmp_path, keystone):
    token, body = keystone.token("demo")
    identity = validator(tmp_path, keystone).validate(token)
    assert identity.user_id == body["user"]["id"]
    assert identity.project_id == body["project"]["id"]
    assert set(identity.roles) == {"member", "reader"}
    assert identity.expires_at > datetime.now(UTC)


def test_admin_role_implies_member_and_reader(tmp_path, keystone):
    token, _ = keystone.token("admin")
    assert {"admin", "member", "reader"} <= set(validator(tmp_path, keystone).validate(token).roles)


def test_reader_has_only_reader(tmp_path, keystone):
    token, _ = keystone.token("demo-reader")
    assert validator(tmp_path, keystone).validate(token).roles == ("reader",)


def test_garbage_token_is_unauthorized_with_the_configured_uri(tmp_path, keystone):
    with pytest.raises(Unauthorized) as raised:
        validator(tmp_path, keystone).validate("gAAAAAB-not-a-token")
    assert raised.value.headers() == {
        "WWW-Authenticate": f'Keystone uri="http://127.0.0.1:{keystone.port}"'}


def test_revoked_token_is_unauthorized(tmp_path, keystone):
    token, _ = keystone.token("demo")
    checker = validator(tmp_path, keystone, cache_time=0)
    checker.validate(token)
    keystone.revoke(token)
    with pytest.raises(Unauthorized):
        checker.validate(token)


def test_expired_token_is_unauthorized_even_after_being_cached(tmp_path, keystone):
    """An application credential bounds its tokens' lifetime: a token dying in seconds."""
    short_token, expires = keystone.short_lived_token("demo", 3)
    checker = validator(tmp_path, keystone)
    assert checker.validate(short_token).expires_at <= expires
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1)
    with pytest.raises(Unauthorized):
        checker.validate(short_token)


def test_cache_hit_makes_no_second_keystone_call(tmp_path, keystone):
    conf = load([str(cinder_conf(tmp_path, keystone))]).keystone
    source = CountingSource(KeystoneClient(conf))
    checker = TokenValidator(source, conf.www_authenticate_uri, conf.token_cache_time)
    token, _ = keystone.token("alt-demo")
    first = checker.validate(token)
    assert checker.validate(token) == first
    assert source.calls == 1


def test_unscoped_token_is_unauthorized(tmp_path, keystone):
    demo = keystone.users["demo"]
    issued = httpx.post(f"{keystone.url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": demo.name, "domain": {"id": "default"}, "password": demo.password}}}}})
    issued.raise_for_status()
    with pytest.raises(Unauthorized):
        validator(tmp_path, keystone).validate(issued.headers["X-Subject-Token"])


def test_wrong_service_password_is_503_not_401(tmp_path, keystone):
    conf = load([str(cinder_conf(tmp_path, keystone, password="wrong"))]).keystone
    token, _ = keystone.token("demo")
    with pytest.raises(ServiceUnavailable):
        TokenValidator.from_config(conf).validate(token)


def test_unreachable_keystone_is_503_not_401(tmp_path, keystone):
    conf = load([str(cinder_conf(tmp_path, keystone, port=free_port()))]).keystone
    with pytest.raises(ServiceUnavailable):
        TokenValidator.from_config(conf).validate("any-token")


def test_concurrent_validations_share_one_client(tmp_path, keystone):
    """API worker threads validate at once through one keystoneauth1 session."""
    checker = validator(tmp_path, keystone, cache_time=0)
    issued = [(token, body["project"]["id"]) for token, body in
              (keystone.token(user) for user in ("demo", "demo-reader", "alt-demo"))] * 8
    with ThreadPoolExecutor(max_workers=12) as pool:
        projects = list(pool.map(lambda pair: checker.validate(pair[0]).project_id, issued))
    assert projects == [project for _, project in issued]
