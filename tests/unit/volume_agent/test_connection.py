"""provider_auth/provider_location formats and CHAP generation."""

from __future__ import annotations

import pytest

from volume_agent import connection
from volume_agent.lvm import snapshot_lv, volume_lv


def test_chap_credentials_are_random_and_safe_for_provider_auth() -> None:
    pairs = {connection.new_chap() for _ in range(50)}
    assert len(pairs) == 50
    for user, secret in pairs:
        assert user.isalnum() and secret.isalnum()
        assert connection.parse_auth(connection.format_auth((user, secret))) == (user, secret)


@pytest.mark.parametrize("text", [None, "", "CHAP onlyuser", "NONE a b", "CHAP a b c"])
def test_unusable_provider_auth_means_no_credentials(text: str | None) -> None:
    assert connection.parse_auth(text) is None


def test_location_iqn_is_reused_only_for_the_same_volume() -> None:
    lv = volume_lv("0b5f2a64-8f73-4a53-9f0e-1c1d1e1f2a3b")
    location = connection.format_location("10.0.0.5:3260", f"iqn.2004-01.org.old:{lv}")
    assert connection.location_iqn(location, lv) == f"iqn.2004-01.org.old:{lv}"
    other = volume_lv("1b5f2a64-8f73-4a53-9f0e-1c1d1e1f2a3b")
    assert connection.location_iqn(location, other) is None


@pytest.mark.parametrize("bad", ["../etc", "volume-x; rm -rf /", "", "0B5F2A64"])
def test_lv_names_come_only_from_uuids(bad: str) -> None:
    with pytest.raises(ValueError):
        volume_lv(bad)
    with pytest.raises(ValueError):
        snapshot_lv(bad)
