"""User messages (``/messages``, 3.3): read and delete what ``db.messages`` recorded."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import NotFound
from api.services.listing import Listing, ListQuery
from db.models import Message

__all__ = ["MESSAGES", "USER_FILTERS", "find", "listed", "remove"]

# Cinder's resource_filters.json for messages.
USER_FILTERS = frozenset({"resource_uuid", "resource_type", "event_id", "request_id",
                          "message_level"})
_SORT_KEYS = {
    "created_at": Message.created_at,
    "id": Message.id,
    "event_id": Message.event_id,
    "message_level": Message.message_level,
    "resource_type": Message.resource_type,
    "resource_uuid": Message.resource_uuid,
    "request_id": Message.request_id,
}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    if like:
        return getattr(Message, key).contains(text, autoescape=True)
    return None


MESSAGES = Listing(model=Message, sort_keys=_SORT_KEYS, user_filters=USER_FILTERS,
                   admin_filters=frozenset({"project_id"}), condition=_condition)


def find(session: Session, context: RequestContext, message_id: str) -> Message:
    row = session.get(Message, message_id)
    if row is None or not context.can_access(row.project_id):
        raise NotFound(f"Message {message_id} could not be found.")
    return row


def listed(session: Session, context: RequestContext, query: ListQuery
           ) -> tuple[list[Message], int | None]:
    statement, count = MESSAGES.page(session, context, select(Message), query)
    return list(session.scalars(statement)), count


def remove(session: Session, row: Message) -> None:
    session.execute(delete(Message).where(Message.id == row.id)
                    .execution_options(synchronize_session=False))
    session.commit()
