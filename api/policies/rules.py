"""The rule language of policy files: the part of oslo.policy's that Cinder's rules use.

A rule is checks joined by ``and``, ``or``, ``not`` and parentheses. Checks:
``role:NAME`` (the caller has the role), ``rule:NAME`` (another rule holds),
``is_admin:True``, ``ATTR:%(KEY)s`` (the caller's ATTR equals the target's KEY, e.g.
``project_id:%(project_id)s``), ``ATTR:VALUE`` (a literal), ``@`` (always), ``!``
(never). The empty rule always holds, as in oslo.policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Rule", "RuleError", "parse", "Credentials"]

# What a check can see of the caller: user_id, project_id, roles, is_admin.
Credentials = Mapping[str, Any]
# Evaluates a named rule; given to rules so ``rule:NAME`` resolves at check time.
Resolver = Callable[[str, Credentials, Mapping[str, Any]], bool]
Check = Callable[[Credentials, Mapping[str, Any], Resolver], bool]

_TOKEN = re.compile(r"\(|\)|(?:%\(\w+\)s|[^\s()])+")
_TARGET_REF = re.compile(r"^%\((\w+)\)s$")


class RuleError(ValueError):
    """A rule string that cannot be parsed; the message quotes it."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule: ``check(creds, target, resolve)`` says whether it holds."""

    text: str
    check: Check
    references: frozenset[str]


def _either(a: Check, b: Check) -> Check:
    return lambda c, t, r: a(c, t, r) or b(c, t, r)


def _both(a: Check, b: Check) -> Check:
    return lambda c, t, r: a(c, t, r) and b(c, t, r)


def _negate(a: Check) -> Check:
    return lambda c, t, r: not a(c, t, r)


def _leaf(token: str) -> tuple[Check, frozenset[str]]:
    if token == "@":
        return (lambda c, t, r: True), frozenset()
    if token == "!":
        return (lambda c, t, r: False), frozenset()
    kind, sep, match = token.partition(":")
    if not sep or not kind or not match:
        raise RuleError(f"{token!r} is not a check (expected kind:value)")
    if kind == "rule":
        return (lambda c, t, r: r(match, c, t)), frozenset({match})
    if kind == "role":
        role = match.lower()
        return (lambda c, t, r: role in (x.lower() for x in c.get("roles", ()))), frozenset()
    reference = _TARGET_REF.match(match)
    if reference:
        key = reference.group(1)
        return (lambda c, t, r: key in t and c.get(kind) is not None
                and str(c.get(kind)) == str(t[key])), frozenset()
    if "%(" in match:
        raise RuleError(f"{token!r}: only a whole %(key)s can name the target")
    return (lambda c, t, r: str(c.get(kind)).lower() == match.lower()), frozenset()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _TOKEN.findall(text)
        self.pos = 0
        self.references: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise RuleError(f"{self.text!r}: ends too early")
        self.pos += 1
        return token

    def expr(self) -> Check:
        check = self.term()
        while self.peek() == "or":
            self.take()
            check = _either(check, self.term())
        return check

    def term(self) -> Check:
        check = self.factor()
        while self.peek() == "and":
            self.take()
            check = _both(check, self.factor())
        return check

    def factor(self) -> Check:
        token = self.take()
        if token == "not":
            return _negate(self.factor())
        if token == "(":
            inner = self.expr()
            if self.take() != ")":
                raise RuleError(f"{self.text!r}: missing ')'")
            return inner
        if token in (")", "and", "or"):
            raise RuleError(f"{self.text!r}: unexpected {token!r}")
        check, references = _leaf(token)
        self.references |= references
        return check


def parse(text: str) -> Rule:
    """The rule ``text`` means; raises RuleError for anything it cannot mean."""
    parser = _Parser(text)
    if parser.peek() is None:
        return Rule(text, lambda c, t, r: True, frozenset())
    check = parser.expr()
    if parser.peek() is not None:
        raise RuleError(f"{text!r}: unexpected {parser.peek()!r}")
    return Rule(text, check, frozenset(parser.references))
