"""Extra-spec operators behave as Cinder documents them."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.extra_specs_ops import match

CASES = [
    # (capability value, spec, matches)
    ("lvm", "lvm", True),
    ("lvm", "LVM", False),
    (True, "True", False),  # plain equality is exact: booleans need <is>
    (None, None, True),
    ("x", None, False),
    (None, "<is> True", False),
    (True, "<is> True", True),
    ("true", "<is> True", True),
    (False, "<is> True", False),
    ("False", "<is> False", True),
    ("yes", "<is> true", True),
    ("iscsi nvme", "<in> nvme", True),
    ("iscsi", "<in> fc", False),
    (["a", "b"], "<in> b", True),
    ("gold", "<or> silver <or> gold", True),
    ("bronze", "<or> silver <or> gold", False),
    ("silver", "<or> silver", True),
    (100, "= 50", True),  # '=' means at least
    (10, "= 50", False),
    ("50", "== 50", True),
    (50.0, "== 50", True),
    (51, "== 50", False),
    (51, "!= 50", True),
    (50, ">= 50", True),
    (49.9, ">= 50", False),
    (50, "<= 50", True),
    (51, "<= 50", False),
    ("abc", ">= 5", False),  # not a number: no match, no error
    ("abc", "s== abc", True),
    ("abc", "s!= abc", False),
    ("abc", "s< abd", True),
    ("abd", "s<= abd", True),
    ("b", "s> a", True),
    ("a", "s>= b", False),
    (5, ">=", False),  # operator without operand
    (5, "", False),
]


@pytest.mark.parametrize(("value", "spec", "expected"), CASES)
def test_match(value: Any, spec: str | None, expected: bool) -> None:
    assert match(value, spec) is expected
