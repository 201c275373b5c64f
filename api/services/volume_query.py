"""Listing volumes: filters, sorting and keyset pagination as Cinder's query string has them.

Pages use the marker's sort values (``WHERE (keys) > (marker's keys)``) instead of
OFFSET, so deep pages cost the same as the first; every key ends with ``id`` so
the order is total and no volume appears twice or is skipped.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound
from api.validation import boolean
from db.models import Volume, VolumeMetadata, VolumeType

__all__ = ["ListQuery", "parse_list_query", "apply_filters", "page", "USER_FILTERS"]

_PAGING = {"limit", "marker", "sort", "sort_key", "sort_dir", "offset", "with_count",
           "all_tenants"}
# Filters every caller may use (Cinder's resource_filters.json for volumes).
USER_FILTERS = {"name", "status", "metadata", "bootable", "migration_status",
                "availability_zone", "group_id", "size", "glance_metadata", "volume_type"}
# Further columns admins may filter on; other keys match nothing for them (sample 92).
_ADMIN_FILTERS = {"project_id", "user_id", "host", "volume_type_id", "multiattach",
                  "id", "snapshot_id", "source_volid"}
_SORT_KEYS: dict[str, Any] = {
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


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    all_projects: bool = False
    with_count: bool = False


def _int_param(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} param must be positive")
    return value


def _sort(params: dict[str, str]) -> list[tuple[str, str]]:
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and "
                         "cannot be used with the 'sort' parameter.")
    if "sort" in params:
        pairs = []
        for item in params["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), (direction or "desc").strip().lower()))
    else:
        keys = params.get("sort_key", "created_at").split(",")
        dirs = params.get("sort_dir", "desc").split(",")
        pairs = [(key.strip(), (dirs[i] if i < len(dirs) else dirs[-1]).strip().lower())
                 for i, key in enumerate(keys)]
    for key, direction in pairs:
        if key not in _SORT_KEYS:
            raise BadRequest(f"Invalid input received: Invalid sort key {key!r}.")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid input received: Unknown sort direction {direction!r}, "
                             "must be 'desc' or 'asc'.")
    if not any(key == "id" for key, _ in pairs):
        pairs.append(("id", pairs[-1][1] if pairs else "desc"))
    return pairs


def parse_list_query(context: RequestContext, query: Sequence[tuple[str, str]],
                     max_limit: int) -> ListQuery:
    params = dict(query)
    limit = min(_int_param("limit", params["limit"]), max_limit) if "limit" in params \
        else max_limit
    if "offset" in params:
        _int_param("offset", params["offset"])
        raise BadRequest("offset is not supported; page with marker")
    all_projects = context.is_admin and boolean(params.get("all_tenants", "0"), "all_tenants")
    filters = {k: v for k, v in params.items() if k not in _PAGING}
    allowed = USER_FILTERS | _ADMIN_FILTERS if context.is_admin else USER_FILTERS
    names = {k.removesuffix("~") for k in filters}
    unknown = sorted(names - allowed)
    if unknown and not context.is_admin:
        raise BadRequest(f"Invalid filters {', '.join(unknown)} are found in query options.")
    with_count = (context.microversion.at_least("list_count")
                  and boolean(params.get("with_count", "false"), "with_count"))
    return ListQuery(limit=limit, marker=params.get("marker"), sort=_sort(params),
                     filters=filters, all_projects=all_projects, with_count=with_count)


def _dict_filter(name: str, text: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest(f"Invalid filter {name}: expected a dictionary of strings.")
    return value


def _condition(context: RequestContext, key: str, text: str) -> ColumnElement[bool]:
    like = key.endswith("~") and context.microversion.at_least("like_filters")
    key = key.removesuffix("~")
    if key in ("name", "display_name"):
        if like:
            return Volume.display_name.contains(text, autoescape=True)
        return Volume.display_name == text
    if key == "metadata":
        wanted = _dict_filter(key, text)
        return and_(true(), *[
            Volume.volume_metadata.any(and_(VolumeMetadata.key == k, VolumeMetadata.value == v))
            for k, v in wanted.items()])
    if key == "glance_metadata":
        # cinderblock keeps no image metadata: only the empty filter matches.
        return false() if _dict_filter(key, text) else true()
    if key == "bootable":
        if not context.microversion.at_least("strict_bootable_filter"):
            return Volume.bootable.is_(True)
        return Volume.bootable.is_(boolean(text, "bootable"))
    if key == "multiattach":
        return Volume.multiattach.is_(boolean(text, "multiattach"))
    if key == "size":
        return Volume.size == _int_param("size", text)
    if key == "volume_type":
        return Volume.volume_type.has(or_(VolumeType.name == text, VolumeType.id == text))
    column = getattr(Volume, key, None) if key in USER_FILTERS | _ADMIN_FILTERS else None
    if column is None:
        return false()
    return column == text


def apply_filters(context: RequestContext, statement: Select[Any], query: ListQuery
                  ) -> Select[Any]:
    """Project scoping plus every filter of ``query``."""
    if not query.all_projects:
        statement = statement.where(Volume.project_id == context.project_id)
    for key, text in query.filters.items():
        if key == "project_id" and not query.all_projects:
            continue
        statement = statement.where(_condition(context, key, text))
    return statement


def _after_marker(session: Session, context: RequestContext, query: ListQuery
                  ) -> ColumnElement[bool]:
    """Rows after the marker, which must be a volume the caller may list (any filter)."""
    keys = [_SORT_KEYS[key] for key, _ in query.sort]
    marker = select(*keys).where(Volume.id == query.marker)
    if not query.all_projects:
        marker = marker.where(Volume.project_id == context.project_id)
    marker_values = session.execute(marker).first()
    if marker_values is None:
        raise NotFound(f"Marker {query.marker} could not be found.")
    clauses = []
    for i, (key, direction) in enumerate(query.sort):
        equal = [_SORT_KEYS[k] == marker_values[j] for j, (k, _) in enumerate(query.sort[:i])]
        column = _SORT_KEYS[key]
        beyond = column < marker_values[i] if direction == "desc" else column > marker_values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def page(session: Session, context: RequestContext, statement: Select[Any], query: ListQuery
         ) -> tuple[Select[Any], int | None]:
    """``statement`` filtered, ordered and cut to one page; plus the total when asked."""
    scoped = apply_filters(context, statement, query)
    count = None
    if query.with_count:
        count = session.scalar(scoped.with_only_columns(func.count()).order_by(None))
    if query.marker:
        scoped = scoped.where(_after_marker(session, context, query))
    order = [(_SORT_KEYS[key].desc() if direction == "desc" else _SORT_KEYS[key].asc())
             for key, direction in query.sort]
    return scoped.order_by(*order).limit(query.limit), count
