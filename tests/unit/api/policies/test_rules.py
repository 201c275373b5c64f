import pytest

from api.policies.rules import RuleError, parse


def holds(text: str, creds: dict, target: dict | None = None, named: dict | None = None) -> bool:
    named = named or {}

    def resolve(name, c, t):
        return parse(named[name]).check(c, t, resolve)

    return parse(text).check(creds, target or {}, resolve)


READER = {"user_id": "u1", "project_id": "p1", "roles": ("reader",), "is_admin": False}


@pytest.mark.parametrize("text, expected", [
    ("", True),
    ("@", True),
    ("!", False),
    ("role:reader", True),
    ("role:READER", True),
    ("role:member", False),
    ("role:member or role:reader", True),
    ("role:member and role:reader", False),
    ("not role:member", True),
    ("role:admin or (role:reader and project_id:%(project_id)s)", True),
    ("(role:admin or role:reader) and project_id:%(project_id)s", True),
    ("role:admin or role:member and role:reader", False),
    ("is_admin:True", False),
    ("is_admin:False", True),
    ("project_id:p1", True),
    ("user_id:%(user_id)s", False),
])
def test_checks_and_operators(text, expected):
    assert holds(text, READER, {"project_id": "p1", "user_id": "someone-else"}) is expected


def test_and_binds_tighter_than_or():
    assert holds("role:reader or role:member and role:admin", READER) is True


def test_target_of_another_project_fails_the_owner_check():
    assert not holds("project_id:%(project_id)s", READER, {"project_id": "p2"})


def test_missing_target_key_fails_closed():
    assert not holds("project_id:%(project_id)s", READER, {})


def test_rule_reference_is_resolved_by_name():
    assert holds("rule:readers", READER, named={"readers": "role:reader"})
    assert parse("rule:a or rule:b").references == {"a", "b"}


@pytest.mark.parametrize("text", [
    "role", "role:", "(role:admin", "role:admin)", "role:admin or", "and role:admin",
    "role:admin role:member", "project_id:x%(project_id)s",
])
def test_malformed_rules_are_refused(text):
    with pytest.raises(RuleError):
        parse(text)
