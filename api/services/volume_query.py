"""What volume lists filter and sort on (the paging itself is ``api.services.listing``)."""

from __future__ import annotations

import operator
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, true

from api.deps import RequestContext
from api.errors import BadRequest
from api.services.listing import Listing, ListQuery, dict_filter, int_param, metadata_condition
from api.validation import boolean
from db.models import Volume, VolumeMetadata, VolumeType

__all__ = ["VOLUMES", "ListQuery", "USER_FILTERS"]

# Filters every caller may use (Cinder's resource_filters.json for volumes).
USER_FILTERS = frozenset({"name", "status", "metadata", "bootable", "migration_status",
                          "availability_zone", "group_id", "size", "glance_metadata",
                          "volume_type", "created_at", "updated_at"})
_ADMIN_FILTERS = frozenset({"project_id", "user_id", "host", "volume_type_id", "multiattach",
                            "id", "snapshot_id", "source_volid"})
_SORT_KEYS = {
    "created_at": Volume.created_at,
    "updated_at": func.coalesce(Volume.updated_at, Volume.created_at),
    "id": Volume.id,
    "name": func.coalesce(Volume.display_name, ""),
    "display_name": func.coalesce(Volume.display_name, ""),
    "status": Volume.status,
    "size": Volume.size,
    "availability_zone": func.coalesce(Volume.availability_zone, ""),
    "bootable": Volume.bootable,
    "description": func.coalesce(Volume.display_description, ""),
    "project_id": Volume.project_id,
    "user_id": func.coalesce(Volume.user_id, ""),
    "volume_type_id": Volume.volume_type_id,
}


_TIME_OPERATORS = {"gt": operator.gt, "gte": operator.ge, "eq": operator.eq,
                   "neq": operator.ne, "lt": operator.lt, "lte": operator.le}


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _time_condition(context: RequestContext, key: str, text: str) -> ColumnElement[bool]:
    """From 3.60 ``created_at=gt:2024-01-01T00:00:00,lt:...``; before, an exact time."""
    column = getattr(Volume, key)
    if not context.microversion.at_least("time_comparison_filters"):
        try:
            return column == _utc(text)
        except ValueError:
            return false()
    clauses = []
    for unit in text.split(","):
        name, colon, value = unit.partition(":")
        if not colon:
            raise BadRequest(f"Invalid {key} value")
        if name not in _TIME_OPERATORS:
            raise BadRequest(f"Invalid {name} operator")
        try:
            clauses.append(_TIME_OPERATORS[name](column, _utc(value)))
        except ValueError:
            raise BadRequest(f"Invalid {value} value") from None
    return and_(*clauses)


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    if key in ("created_at", "updated_at"):
        return _time_condition(context, key, text)
    if key in ("name", "display_name"):
        if like:
            return Volume.display_name.contains(text, autoescape=True)
        return Volume.display_name == text
    if key == "metadata":
        return metadata_condition(Volume.volume_metadata, VolumeMetadata, key, text)
    if key == "glance_metadata":
        # cinderblock keeps no image metadata: only the empty filter matches.
        return false() if dict_filter(key, text) else true()
    if key == "bootable":
        if not context.microversion.at_least("strict_bootable_filter"):
            # Before 3.2 Cinder reads only False/false/FALSE as false, anything else as true.
            return Volume.bootable.is_(text not in ("False", "false", "FALSE"))
        return Volume.bootable.is_(boolean(text, "bootable"))
    if key == "multiattach":
        return Volume.multiattach.is_(boolean(text, "multiattach"))
    if key == "size":
        return Volume.size == int_param("size", text)
    if key == "volume_type":
        return Volume.volume_type.has(or_(VolumeType.name == text, VolumeType.id == text))
    return None


VOLUMES = Listing(model=Volume, sort_keys=_SORT_KEYS, user_filters=USER_FILTERS,
                  admin_filters=_ADMIN_FILTERS, condition=_condition)
