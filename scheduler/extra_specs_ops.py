"""Cinder's extra-spec operators: does a backend's capability value satisfy a spec?

``<is> True``, ``<in> sub``, ``<or> a <or> b``, numeric ``==`` ``!=`` ``>=`` ``<=``
and ``=`` (which, as in Cinder, means "at least"), string ``s==`` ``s!=`` ``s<``
``s<=`` ``s>`` ``s>=``. A spec that starts with no operator must equal the value
exactly (so a boolean capability needs ``<is>``, as in Cinder). Unparseable
numbers do not match rather than fail the request.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

__all__ = ["match"]

_TRUE = {"1", "t", "true", "on", "y", "yes"}


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    return lambda value, wanted: compare(float(value), float(wanted))


_OPS: dict[str, Callable[[Any, str], bool]] = {
    "=": _numeric(operator.ge),
    "==": _numeric(operator.eq),
    "!=": _numeric(operator.ne),
    ">=": _numeric(operator.ge),
    "<=": _numeric(operator.le),
    "<in>": lambda value, wanted: wanted in value,
    "<is>": lambda value, wanted: _as_bool(value) is _as_bool(wanted),
    "s==": lambda value, wanted: str(value) == wanted,
    "s!=": lambda value, wanted: str(value) != wanted,
    "s<": lambda value, wanted: str(value) < wanted,
    "s<=": lambda value, wanted: str(value) <= wanted,
    "s>": lambda value, wanted: str(value) > wanted,
    "s>=": lambda value, wanted: str(value) >= wanted,
}


def match(value: Any, spec: str | None) -> bool:
    """True when capability ``value`` satisfies extra-spec ``spec``."""
    if spec is None:
        return value is None
    words = spec.split()
    op = words[0] if words else None
    if op != "<or>" and op not in _OPS:
        return value == spec
    if value is None:
        return False
    if op == "<or>":
        return value in words[1::2]
    if len(words) < 2:
        return False
    try:
        return _OPS[op](value, words[1])
    except (TypeError, ValueError):
        return False
