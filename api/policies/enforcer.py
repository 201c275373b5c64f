"""Deciding whether a caller may apply a named rule to a target.

Rules are Cinder's defaults, overridden rule by rule by an operator's YAML (or JSON)
file of ``name: check`` pairs, as oslo.policy reads it. The file is checked when it is
loaded: a rule that does not parse or names a rule that does not exist stops start-up
with a message, instead of quietly denying (or allowing) requests later.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml

from api.errors import Forbidden
from api.policies.defaults import DEFAULTS
from api.policies.rules import Credentials, Rule, RuleError, parse

__all__ = ["Caller", "Enforcer", "PolicyNotAuthorized", "PolicyFileError"]


class Caller(Protocol):
    """What policy needs of a request context."""

    user_id: str
    project_id: str
    roles: tuple[str, ...]
    is_admin: bool


class PolicyNotAuthorized(Forbidden):
    """403 with Cinder's message, which names the rule an operator may want to change."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"Policy doesn't allow {rule} to be performed.")
        self.rule = rule


class PolicyFileError(ValueError):
    """An operator's policy file that cannot be used; the message says where and why."""


def _credentials(caller: Caller) -> Credentials:
    return {"user_id": caller.user_id, "project_id": caller.project_id,
            "roles": caller.roles, "is_admin": caller.is_admin}


def _read_overrides(path: Path) -> dict[str, str]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyFileError(f"{path}: not YAML: {exc}") from None
    if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
        raise PolicyFileError(f"{path}: expected a mapping of rule name to check string")
    return loaded


class Enforcer:
    """Cinder's default rules with ``overrides`` applied, parsed once."""

    def __init__(self, overrides: Mapping[str, str] | None = None, source: str = "") -> None:
        texts = {**DEFAULTS, **(overrides or {})}
        where = f"{source}: " if source else ""
        try:
            self.rules: dict[str, Rule] = {name: parse(text) for name, text in texts.items()}
        except RuleError as exc:
            raise PolicyFileError(f"{where}{exc}") from None
        for name, rule in self.rules.items():
            missing = rule.references - self.rules.keys()
            if missing:
                raise PolicyFileError(f"{where}{name}: refers to unknown rule "
                                      f"{', '.join(sorted(missing))}")
        self._check_cycles(where)

    @classmethod
    def from_file(cls, path: str | Path | None) -> Enforcer:
        """Defaults overridden by the file at ``path`` (None: defaults only)."""
        if path is None:
            return cls()
        return cls(_read_overrides(Path(path)), str(path))

    def _check_cycles(self, where: str) -> None:
        done: set[str] = set()

        def visit(name: str, trail: tuple[str, ...]) -> None:
            if name in trail:
                raise PolicyFileError(f"{where}rules refer to each other in a loop: "
                                      f"{' -> '.join((*trail, name))}")
            if name in done:
                return
            for reference in self.rules[name].references:
                visit(reference, (*trail, name))
            done.add(name)

        for name in self.rules:
            visit(name, ())

    def _holds(self, name: str, creds: Credentials, target: Mapping[str, Any]) -> bool:
        return self.rules[name].check(creds, target, self._holds)

    def allows(self, caller: Caller, rule: str,
               target: Mapping[str, Any] | None = None) -> bool:
        """Whether ``rule`` holds; the target defaults to the caller's own project.

        An unknown rule name is a programming error (KeyError), never a silent deny.
        """
        if target is None:
            target = {"project_id": caller.project_id, "user_id": caller.user_id}
        return self._holds(rule, _credentials(caller), target)

    def enforce(self, caller: Caller, rule: str,
                target: Mapping[str, Any] | None = None) -> None:
        """Raises PolicyNotAuthorized (403) unless ``rule`` holds."""
        if not self.allows(caller, rule, target):
            raise PolicyNotAuthorized(rule)
