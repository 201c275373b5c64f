"""Key/value metadata of any resource (volumes, snapshots): merge or replace in place.

Works on the ORM collection so the owner's ``*_metadata`` relationship stays the
one source of truth and its cascade deletes removed items.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["merge", "replace", "VISIBLE_ADMIN_KEYS"]

# Admin metadata Cinder shows every user inside a volume's ``metadata`` (over a user key
# of the same name): the readonly flag and the mode of the last attach. Other admin keys
# (progress, ...) stay hidden.
VISIBLE_ADMIN_KEYS = ("readonly", "attached_mode")

ItemFactory = Callable[..., Any]


def merge(session: Session, items: list[Any], make: ItemFactory,
          wanted: dict[str, str]) -> None:
    """Add or overwrite ``wanted``; other keys stay."""
    current = {item.key: item for item in items}
    for key, value in wanted.items():
        if key in current:
            current[key].value = value
        else:
            items.append(make(key=key, value=value))
    session.flush()


def replace(session: Session, items: list[Any], make: ItemFactory,
            wanted: dict[str, str]) -> None:
    """Make the metadata exactly ``wanted``."""
    for item in [item for item in items if item.key not in wanted]:
        items.remove(item)
    merge(session, items, make, wanted)
