"""The OpenAPI description of the real API, for schemathesis.

Paths, methods and path parameters come from the FastAPI app itself (``app.openapi()``),
so the description cannot drift from the routes. What FastAPI cannot see is added
here: routes read their bodies and list queries by hand (Cinder's bodies are looser
than a model), so request bodies and the list query parameters are described from
Cinder's API reference; every 4xx must be Cinder's error body; the URL's project
is the token's, since any other one is only ever a 400.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

__all__ = ["describe"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_BOOL = {"type": "boolean"}
_MAP = {"type": "object", "additionalProperties": _STR}
_ANY_OBJECT = {"type": "object"}


def _entity(name: str, properties: dict[str, Any], required: tuple[str, ...] = ()
            ) -> dict[str, Any]:
    inner: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        inner["required"] = list(required)
    return {"type": "object", "properties": {name: inner}, "required": [name]}


def _one_of_actions(actions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"type": "object", "properties": actions, "minProperties": 1, "maxProperties": 1}


_VOLUME = {"size": _INT, "name": _STR, "description": _STR, "metadata": _MAP,
           "volume_type": _STR, "availability_zone": _STR, "snapshot_id": _STR,
           "source_volid": _STR, "multiattach": _BOOL}
_CONNECTOR = {"type": "object", "properties": {"initiator": _STR, "host": _STR, "ip": _STR,
                                               "mode": _STR, "multipath": _BOOL}}
_VOLUME_ACTIONS = _one_of_actions({
    "os-extend": {"type": "object", "properties": {"new_size": _INT}},
    "os-reset_status": {"type": "object", "properties": {"status": _STR,
                                                         "attach_status": _STR}},
    "os-set_bootable": {"type": "object", "properties": {"bootable": _BOOL}},
    "os-update_readonly_flag": {"type": "object", "properties": {"readonly": _BOOL}},
    "os-force_delete": _ANY_OBJECT,
    "os-retype": {"type": "object", "properties": {"new_type": _STR,
                                                   "migration_policy": _STR}},
    "os-migrate_volume": {"type": "object", "properties": {
        "host": _STR, "force_host_copy": _BOOL, "lock_volume": _BOOL}},
    "os-reserve": _ANY_OBJECT, "os-unreserve": _ANY_OBJECT,
    "os-begin_detaching": _ANY_OBJECT, "os-roll_detaching": _ANY_OBJECT,
    "os-initialize_connection": {"type": "object", "properties": {"connector": _CONNECTOR}},
    "os-terminate_connection": {"type": "object", "properties": {"connector": _CONNECTOR}},
    "os-attach": {"type": "object", "properties": {"instance_uuid": _STR,
                                                   "mountpoint": _STR, "mode": _STR}},
    "os-detach": {"type": "object", "properties": {"attachment_id": _STR}},
    "os-update_volume_metadata": {"type": "object", "properties": {"metadata": _MAP}},
})
_VOLUME_TYPE = {"name": _STR, "description": _STR, "os-volume-type-access:is_public": _BOOL,
                "extra_specs": _MAP}
_SNAPSHOT = {"volume_id": _STR, "name": _STR, "description": _STR, "force": _BOOL,
             "metadata": _MAP}
_COUNTS = {"type": "object", "additionalProperties": _INT}

# (method, path below /v3/{project_id}) -> request body schema
_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/volumes"): _entity("volume", _VOLUME),
    ("put", "/volumes/{volume_id}"): _entity("volume", {
        k: _VOLUME[k] for k in ("name", "description", "metadata")}),
    ("post", "/volumes/{volume_id}/metadata"): _entity("metadata", {}),
    ("put", "/volumes/{volume_id}/metadata"): _entity("metadata", {}),
    ("put", "/volumes/{volume_id}/metadata/{key}"): {
        "type": "object", "properties": {"meta": _MAP}, "required": ["meta"]},
    ("post", "/volumes/{volume_id}/action"): _VOLUME_ACTIONS,
    ("post", "/types"): _entity("volume_type", _VOLUME_TYPE),
    ("put", "/types/{type_id}"): _entity("volume_type", _VOLUME_TYPE),
    ("post", "/types/{type_id}/extra_specs"): {
        "type": "object", "properties": {"extra_specs": _MAP}, "required": ["extra_specs"]},
    ("put", "/types/{type_id}/extra_specs/{key}"): _MAP,
    ("post", "/types/{type_id}/action"): _one_of_actions({
        "addProjectAccess": {"type": "object", "properties": {"project": _STR}},
        "removeProjectAccess": {"type": "object", "properties": {"project": _STR}}}),
    ("put", "/os-quota-sets/{target}"): {
        "type": "object", "properties": {"quota_set": _COUNTS}, "required": ["quota_set"]},
    ("put", "/os-quota-class-sets/{class_name}"): {
        "type": "object", "properties": {"quota_class_set": _COUNTS},
        "required": ["quota_class_set"]},
    ("put", "/os-services/{action}"): {
        "type": "object", "properties": {"host": _STR, "binary": _STR,
                                         "disabled_reason": _STR}},
    ("post", "/attachments"): _entity("attachment", {
        "volume_uuid": _STR, "instance_uuid": _STR, "connector": _CONNECTOR, "mode": _STR}),
    ("put", "/attachments/{attachment_id}"): _entity("attachment", {"connector": _CONNECTOR}),
    ("post", "/snapshots"): _entity("snapshot", _SNAPSHOT),
    ("put", "/snapshots/{snapshot_id}"): _entity("snapshot", {
        k: _SNAPSHOT[k] for k in ("name", "description")}),
    ("post", "/snapshots/{snapshot_id}/action"): _one_of_actions({
        "os-reset_status": {"type": "object", "properties": {"status": _STR}},
        "os-force_delete": _ANY_OBJECT,
        "os-update_snapshot_status": {"type": "object", "properties": {
            "status": _STR, "progress": _STR}}}),
    ("post", "/snapshots/{snapshot_id}/metadata"): _entity("metadata", {}),
    ("put", "/snapshots/{snapshot_id}/metadata"): _entity("metadata", {}),
    ("put", "/snapshots/{snapshot_id}/metadata/{key}"): {
        "type": "object", "properties": {"meta": _MAP}, "required": ["meta"]},
    ("post", "/qos-specs"): _entity("qos_specs", {"name": _STR, "consumer": _STR}),
    ("put", "/qos-specs/{specs_id}"): {"type": "object", "properties": {"qos_specs": _MAP}},
    ("put", "/qos-specs/{specs_id}/delete_keys"): {
        "type": "object", "properties": {"keys": {"type": "array", "items": _STR}}},
    ("post", "/os-volume-transfer"): _entity("transfer", {"volume_id": _STR, "name": _STR}),
    ("post", "/volume-transfers"): _entity("transfer", {"volume_id": _STR, "name": _STR,
                                                        "no_snapshots": _BOOL}),
    ("post", "/os-volume-transfer/{transfer_id}/accept"): _entity("accept", {
        "auth_key": _STR}),
    ("post", "/volume-transfers/{transfer_id}/accept"): _entity("accept", {
        "auth_key": _STR}),
}
_LIST_QUERY = ("limit", "marker", "offset", "sort", "sort_key", "sort_dir", "with_count",
               "name", "status", "metadata", "all_tenants", "project_id", "created_at",
               "volume_id", "availability_zone", "bootable")
_LISTS = ("/volumes", "/volumes/detail", "/volumes/summary", "/snapshots",
          "/snapshots/detail", "/attachments", "/attachments/detail", "/messages",
          "/os-volume-transfer", "/os-volume-transfer/detail", "/volume-transfers",
          "/volume-transfers/detail", "/types", "/qos-specs", "/os-services", "/os-hosts",
          "/scheduler-stats/get_pools", "/resource_filters")
_CINDER_ERROR = {
    "type": "object", "minProperties": 1, "maxProperties": 1,
    "additionalProperties": {"type": "object", "required": ["code", "message"],
                             "properties": {"code": _INT, "message": _STR}}}
_PREFIX = "/v3/{project_id}"


def describe(app: FastAPI, project_id: str,
             examples: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """OpenAPI 3 for ``app`` with ``project_id`` in every project URL; ``examples`` gives
    the values a path parameter (e.g. ``volume_id``) takes in positive tests, so they
    reach resources that exist."""
    spec = copy.deepcopy(app.openapi())
    spec.pop("components", None)
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        short = path.removeprefix(_PREFIX)
        for method, operation in item.items():
            parameters = [p for p in operation.get("parameters", [])
                          if p["name"] != "project_id"]
            for parameter in parameters:
                known = (examples or {}).get(parameter["name"])
                if known and parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "enum": known}
            if method == "get" and path.startswith(_PREFIX) and short in _LISTS:
                parameters += [{"name": name, "in": "query", "required": False,
                                "schema": _STR} for name in _LIST_QUERY]
            operation["parameters"] = parameters
            body = _BODIES.get((method, short))
            if method in ("post", "put") and path.startswith(_PREFIX):
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": body or _ANY_OBJECT}}}
            operation["responses"] = {
                "2XX": {"description": "success"},
                "4XX": {"description": "Cinder's error body", "content": {
                    "application/json": {"schema": _CINDER_ERROR}}}}
        paths[path.replace("{project_id}", project_id)] = item
    spec["paths"] = paths
    return spec
