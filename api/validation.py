"""Request-body checks with Cinder's wording ("Invalid input for field/attribute ...").

Bodies are parsed by hand rather than by pydantic models so that every message,
including the ones for strings given where numbers belong, matches what Cinder
clients and tests expect, and so no input shape can reach the database unchecked.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from starlette.requests import Request

from api.errors import BadRequest

__all__ = [
    "read_body", "entity", "size", "optional_text", "metadata", "optional_uuid", "boolean",
    "invalid", "DB_MAX_INT", "MAX_TEXT", "reject_unexpected", "display_updates",
]

DB_MAX_INT = 0x7FFFFFFF
MAX_TEXT = 255
_DIGITS = re.compile(r"^[0-9]+$")
_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
_TRUE = {"true", "1", "on", "yes", "y", "t"}
_FALSE = {"false", "0", "off", "no", "n", "f"}


def invalid(field: str, value: Any, reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {reason}")


async def read_body(request: Request) -> Any:
    """The JSON body; 400 "Malformed request body" for anything that is not JSON."""
    raw = await request.body()
    if not raw:
        raise BadRequest("Malformed request body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("Malformed request body") from None


def entity(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object: the ``{"volume": {...}}`` envelope."""
    if not isinstance(body, dict) or key not in body:
        raise BadRequest(f"'{key}' is a required property")
    value = body[key]
    if not isinstance(value, dict):
        raise invalid(key, value, f"{value!r} is not of type 'object'")
    return value


def size(value: Any, field: str = "size") -> int:
    """A size in GiB: an integer or a string of digits, 1 to 2^31-1, as Cinder accepts."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid(field, value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str):
        if not _DIGITS.match(value):
            raise invalid(field, value, f"'{value}' does not match '^[0-9]+$'")
        value = int(value)
    if value < 1:
        raise invalid(field, value, f"{value} is less than the minimum of 1")
    if value > DB_MAX_INT:
        raise invalid(field, value, f"{value} is greater than the maximum of {DB_MAX_INT}")
    return value


def optional_text(value: Any, field: str, max_length: int = MAX_TEXT) -> str | None:
    """A name or description: null or a string of at most 255 characters, trimmed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string', 'null'")
    value = value.strip()
    if len(value) > max_length:
        raise invalid(field, value, f"'{value}' is too long")
    return value


def metadata(value: Any, field: str = "metadata") -> dict[str, str]:
    """Key/value pairs: keys of letters, digits and ``-_:. /``, values strings, both <= 255."""
    if not isinstance(value, dict):
        raise invalid(field, value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not _META_KEY.match(key):
            raise invalid(field, value, f"'{key}' is not an allowed metadata key (letters, "
                                        "digits and -_:. / only, 1 to 255 characters)")
        if not isinstance(item, str):
            raise invalid(f"{field}.{key}", item, f"{item!r} is not of type 'string'")
        if len(item) > MAX_TEXT:
            raise invalid(f"{field}.{key}", item, f"'{item}' is too long")
    return value


def optional_uuid(value: Any, field: str) -> str | None:
    if value is None:
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise invalid(field, value, f"'{value}' is not a 'uuid'") from None


def boolean(value: Any, field: str) -> bool:
    """Cinder's lenient boolean: JSON booleans or the usual spellings of true and false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise invalid(field, value, f"{value!r} is not a valid boolean")


def reject_unexpected(spec: dict[str, Any], allowed: set[str]) -> None:
    """Cinder's schemas forbid additional properties; say which ones, as it does."""
    unexpected = sorted(spec.keys() - allowed)
    if unexpected:
        raise BadRequest("Additional properties are not allowed "
                         f"({', '.join(repr(k) for k in unexpected)} was unexpected)")


def display_updates(spec: dict[str, Any]) -> dict[str, str | None]:
    """The ``display_name``/``display_description`` columns an update sets: ``name`` and
    ``description`` win over their old ``display_*`` spellings."""
    updates: dict[str, str | None] = {}
    if "name" in spec or "display_name" in spec:
        updates["display_name"] = optional_text(spec.get("name", spec.get("display_name")),
                                                "name")
    if "description" in spec or "display_description" in spec:
        updates["display_description"] = optional_text(
            spec.get("description", spec.get("display_description")), "description")
    return updates
