from datetime import UTC, datetime, timedelta

import pytest
from starlette.requests import Request

from api.auth import Identity
from api.keystone.authenticator import KeystoneAuth
from api.keystone.validator import TokenValidator, Unauthorized
from tests.unit.api.keystone.fakes import FakeKeystone


def request(headers: dict[str, str]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [
        (key.lower().encode(), value.encode()) for key, value in headers.items()]})


@pytest.fixture
def auth() -> tuple[KeystoneAuth, FakeKeystone]:
    keystone = FakeKeystone()
    keystone.issue("tok", datetime.now(UTC) + timedelta(hours=1), project_id="p1",
                   roles=("member", "reader"))
    return KeystoneAuth(TokenValidator(keystone, "http://ks:5000", 300)), keystone


def test_identity_comes_from_the_token(auth):
    authenticate, _ = auth
    assert authenticate(request({"X-Auth-Token": "tok"})) == Identity(
        "user-of-tok", "p1", ("member", "reader"))


def test_forged_role_and_project_headers_are_ignored(auth):
    authenticate, _ = auth
    identity = authenticate(request({"X-Auth-Token": "tok", "X-Roles": "admin",
                                     "X-Project-Id": "p2"}))
    assert (identity.project_id, identity.is_admin) == ("p1", False)


def test_no_token_is_401(auth):
    authenticate, keystone = auth
    with pytest.raises(Unauthorized):
        authenticate(request({}))
    assert keystone.calls == []
