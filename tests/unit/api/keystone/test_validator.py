from datetime import UTC, datetime

import pytest

from api.keystone.client import identity_v3_url
from api.keystone.validator import EXPIRY_MARGIN, TokenValidator, Unauthorized
from tests.unit.api.keystone.fakes import FakeKeystone

NOW = 1_800_000_000.0
URI = "http://keystone.example:5000"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(NOW + seconds, UTC)


@pytest.fixture
def keystone() -> FakeKeystone:
    return FakeKeystone()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def validator(keystone: FakeKeystone, clock: Clock, cache_time: float = 300) -> TokenValidator:
    return TokenValidator(keystone, URI, cache_time, clock=clock)


def test_valid_token_gives_its_identity(keystone, clock):
    issued = keystone.issue("tok", at(3600), project_id="p1", roles=("member", "reader"))
    assert validator(keystone, clock).validate("tok") == issued


@pytest.mark.parametrize("token", [None, "", "garbage"])
def test_missing_or_unknown_token_is_401_pointing_at_keystone(keystone, clock, token):
    with pytest.raises(Unauthorized) as raised:
        validator(keystone, clock).validate(token)
    assert raised.value.status == 401
    assert raised.value.headers() == {"WWW-Authenticate": f'Keystone uri="{URI}"'}
    assert raised.value.body() == {"error": {
        "code": 401, "title": "Unauthorized",
        "message": "The request you have made requires authentication."}}


def test_missing_token_costs_no_keystone_call(keystone, clock):
    with pytest.raises(Unauthorized):
        validator(keystone, clock).validate(None)
    assert keystone.calls == []


def test_second_request_is_served_from_cache(keystone, clock):
    keystone.issue("tok", at(3600))
    checker = validator(keystone, clock)
    checker.validate("tok")
    checker.validate("tok")
    assert keystone.calls == ["tok"]


def test_cache_time_bounds_trust_in_a_revoked_token(keystone, clock):
    keystone.issue("tok", at(3600))
    checker = validator(keystone, clock, cache_time=300)
    checker.validate("tok")
    keystone.revoke("tok")
    clock.now = NOW + 299
    checker.validate("tok")
    clock.now = NOW + 300
    with pytest.raises(Unauthorized):
        checker.validate("tok")


def test_cached_token_is_dropped_before_it_expires(keystone, clock):
    keystone.issue("tok", at(100))
    checker = validator(keystone, clock, cache_time=300)
    checker.validate("tok")
    clock.now = NOW + 100 - EXPIRY_MARGIN
    checker.validate("tok")
    assert keystone.calls == ["tok", "tok"]


def test_token_close_to_expiry_is_not_cached(keystone, clock):
    keystone.issue("tok", at(EXPIRY_MARGIN / 2))
    checker = validator(keystone, clock)
    checker.validate("tok")
    checker.validate("tok")
    assert len(keystone.calls) == 2


def test_zero_cache_time_asks_keystone_every_time(keystone, clock):
    keystone.issue("tok", at(3600))
    checker = validator(keystone, clock, cache_time=0)
    checker.validate("tok")
    checker.validate("tok")
    assert len(keystone.calls) == 2


def test_rejected_token_is_asked_again_next_time(keystone, clock):
    checker = validator(keystone, clock)
    with pytest.raises(Unauthorized):
        checker.validate("tok")
    keystone.issue("tok", at(3600))
    assert checker.validate("tok").project_id == "p1"


@pytest.mark.parametrize("auth_url", [
    "http://127.0.0.1:35357", "http://127.0.0.1:35357/", "http://127.0.0.1:5000/v3",
    "http://127.0.0.1:5000/v3/"])
def test_auth_url_with_or_without_version(auth_url):
    assert identity_v3_url(auth_url) == auth_url.rstrip("/").removesuffix("/v3") + "/v3"
