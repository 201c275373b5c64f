"""Every rule name the API code passes to policy exists: an unknown one is a 500."""

import ast
from pathlib import Path

from api.policies.defaults import DEFAULTS

API = Path(__file__).parents[4] / "api"
_CALLS = {"enforce", "allows", "require_admin"}


def _rule_names(tree: ast.Module) -> list[str]:
    constants = {target.id: node.value.value for node in tree.body
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                 for target in node.targets if isinstance(target, ast.Name)}
    names = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and len(node.args) >= 2):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else \
            getattr(node.func, "id", None)
        if func not in _CALLS:
            continue
        rule = node.args[1]
        if isinstance(rule, ast.Constant):
            names.append(rule.value)
        elif isinstance(rule, ast.Name) and rule.id in constants:
            names.append(constants[rule.id])
    return names


def test_rule_names_used_by_the_api_are_defined():
    used = {name for path in API.rglob("*.py")
            for name in _rule_names(ast.parse(path.read_text()))}
    assert used, "the scan found no policy calls: it no longer tests anything"
    assert used - DEFAULTS.keys() == set()
