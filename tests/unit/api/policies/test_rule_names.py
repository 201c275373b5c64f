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
        name = _text(node.args[1], constants)
        if name is not None:
            names.append(name)
    return names


def _text(node: ast.expr, constants: dict) -> str | None:
    """A rule name written as a literal, a module constant, or an f-string of those."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.FormattedValue):
        return _text(node.value, constants)
    if isinstance(node, ast.JoinedStr):
        parts = [_text(part, constants) for part in node.values]
        return None if None in parts else "".join(parts)
    return None


def test_rule_names_used_by_the_api_are_defined():
    used = {name for path in API.rglob("*.py")
            for name in _rule_names(ast.parse(path.read_text()))}
    assert used, "the scan found no policy calls: it no longer tests anything"
    assert used - DEFAULTS.keys() == set()
