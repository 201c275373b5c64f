"""QoS specs: named key/value limits, and which volume types point at them.

A volume type holds at most one ``qos_specs_id``; a spec still associated is not
deleted unless forced, and a forced delete clears the types' pointers in the same
transaction (the foreign key refuses a dangling pointer in the database too).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import RequestContext
from api.errors import BadRequest, Conflict, NotFound
from api.services.listing import Listing, ListQuery
from api.services.metadata import merge
from api.validation import MAX_TEXT
from db.models import QosSpecsKey, QualityOfServiceSpecs, VolumeType

__all__ = ["QOS_SPECS", "find", "create", "set_keys", "delete_keys", "delete", "associations",
           "associate", "disassociate", "disassociate_all", "listed", "specs_dict"]

CONSUMERS = ("back-end", "front-end", "both")
_SORT_KEYS = {
    "created_at": QualityOfServiceSpecs.created_at,
    "id": QualityOfServiceSpecs.id,
    "name": QualityOfServiceSpecs.name,
    "consumer": QualityOfServiceSpecs.consumer,
}


def _condition(context: RequestContext, key: str, text: str, like: bool
               ) -> ColumnElement[bool] | None:
    return None


# Cinder lets admins filter qos-specs on id, name and consumer only.
QOS_SPECS = Listing(model=QualityOfServiceSpecs, sort_keys=_SORT_KEYS,
                    user_filters=frozenset({"id", "name", "consumer"}),
                    admin_filters=frozenset(), condition=_condition, project_scoped=False)


def find(session: Session, specs_id: str) -> QualityOfServiceSpecs:
    row = session.get(QualityOfServiceSpecs, specs_id)
    if row is None:
        raise NotFound(f"No such QoS spec {specs_id}.")
    return row


def specs_dict(row: QualityOfServiceSpecs) -> dict[str, str]:
    return {item.key: item.value for item in row.specs}


def _pairs(value: Any, field: str) -> dict[str, str]:
    """Spec keys and values: strings (numbers are taken as their text) of 1-255 chars."""
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{value!r} is not of type 'object'")
    pairs = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise BadRequest(f"Invalid qos specs: value of {key} must be a string.")
        text = str(item)
        if not key or len(key) > MAX_TEXT or len(text) > MAX_TEXT:
            raise BadRequest(f"Invalid qos specs: {key} and its value must be 1 to "
                             f"{MAX_TEXT} characters.")
        pairs[key] = text
    return pairs


def _consumer(pairs: dict[str, str]) -> str | None:
    consumer = pairs.pop("consumer", None)
    if consumer is not None and consumer not in CONSUMERS:
        raise BadRequest(f"Invalid qos specs: consumer must be one of {', '.join(CONSUMERS)}, "
                         f"not {consumer!r}.")
    return consumer


def create(session: Session, body: Any) -> QualityOfServiceSpecs:
    if not isinstance(body, dict) or not isinstance(body.get("qos_specs"), dict):
        raise BadRequest("'qos_specs' is a required property")
    pairs = _pairs(body["qos_specs"], "qos_specs")
    name = pairs.pop("name", "").strip()
    if not name:
        raise BadRequest("Invalid input for field/attribute name. 'name' is a required "
                         "property and must not be empty")
    consumer = _consumer(pairs)
    row = QualityOfServiceSpecs(name=name, consumer=consumer or "back-end",
                                specs=[QosSpecsKey(key=k, value=v) for k, v in pairs.items()])
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"QoS Specs {name} already exists.") from None
    session.commit()
    return row


def set_keys(session: Session, row: QualityOfServiceSpecs, body: Any) -> dict[str, str]:
    """Add or overwrite keys (``consumer`` changes the consumer); returns what was set."""
    if not isinstance(body, dict) or "qos_specs" not in body:
        raise BadRequest("'qos_specs' is a required property")
    pairs = _pairs(body["qos_specs"], "qos_specs")
    given = dict(pairs)
    consumer = _consumer(pairs)
    if consumer is not None:
        row.consumer = consumer
    merge(session, row.specs, QosSpecsKey, pairs)
    session.commit()
    return given


def delete_keys(session: Session, row: QualityOfServiceSpecs, body: Any) -> None:
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise BadRequest("Invalid input for field/attribute keys. 'keys' must be a list of "
                         "key names.")
    current = {item.key: item for item in row.specs}
    for key in keys:
        if key not in current:
            raise NotFound(f"QoS spec {row.id} has no spec with key {key}.")
    for key in keys:
        row.specs.remove(current[key])
    session.commit()


def _types(session: Session, row: QualityOfServiceSpecs) -> list[VolumeType]:
    return list(session.scalars(select(VolumeType).where(VolumeType.qos_specs_id == row.id)
                                .order_by(VolumeType.name)))


def delete(session: Session, row: QualityOfServiceSpecs, force: bool) -> None:
    if _types(session, row):
        if not force:
            raise BadRequest("Qos specs still in use.")
        disassociate_all(session, row)
    session.delete(row)
    session.commit()


def associations(session: Session, row: QualityOfServiceSpecs) -> list[dict[str, str]]:
    return [{"association_type": "volume_type", "name": t.name, "id": t.id}
            for t in _types(session, row)]


def _volume_type(session: Session, type_id: str | None) -> VolumeType:
    if not type_id:
        raise BadRequest("Volume Type id must not be None.")
    volume_type = session.get(VolumeType, type_id)
    if volume_type is None:
        raise NotFound(f"Volume type with id {type_id} could not be found.")
    return volume_type


def associate(session: Session, row: QualityOfServiceSpecs, type_id: str | None) -> None:
    """Point the type at these specs; a type already on other specs is refused (400)."""
    volume_type = _volume_type(session, type_id)
    won = session.execute(
        update(VolumeType)
        .where(VolumeType.id == volume_type.id,
               func.coalesce(VolumeType.qos_specs_id, row.id) == row.id)
        .values(qos_specs_id=row.id).execution_options(synchronize_session=False)).rowcount
    if not won:
        session.rollback()
        raise BadRequest(f"Invalid volume type: Type {volume_type.id} is already associated "
                         f"with another qos specs: {volume_type.qos_specs_id}")
    session.commit()


def disassociate(session: Session, row: QualityOfServiceSpecs, type_id: str | None) -> None:
    volume_type = _volume_type(session, type_id)
    session.execute(update(VolumeType)
                    .where(VolumeType.id == volume_type.id, VolumeType.qos_specs_id == row.id)
                    .values(qos_specs_id=None).execution_options(synchronize_session=False))
    session.commit()


def disassociate_all(session: Session, row: QualityOfServiceSpecs) -> None:
    session.execute(update(VolumeType).where(VolumeType.qos_specs_id == row.id)
                    .values(qos_specs_id=None).execution_options(synchronize_session=False))
    session.commit()


def listed(session: Session, context: RequestContext, query: ListQuery
           ) -> list[QualityOfServiceSpecs]:
    statement, _ = QOS_SPECS.page(session, context, select(QualityOfServiceSpecs), query)
    return list(session.scalars(statement))
