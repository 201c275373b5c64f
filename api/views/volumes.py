"""Volume JSON as Cinder shapes it, field by field per microversion and role.

Create and update answer the plain view; show and detail (GET) add the
``os-vol-*`` attributes Cinder's extensions add, the host and migration ones
for admins only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from api.deps import RequestContext
from api.services.metadata import VISIBLE_ADMIN_KEYS
from api.views.pages import collection
from db.models import Volume

if TYPE_CHECKING:
    from api.services.volumes import VolumeDetail

__all__ = ["volume", "volume_details", "volume_list", "summary", "metadata", "links", "iso",
           "service_uuid"]

# service_uuid names the service holding a volume; ours is derived from its
# ``host@backend`` so every API worker gives the same id without a column for it.
_SERVICE_NAMESPACE = uuid.UUID("5b0e6a8c-1f3d-4c4e-9a57-0c1d2e3f4a5b")


def iso(value: datetime | None) -> str | None:
    """Cinder's ``%Y-%m-%dT%H:%M:%S.%f``, through isoformat: a third of strftime's time,
    which a detail page pays twice per volume."""
    return value.isoformat(timespec="microseconds") if value is not None else None


def service_uuid(host: str | None) -> str | None:
    if not host:
        return None
    return _backend_uuid(host.split("#", 1)[0])


@lru_cache(maxsize=1024)
def _backend_uuid(backend: str) -> str:
    """A detail page names the same few backends a thousand times."""
    return str(uuid.uuid5(_SERVICE_NAMESPACE, backend))


def links(context: RequestContext, collection: str, item_id: str,
          project_id: str | None = None) -> list[dict[str, str]]:
    """Self link under /v3, bookmark without the version, as Cinder gives them."""
    project = project_id or context.project_id
    return [
        {"rel": "self", "href": f"{context.base_url}/v3/{project}/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{context.base_url}/{project}/{collection}/{item_id}"},
    ]


def metadata(rows: Iterable[Any]) -> dict[str, str]:
    return {row.key: row.value for row in rows}


def _attachments(volume_id: str, attached: Iterable[Any]) -> list[dict[str, Any]]:
    return [{
        "id": volume_id, "attachment_id": a.id, "volume_id": volume_id,
        "server_id": a.instance_uuid, "host_name": a.attached_host,
        "device": a.mountpoint, "attached_at": iso(a.attach_time),
    } for a in attached]


@dataclass(frozen=True)
class _Shape:
    """The fields the request's microversion and role add, decided once per request
    rather than once per volume of a page."""

    group_id: bool
    provider_id: bool
    shared_targets: bool
    cluster_name: bool
    admin: bool


def _shape(context: RequestContext) -> _Shape:
    version = context.microversion
    return _Shape(group_id=version.at_least("volume_group_id"),
                  provider_id=context.is_admin and version.at_least("volume_provider_id"),
                  shared_targets=version.at_least("shared_targets"),
                  cluster_name=context.is_admin and version.at_least("volume_cluster_name"),
                  admin=context.is_admin)


def volume(context: RequestContext, row: Volume, *, extended: bool = True) -> dict[str, Any]:
    """One volume. ``extended`` adds the os-vol-* attributes of GET responses."""
    shown = metadata(row.volume_metadata)
    shown.update((m.key, m.value) for m in row.volume_admin_metadata
                 if m.key in VISIBLE_ADMIN_KEYS)
    return _body(context, _shape(context), row, row.volume_type.name, shown,
                 [a for a in row.attachments if a.attach_status == "attached"],
                 (iso(row.created_at), iso(row.updated_at)), extended=extended)


def volume_details(context: RequestContext,
                   details: Iterable[VolumeDetail]) -> list[dict[str, Any]]:
    """The volumes of a detail list or a show, from plain rows (``api.services.volumes``)."""
    shape = _shape(context)
    return [_body(context, shape, d.row, d.row.volume_type_name, d.metadata, d.attachments,
                  (d.row.created_text, d.row.updated_text), extended=True)
            for d in details]


def _body(context: RequestContext, shape: _Shape, row: Any, volume_type_name: str,
          volume_metadata: dict[str, str], attached: list[Any],
          created_updated: tuple[str | None, str | None], *, extended: bool) -> dict[str, Any]:
    """``row`` is a Volume or a row of ``api.services.volumes.SHOWN_COLUMNS``, whose
    timestamps come as text already (``created_updated``)."""
    volume_id, host = row.id, row.host
    body: dict[str, Any] = {
        "id": volume_id,
        "status": row.status,
        "size": row.size,
        "availability_zone": row.availability_zone,
        "created_at": created_updated[0],
        "updated_at": created_updated[1],
        "name": row.display_name,
        "description": row.display_description,
        "volume_type": volume_type_name,
        "snapshot_id": row.snapshot_id,
        "source_volid": row.source_volid,
        "metadata": volume_metadata,
        "links": links(context, "volumes", volume_id, row.project_id),
        "user_id": row.user_id,
        "bootable": "true" if row.bootable else "false",
        "encrypted": False,
        "replication_status": row.replication_status,
        "consistencygroup_id": None,
        "multiattach": row.multiattach,
        "attachments": _attachments(volume_id, attached) if attached else [],
        "migration_status": row.migration_status,
    }
    if shape.group_id:
        body["group_id"] = row.group_id
    if shape.provider_id:
        body["provider_id"] = None
    if shape.shared_targets:
        # One LIO target per volume: never shared once placed; Cinder says true before.
        body["shared_targets"] = host is None
        body["service_uuid"] = service_uuid(host)
    if shape.cluster_name:
        body["cluster_name"] = None  # cinderblock has no clusters
    if extended:
        body["os-vol-tenant-attr:tenant_id"] = row.project_id
        if shape.admin:
            body["os-vol-mig-status-attr:migstat"] = row.migration_status
            body["os-vol-mig-status-attr:name_id"] = None
            body["os-vol-host-attr:host"] = host
    return body


def brief(context: RequestContext, volume_id: str, name: str | None,
          project_id: str) -> dict[str, Any]:
    return {"id": volume_id, "name": name,
            "links": links(context, "volumes", volume_id, project_id)}


def volume_list(context: RequestContext, items: list[dict[str, Any]], *, path: str,
                query: Sequence[tuple[str, str]], limit: int, count: int | None
                ) -> dict[str, Any]:
    """A page of volumes, with a next link when the page is full."""
    return collection(context, "volumes", items, path=path, query=query, limit=limit,
                      count=count)


def summary(context: RequestContext, total_count: int, total_size: int,
            meta: dict[str, list[str]]) -> dict[str, Any]:
    body: dict[str, Any] = {"total_count": total_count, "total_size": total_size}
    if context.microversion.at_least("summary_metadata"):
        body["metadata"] = meta
    return {"volume-summary": body}
