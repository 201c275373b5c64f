"""Group types (3.11) and their group specs: what kinds of generic volume groups exist."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, NotFound
from api.services.listing import Listing, ListQuery
from api.services.metadata import merge
from api.services.volume_types import flush_unique, spec_pairs, type_name
from api.validation import boolean, optional_text
from db.models import Group, GroupType, GroupTypeSpec

__all__ = ["GROUP_TYPES", "find", "list_query", "list_types", "create", "update", "remove",
           "specs", "set_specs", "delete_spec"]

_SORT_KEYS = {"created_at": GroupType.created_at, "updated_at": GroupType.updated_at,
              "id": GroupType.id, "name": GroupType.name,
              "description": GroupType.description, "is_public": GroupType.is_public}
# Cinder reads only these from a group type list's query string and ignores the rest.
_QUERY_KEYS = frozenset({"limit", "marker", "offset", "sort", "sort_key", "sort_dir",
                         "is_public"})


def _visible(context: RequestContext, key: str, text: str, like: bool
             ) -> ColumnElement[bool]:
    """Admins ask for public (true), private (false) or both (none); everyone else sees
    the public types whatever they ask (cinderblock keeps no group type access list)."""
    if not context.is_admin:
        return GroupType.is_public.is_(True)
    if text.strip().lower() == "none":
        return true()
    return GroupType.is_public.is_(boolean(text, "is_public"))


GROUP_TYPES = Listing(model=GroupType, sort_keys=_SORT_KEYS,
                      user_filters=frozenset({"is_public"}), admin_filters=frozenset(),
                      condition=_visible, project_scoped=False)


def find(session: Session, context: RequestContext, type_id: str) -> GroupType:
    """Private group types are visible to admins only (cinderblock keeps no access list)."""
    row = session.get(GroupType, type_id)
    if row is None or not (row.is_public or context.is_admin):
        raise NotFound(f"Group type {type_id} could not be found.")
    return row


def list_query(context: RequestContext, params: Sequence[tuple[str, str]], max_limit: int
               ) -> ListQuery:
    """Without ``is_public`` Cinder lists the public types only, to admins too."""
    query = GROUP_TYPES.parse(context, [(k, v) for k, v in params if k in _QUERY_KEYS],
                              max_limit)
    query.filters.setdefault("is_public", "true")
    return query


def list_types(session: Session, context: RequestContext, query: ListQuery
               ) -> list[GroupType]:
    statement, _ = GROUP_TYPES.page(session, context, select(GroupType), query)
    return list(session.scalars(statement))


def create(session: Session, spec: dict[str, Any]) -> GroupType:
    name = type_name(spec.get("name"), "group type")
    row = GroupType(name=name, description=optional_text(spec.get("description"),
                                                         "description"),
                    is_public=boolean(spec.get("is_public", True), "is_public"))
    row.group_specs = [GroupTypeSpec(key=k, value=v)
                       for k, v in spec_pairs(spec.get("group_specs"), "group_specs").items()]
    session.add(row)
    flush_unique(session, name, "Group Type")
    session.commit()
    return row


def update(session: Session, row: GroupType, spec: dict[str, Any]) -> GroupType:
    if not {"name", "description", "is_public"} & spec.keys():
        raise BadRequest("Specify group type name, description or a combination thereof.")
    if "name" in spec:
        if not optional_text(spec["name"], "name"):
            raise BadRequest("Group type name can not be empty.")
        row.name = type_name(spec["name"], "group type")
    if "description" in spec:
        row.description = optional_text(spec["description"], "description")
    if "is_public" in spec:
        row.is_public = boolean(spec["is_public"], "is_public")
    flush_unique(session, row.name, "Group Type")
    session.commit()
    return row


def remove(session: Session, row: GroupType) -> None:
    if session.scalar(select(exists().where(Group.group_type_id == row.id))):
        raise BadRequest("Target group type is still in use.")
    session.delete(row)
    session.commit()


def specs(row: GroupType) -> dict[str, str]:
    return {item.key: item.value for item in row.group_specs}


def set_specs(session: Session, row: GroupType, value: Any) -> dict[str, str]:
    wanted = spec_pairs(value, "group_specs")
    merge(session, row.group_specs, GroupTypeSpec, wanted)
    session.commit()
    return wanted


def delete_spec(session: Session, row: GroupType, key: str) -> None:
    for item in row.group_specs:
        if item.key == key:
            row.group_specs.remove(item)
            session.commit()
            return
    raise NotFound(f"Group Type {row.id} has no specs with key {key}.")
