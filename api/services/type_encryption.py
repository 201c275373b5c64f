"""Volume type encryption (``types/{id}/encryption``): one specification per type.

As in Cinder, a specification may be created, changed or removed only while no volume
of the type exists: volumes already made would not match it. Cinder echoes the request
in its create and update answers; ``key_size`` may come as a numeric string.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import BadRequest, NotFound
from api.validation import MAX_TEXT, invalid
from db.models import Encryption, Volume, VolumeType

__all__ = ["CONTROL_LOCATIONS", "not_found", "find", "get", "create", "update", "delete",
           "refuse_encrypted"]

CONTROL_LOCATIONS = ("front-end", "back-end")
_DB_MAX_INT = 0x7FFFFFFF


def not_found(type_id: str) -> NotFound:
    return NotFound(f"Volume type encryption for type {type_id} does not exist.")


def get(session: Session, type_id: str) -> Encryption | None:
    return session.scalar(select(Encryption).where(Encryption.volume_type_id == type_id))


def refuse_encrypted(session: Session, volume_type: VolumeType) -> None:
    """Cinder makes each encrypted volume a key in a key manager (Barbican) for Nova to
    unlock it with; cinderblock has none, so no volume (new or retyped) takes a type
    that promises encryption with no key to encrypt it with."""
    if get(session, volume_type.id) is not None:
        raise BadRequest(f"Invalid input received: volume type {volume_type.id} is "
                         "encrypted, and cinderblock has no key manager to create the "
                         "volume's encryption key.")


def find(session: Session, type_id: str) -> Encryption:
    row = get(session, type_id)
    if row is None:
        raise not_found(type_id)
    return row


def _in_use(session: Session, type_id: str, verb: str) -> None:
    if session.scalar(select(exists().where(Volume.volume_type_id == type_id))):
        raise BadRequest(f"Cannot {verb} encryption specs. Volume type in use.")


def _key_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise invalid("encryption/key_size", value,
                      f"{value!r} is not of type 'string', 'integer', 'null'")
    try:
        number = int(value)
    except ValueError:
        raise BadRequest("Invalid input received: key_size must be an integer.") from None
    if not 0 <= number <= _DB_MAX_INT:
        raise invalid("encryption/key_size", value,
                      f"{value!r} is not between 0 and {_DB_MAX_INT}")
    return number


def _text(spec: dict[str, Any], key: str, nullable: bool) -> str | None:
    value = spec[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        kinds = "'string', 'null'" if nullable else "'string'"
        raise invalid(f"encryption/{key}", value,
                      f"{value!r} is not of type {kinds} of at most {MAX_TEXT} characters")
    return value


def _parse(spec: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """The known fields given (Cinder's schema lets others through; they are ignored)."""
    for key in required:
        if key not in spec:
            raise invalid("encryption", spec, f"'{key}' is a required property")
    values: dict[str, Any] = {}
    if "provider" in spec:
        values["provider"] = _text(spec, "provider", nullable=False)
    if "cipher" in spec:
        values["cipher"] = _text(spec, "cipher", nullable=True)
    if "key_size" in spec:
        values["key_size"] = _key_size(spec["key_size"])
    if "control_location" in spec:
        if spec["control_location"] not in CONTROL_LOCATIONS:
            raise invalid("encryption/control_location", spec["control_location"],
                          f"{spec['control_location']!r} is not one of "
                          f"{list(CONTROL_LOCATIONS)}")
        values["control_location"] = spec["control_location"]
    return values


def create(session: Session, volume_type: VolumeType, spec: dict[str, Any]
           ) -> dict[str, Any]:
    """The answer is what was asked plus the new ids, as Cinder's."""
    values = _parse(spec, ("provider", "control_location"))
    _in_use(session, volume_type.id, "create")
    if get(session, volume_type.id) is not None:
        raise BadRequest(f"Volume type encryption for type {volume_type.id} already "
                         "exists.")
    row = Encryption(volume_type_id=volume_type.id, **values)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # a concurrent create for the same type won
        session.rollback()
        raise BadRequest(f"Volume type encryption for type {volume_type.id} already "
                         "exists.") from None
    return {**values, "volume_type_id": volume_type.id, "encryption_id": row.encryption_id}


def update(session: Session, volume_type: VolumeType, spec: dict[str, Any]
           ) -> dict[str, Any]:
    """Cinder ignores the encryption id of the URL: a type has one specification."""
    values = _parse(spec, ())
    _in_use(session, volume_type.id, "update")
    row = find(session, volume_type.id)
    for key, value in values.items():
        setattr(row, key, value)
    session.commit()
    return values


def delete(session: Session, type_id: str) -> None:
    _in_use(session, type_id, "delete")
    session.delete(find(session, type_id))
    session.commit()
