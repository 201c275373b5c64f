"""Request-body checks: what Cinder accepts and the messages it gives otherwise."""

from __future__ import annotations

import pytest

from api import validation
from api.errors import BadRequest


@pytest.mark.parametrize(("value", "expected"), [(1, 1), ("7", 7), (2**31 - 1, 2**31 - 1)])
def test_size_accepts_integers_and_digit_strings(value: object, expected: int) -> None:
    assert validation.size(value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "Invalid input for field/attribute size. Value: abc. 'abc' does not match "
            "'^[0-9]+$'"),
    (0, "Invalid input for field/attribute size. Value: 0. 0 is less than the minimum of 1"),
    (2**31, "is greater than the maximum of 2147483647"),
    (1.5, "is not of type 'integer', 'string'"),
    (True, "is not of type 'integer', 'string'"),
    (" 1", "does not match"),
])
def test_size_refusals(value: object, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validation.size(value)
    assert message in caught.value.message


def test_metadata_rules() -> None:
    assert validation.metadata({"a-b_c:d. /e": "v"}) == {"a-b_c:d. /e": "v"}
    for bad in ({"k": 1}, {"k*": "v"}, {"k": "v" * 256}, {"k" * 256: "v"}, ["k"]):
        with pytest.raises(BadRequest):
            validation.metadata(bad)


def test_text_is_trimmed_and_bounded() -> None:
    assert validation.optional_text("  name ", "name") == "name"
    assert validation.optional_text(None, "name") is None
    with pytest.raises(BadRequest):
        validation.optional_text("x" * 256, "name")


def test_boolean_spellings() -> None:
    assert validation.boolean("Yes", "f") is True and validation.boolean("0", "f") is False
    with pytest.raises(BadRequest):
        validation.boolean("maybe", "f")
