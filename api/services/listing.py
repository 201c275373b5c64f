"""Listing any resource the way Cinder's query string asks: filters, sorting, keyset pages.

Pages use the marker's sort values (``WHERE (keys) > (marker's keys)``) instead of
OFFSET, so deep pages cost the same as the first; every key ends with ``id`` so
the order is total and no row appears twice or is skipped. A :class:`Listing`
names what differs between resources (columns, filters, sort keys); volumes,
snapshots and the rest share the parsing and paging below.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound
from api.validation import boolean

__all__ = ["ListQuery", "Listing", "int_param", "dict_filter", "metadata_condition"]

_PAGING = {"limit", "marker", "sort", "sort_key", "sort_dir", "offset", "with_count",
           "all_tenants"}

# (context, filter name without "~", text, like) -> condition, or None for "column == text".
Condition = Callable[[RequestContext, str, str, bool], "ColumnElement[bool] | None"]


@dataclass
class ListQuery:
    limit: int
    marker: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)
    all_projects: bool = False
    with_count: bool = False
    offset: int = 0


def int_param(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} param must be positive")
    return value


def dict_filter(name: str, text: str) -> dict[str, str]:
    """A dict given in a query string, as JSON or as a Python literal (Cinder takes both)."""
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


def metadata_condition(relationship: Any, model: Any, name: str, text: str
                       ) -> ColumnElement[bool]:
    """Rows whose key/value ``relationship`` holds every pair of the filter."""
    return and_(true(), *[relationship.any(and_(model.key == k, model.value == v))
                          for k, v in dict_filter(name, text).items()])


@dataclass(frozen=True)
class Listing:
    """What one resource's list calls may filter and sort on.

    ``condition`` builds the filters that are not ``column == text`` (names, metadata,
    joins); ``admin_filters`` are further columns admins may filter on, and any other
    key matches nothing for them (Cinder's behaviour, sample 92).
    """

    model: Any
    sort_keys: Mapping[str, Any]
    user_filters: Collection[str]
    admin_filters: Collection[str]
    condition: Condition
    # False for resources that belong to no project (QoS specs): no scoping by project.
    project_scoped: bool = True
    # The rows of a project, for a model with no project_id of its own (attachments).
    owned_by: Callable[[str], ColumnElement[bool]] | None = None

    def _owned(self, project_id: str) -> ColumnElement[bool]:
        if self.owned_by is not None:
            return self.owned_by(project_id)
        return self.model.project_id == project_id

    def parse(self, context: RequestContext, query: Sequence[tuple[str, str]],
              max_limit: int) -> ListQuery:
        params = dict(query)
        limit = min(int_param("limit", params["limit"]), max_limit) if "limit" in params \
            else max_limit
        offset = int_param("offset", params["offset"]) if "offset" in params else 0
        all_projects = context.is_admin and boolean(params.get("all_tenants", "0"),
                                                    "all_tenants")
        filters = {k: v for k, v in params.items() if k not in _PAGING}
        unknown = sorted({k.removesuffix("~") for k in filters} - set(self.user_filters))
        if unknown and not context.is_admin:
            raise BadRequest(f"Invalid filters {', '.join(unknown)} are found in query "
                             "options.")
        with_count = (context.microversion.at_least("list_count")
                      and boolean(params.get("with_count", "false"), "with_count"))
        return ListQuery(limit=limit, marker=params.get("marker"), sort=self._sort(params),
                         filters=filters, all_projects=all_projects, with_count=with_count,
                         offset=offset)

    def _sort(self, params: dict[str, str]) -> list[tuple[str, str]]:
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
            if key not in self.sort_keys:
                raise BadRequest(f"Invalid input received: Invalid sort key {key!r}.")
            if direction not in ("asc", "desc"):
                raise BadRequest(f"Invalid input received: Unknown sort direction "
                                 f"{direction!r}, must be 'desc' or 'asc'.")
        if not any(key == "id" for key, _ in pairs):
            pairs.append(("id", pairs[-1][1] if pairs else "desc"))
        return pairs

    def _filter(self, context: RequestContext, key: str, text: str) -> ColumnElement[bool]:
        like = key.endswith("~") and context.microversion.at_least("like_filters")
        key = key.removesuffix("~")
        if key not in self.user_filters and key not in self.admin_filters:
            return false()
        special = self.condition(context, key, text, like)
        if special is not None:
            return special
        column = getattr(self.model, key, None)
        return false() if column is None else column == text

    def _scoped(self, query: ListQuery) -> bool:
        return self.project_scoped and not query.all_projects

    def filtered(self, context: RequestContext, statement: Select[Any], query: ListQuery
                 ) -> Select[Any]:
        """Project scoping plus every filter of ``query``."""
        if self._scoped(query):
            statement = statement.where(self._owned(context.project_id))
        for key, text in query.filters.items():
            if key == "project_id" and not query.all_projects:
                continue
            statement = statement.where(self._filter(context, key, text))
        return statement

    def _after_marker(self, session: Session, context: RequestContext, query: ListQuery
                      ) -> ColumnElement[bool]:
        """Rows after the marker, which must be a row the caller may list (any filter)."""
        keys = [self.sort_keys[key] for key, _ in query.sort]
        marker = select(*keys).where(self.model.id == query.marker)
        if self._scoped(query):
            marker = marker.where(self._owned(context.project_id))
        marker_values = session.execute(marker).first()
        if marker_values is None:
            raise NotFound(f"Marker {query.marker} could not be found.")
        clauses = []
        for i, (key, direction) in enumerate(query.sort):
            equal = [self.sort_keys[k] == marker_values[j]
                     for j, (k, _) in enumerate(query.sort[:i])]
            column = self.sort_keys[key]
            beyond = (column < marker_values[i] if direction == "desc"
                      else column > marker_values[i])
            clauses.append(and_(*equal, beyond))
        return or_(*clauses)

    def page(self, session: Session, context: RequestContext, statement: Select[Any],
             query: ListQuery) -> tuple[Select[Any], int | None]:
        """``statement`` filtered, ordered and cut to one page; plus the total when asked."""
        scoped = self.filtered(context, statement, query)
        count = None
        if query.with_count:
            count = session.scalar(scoped.with_only_columns(func.count()).order_by(None))
        if query.marker:
            scoped = scoped.where(self._after_marker(session, context, query))
        order = [(self.sort_keys[key].desc() if direction == "desc"
                  else self.sort_keys[key].asc()) for key, direction in query.sort]
        return scoped.order_by(*order).offset(query.offset).limit(query.limit), count
