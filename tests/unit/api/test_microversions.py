"""Microversion header parsing and the served range."""

from __future__ import annotations

import pytest

from api import microversions
from api.errors import BadRequest, NotAcceptable
from api.microversions import MAX, MIN, Version, parse


def test_defaults_and_other_services_ignored() -> None:
    assert parse(None) == MIN
    assert parse("compute 2.1") == MIN
    assert parse("compute 2.1, volume 3.12") == Version(3, 12)
    assert parse("volume latest") == MAX


def test_refusals() -> None:
    with pytest.raises(BadRequest):
        parse("volume 3.x")
    with pytest.raises(NotAcceptable):
        parse("volume 3.99")
    with pytest.raises(NotAcceptable):
        parse("volume 2.0")


def test_max_is_the_newest_implemented_feature() -> None:
    assert max(microversions.FEATURES.values()) == MAX
    assert all(version <= MAX for version in microversions.NOT_SERVED.values())
