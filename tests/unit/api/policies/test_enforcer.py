from dataclasses import dataclass
from pathlib import Path

import pytest

import api.policies as policies
from api.errors import Forbidden
from api.policies import Enforcer, PolicyFileError, PolicyNotAuthorized
from api.policies.defaults import DEFAULTS

SAMPLE = Path(__file__).parents[4] / "etc" / "cinderblock" / "policy.yaml"


@dataclass(frozen=True)
class Caller:
    user_id: str
    project_id: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


# As Keystone gives them: implied roles included.
ADMIN = Caller("admin", "admin-project", ("admin", "member", "reader"))
MEMBER = Caller("demo", "p1", ("member", "reader"))
READER = Caller("demo-reader", "p1", ("reader",))
OTHER_MEMBER = Caller("alt", "p2", ("member", "reader"))
OWN = {"project_id": "p1"}


@pytest.fixture
def enforcer() -> Enforcer:
    return Enforcer()


@pytest.mark.parametrize("caller, rule, target, allowed", [
    (MEMBER, "volume:create", None, True),
    (READER, "volume:create", None, False),
    (READER, "volume:get_all", None, True),
    (READER, "volume:get", OWN, True),
    (READER, "volume:delete", OWN, False),
    (READER, "volume:extend", OWN, False),
    (MEMBER, "volume:delete", OWN, True),
    (OTHER_MEMBER, "volume:get", OWN, False),
    (OTHER_MEMBER, "volume:delete", OWN, False),
    (ADMIN, "volume:delete", OWN, True),
    (MEMBER, "volume_extension:volume_admin_actions:reset_status", OWN, False),
    (ADMIN, "volume_extension:volume_admin_actions:reset_status", OWN, True),
    (MEMBER, "volume_extension:services:index", None, False),
    (ADMIN, "volume_extension:services:index", None, True),
    (MEMBER, "volume_extension:types_manage", None, False),
    (MEMBER, "volume_extension:type_create", None, False),
    (READER, "volume_extension:type_get_all", None, True),
    (MEMBER, "volume_extension:quotas:update", OWN, False),
    (READER, "volume_extension:quotas:show", OWN, True),
    (ADMIN, "volume_extension:quotas:update", {"project_id": "p2"}, True),
    (MEMBER, "volume:create_snapshot", OWN, True),
    (READER, "volume:create_snapshot", OWN, False),
])
def test_default_personas(enforcer, caller, rule, target, allowed):
    assert enforcer.allows(caller, rule, target) is allowed


def test_member_reads_even_without_the_implied_reader_role(enforcer):
    bare_member = Caller("demo", "p1", ("member",))
    assert enforcer.allows(bare_member, "volume:get_all", OWN)
    assert not enforcer.allows(bare_member, "volume:get_all", {"project_id": "p2"})


def test_refusal_is_cinders_403(enforcer):
    with pytest.raises(PolicyNotAuthorized) as raised:
        enforcer.enforce(READER, "volume:create")
    assert isinstance(raised.value, Forbidden)
    assert raised.value.body() == {"forbidden": {
        "code": 403, "message": "Policy doesn't allow volume:create to be performed."}}


def test_unknown_rule_is_a_programming_error(enforcer):
    with pytest.raises(KeyError):
        enforcer.allows(ADMIN, "volume:no_such_rule")


def test_every_default_parses_and_resolves():
    rules = Enforcer().rules
    assert rules.keys() == DEFAULTS.keys()
    assert len(rules) > 150


def test_operator_file_overrides_one_rule(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"volume_extension:services:index": "rule:admin_api or role:member"\n')
    enforcer = Enforcer.from_file(path)
    assert enforcer.allows(MEMBER, "volume_extension:services:index")
    assert not enforcer.allows(MEMBER, "volume_extension:services:update")


def test_overriding_a_base_rule_changes_every_rule_built_on_it(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"context_is_admin": "role:cloud-admin"\n')
    enforcer = Enforcer.from_file(path)
    operator = Caller("op", "ops", ("cloud-admin",))
    assert enforcer.allows(operator, "volume_extension:services:index")
    assert not enforcer.allows(ADMIN, "volume_extension:services:index")


def test_shipped_sample_changes_no_decision():
    sample = Enforcer.from_file(SAMPLE)
    default = Enforcer()
    for caller in (ADMIN, MEMBER, READER, OTHER_MEMBER):
        for rule in DEFAULTS:
            assert sample.allows(caller, rule, OWN) == default.allows(caller, rule, OWN), rule


@pytest.mark.parametrize("content, complaint", [
    ('"volume:create": "role:member or"\n', "ends too early"),
    ('"volume:create": "rule:nope"\n', "unknown rule nope"),
    ('"a": "rule:b"\n"b": "rule:a"\n', "loop"),
    ("- just\n- a list\n", "mapping"),
    ('"volume:create": [1, 2]\n', "mapping"),
    ("key: [unclosed\n", "not YAML"),
])
def test_bad_operator_file_stops_startup_naming_the_file(tmp_path, content, complaint):
    path = tmp_path / "policy.yaml"
    path.write_text(content)
    with pytest.raises(PolicyFileError, match=complaint) as raised:
        Enforcer.from_file(path)
    assert str(path) in str(raised.value)


def test_missing_operator_file_is_an_error(tmp_path):
    with pytest.raises(PolicyFileError, match="cannot read"):
        Enforcer.from_file(tmp_path / "absent.yaml")


def test_module_level_enforce_uses_the_configured_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"volume:create": "!"\n')
    try:
        policies.configure(path)
        with pytest.raises(PolicyNotAuthorized):
            policies.enforce(ADMIN, "volume:create")
    finally:
        policies.configure(None)
    policies.enforce(ADMIN, "volume:create")
