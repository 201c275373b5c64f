"""Which rule guards each project route, checked once before any handler runs.

One table keeps the personas in one place: a reader reaches only reads, a member
also writes in its own project, admin-only routes need ``admin_api``. A route missing
from the table falls back to its method's persona (reads: project reader; anything
else: project member), so a new route is never open to a reader by accident. Rules
that depend on the request body (one ``/action`` route serves many actions) are
checked by the handlers that read it, with Cinder's per-action names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.policies.enforcer import Caller, Enforcer

__all__ = ["ROUTE_RULES", "PROJECT_PREFIX", "rule_for", "route_target", "enforce_route"]

PROJECT_PREFIX = "/v3/{project_id}"
_READ = "xena_system_admin_or_project_reader"
_WRITE = "xena_system_admin_or_project_member"

# (method, path under /v3/{project_id}) -> Cinder's rule name.
ROUTE_RULES: dict[tuple[str, str], str] = {
    ("GET", "/volumes"): "volume:get_all",
    ("GET", "/volumes/detail"): "volume:get_all",
    ("GET", "/volumes/summary"): "volume:get_all",
    ("POST", "/volumes"): "volume:create",
    ("GET", "/volumes/{volume_id}"): "volume:get",
    ("PUT", "/volumes/{volume_id}"): "volume:update",
    ("DELETE", "/volumes/{volume_id}"): "volume:delete",
    ("POST", "/volumes/{volume_id}/action"): _WRITE,
    ("GET", "/volumes/{volume_id}/metadata"): "volume:get_volume_metadata",
    ("GET", "/volumes/{volume_id}/metadata/{key}"): "volume:get_volume_metadata",
    ("POST", "/volumes/{volume_id}/metadata"): "volume:create_volume_metadata",
    ("PUT", "/volumes/{volume_id}/metadata"): "volume:update_volume_metadata",
    ("PUT", "/volumes/{volume_id}/metadata/{key}"): "volume:update_volume_metadata",
    ("DELETE", "/volumes/{volume_id}/metadata/{key}"): "volume:delete_volume_metadata",
    ("GET", "/snapshots"): "volume:get_all_snapshots",
    ("GET", "/snapshots/detail"): "volume:get_all_snapshots",
    ("POST", "/snapshots"): "volume:create_snapshot",
    ("GET", "/snapshots/{snapshot_id}"): "volume:get_snapshot",
    ("PUT", "/snapshots/{snapshot_id}"): "volume:update_snapshot",
    ("DELETE", "/snapshots/{snapshot_id}"): "volume:delete_snapshot",
    ("POST", "/snapshots/{snapshot_id}/action"): _WRITE,
    ("POST", "/attachments"): "volume:attachment_create",
    ("PUT", "/attachments/{attachment_id}"): "volume:attachment_update",
    ("DELETE", "/attachments/{attachment_id}"): "volume:attachment_delete",
    ("POST", "/attachments/{attachment_id}/action"): "volume:attachment_complete",
    ("GET", "/messages"): "message:get_all",
    ("GET", "/messages/{message_id}"): "message:get",
    ("DELETE", "/messages/{message_id}"): "message:delete",
    ("GET", "/snapshots/{snapshot_id}/metadata"): "volume:get_snapshot_metadata",
    ("GET", "/snapshots/{snapshot_id}/metadata/{key}"): "volume:get_snapshot_metadata",
    ("POST", "/snapshots/{snapshot_id}/metadata"): "volume:update_snapshot_metadata",
    ("PUT", "/snapshots/{snapshot_id}/metadata"): "volume:update_snapshot_metadata",
    ("PUT", "/snapshots/{snapshot_id}/metadata/{key}"): "volume:update_snapshot_metadata",
    ("DELETE", "/snapshots/{snapshot_id}/metadata/{key}"): "volume:delete_snapshot_metadata",
    **{key: rule for prefix in ("/os-volume-transfer", "/volume-transfers") for key, rule in {
        ("GET", prefix): "volume:get_all_transfers",
        ("GET", f"{prefix}/detail"): "volume:get_all_transfers",
        ("POST", prefix): "volume:create_transfer",
        ("GET", f"{prefix}/{{transfer_id}}"): "volume:get_transfer",
        ("POST", f"{prefix}/{{transfer_id}}/accept"): "volume:accept_transfer",
        ("DELETE", f"{prefix}/{{transfer_id}}"): "volume:delete_transfer",
    }.items()},
    ("GET", "/qos-specs"): "volume_extension:qos_specs_manage:get_all",
    ("GET", "/qos-specs/{specs_id}/associations"): "volume_extension:qos_specs_manage:get_all",
    ("GET", "/qos-specs/{specs_id}"): "volume_extension:qos_specs_manage:get",
    ("POST", "/qos-specs"): "volume_extension:qos_specs_manage:create",
    ("PUT", "/qos-specs/{specs_id}"): "volume_extension:qos_specs_manage:update",
    ("GET", "/qos-specs/{specs_id}/associate"): "volume_extension:qos_specs_manage:update",
    ("GET", "/qos-specs/{specs_id}/disassociate"): "volume_extension:qos_specs_manage:update",
    ("GET", "/qos-specs/{specs_id}/disassociate_all"):
        "volume_extension:qos_specs_manage:update",
    ("PUT", "/qos-specs/{specs_id}/delete_keys"): "volume_extension:qos_specs_manage:delete",
    ("DELETE", "/qos-specs/{specs_id}"): "volume_extension:qos_specs_manage:delete",
    ("GET", "/default-types"): "volume_extension:default_get_all",
    ("GET", "/default-types/{target}"): "volume_extension:default_get",
    ("PUT", "/default-types/{target}"): "volume_extension:default_set_or_update",
    ("DELETE", "/default-types/{target}"): "volume_extension:default_unset",
    ("GET", "/groups"): "group:get_all",
    ("GET", "/groups/detail"): "group:get_all",
    ("POST", "/groups"): "group:create",
    ("POST", "/groups/action"): "group:create",
    ("GET", "/groups/{group_id}"): "group:get",
    ("PUT", "/groups/{group_id}"): "group:update",
    ("POST", "/groups/{group_id}/action"): _WRITE,
    ("GET", "/group_snapshots"): "group:get_all_group_snapshots",
    ("GET", "/group_snapshots/detail"): "group:get_all_group_snapshots",
    ("POST", "/group_snapshots"): "group:create_group_snapshot",
    ("GET", "/group_snapshots/{group_snapshot_id}"): "group:get_group_snapshot",
    ("DELETE", "/group_snapshots/{group_snapshot_id}"): "group:delete_group_snapshot",
    ("POST", "/group_snapshots/{group_snapshot_id}/action"): _WRITE,
    ("POST", "/group_types"): "group:group_types:create",
    ("PUT", "/group_types/{type_id}"): "group:group_types:update",
    ("DELETE", "/group_types/{type_id}"): "group:group_types:delete",
    ("GET", "/group_types/{type_id}/group_specs"): "group:group_types_specs:get_all",
    ("GET", "/group_types/{type_id}/group_specs/{key}"): "group:group_types_specs:get",
    ("POST", "/group_types/{type_id}/group_specs"): "group:group_types_specs:create",
    ("PUT", "/group_types/{type_id}/group_specs/{key}"): "group:group_types_specs:update",
    ("DELETE", "/group_types/{type_id}/group_specs/{key}"): "group:group_types_specs:delete",
    ("GET", "/types"): "volume_extension:type_get_all",
    ("GET", "/types/default"): "volume_extension:type_get",
    ("GET", "/types/{type_id}"): "volume_extension:type_get",
    ("POST", "/types"): "volume_extension:type_create",
    ("PUT", "/types/{type_id}"): "volume_extension:type_update",
    ("DELETE", "/types/{type_id}"): "volume_extension:type_delete",
    ("GET", "/types/{type_id}/extra_specs"): "volume_extension:types_extra_specs:index",
    ("GET", "/types/{type_id}/extra_specs/{key}"): "volume_extension:types_extra_specs:show",
    ("POST", "/types/{type_id}/extra_specs"): "volume_extension:types_extra_specs:create",
    ("PUT", "/types/{type_id}/extra_specs/{key}"): "volume_extension:types_extra_specs:update",
    ("DELETE", "/types/{type_id}/extra_specs/{key}"):
        "volume_extension:types_extra_specs:delete",
    ("GET", "/types/{type_id}/os-volume-type-access"):
        "volume_extension:volume_type_access:get_all_for_type",
    ("GET", "/types/{type_id}/encryption"): "volume_extension:volume_type_encryption:get",
    ("GET", "/types/{type_id}/encryption/{spec}"):
        "volume_extension:volume_type_encryption:get",
    ("POST", "/types/{type_id}/encryption"): "volume_extension:volume_type_encryption:create",
    ("PUT", "/types/{type_id}/encryption/{encryption_id}"):
        "volume_extension:volume_type_encryption:update",
    ("DELETE", "/types/{type_id}/encryption/{encryption_id}"):
        "volume_extension:volume_type_encryption:delete",
    # addProjectAccess and removeProjectAccess share this route; both are admin-only.
    ("POST", "/types/{type_id}/action"): "admin_api",
    ("GET", "/os-quota-sets/{target}"): "volume_extension:quotas:show",
    ("GET", "/os-quota-sets/{target}/defaults"): "volume_extension:quotas:show",
    ("PUT", "/os-quota-sets/{target}"): "volume_extension:quotas:update",
    ("DELETE", "/os-quota-sets/{target}"): "volume_extension:quotas:delete",
    ("GET", "/limits"): "limits_extension:used_limits",
    ("GET", "/os-quota-class-sets/{class_name}"): "volume_extension:quota_classes:get",
    ("PUT", "/os-quota-class-sets/{class_name}"): "volume_extension:quota_classes:update",
    ("GET", "/os-hosts"): "volume_extension:hosts",
    ("GET", "/os-hosts/{host}"): "volume_extension:hosts",
    ("GET", "/capabilities/{host}"): "volume_extension:capabilities",
    ("GET", "/scheduler-stats/get_pools"): "scheduler_extension:scheduler_stats:get_pools",
    ("GET", "/os-services"): "volume_extension:services:index",
    ("PUT", "/os-services/{action}"): "volume_extension:services:update",
}

# Path parameters that name the project a request acts on (quotas of another project).
_TARGET_PARAMS = ("target",)


def rule_for(method: str, route_path: str) -> str:
    """The rule of a route given as FastAPI's path template (``/v3/{project_id}/...``)."""
    path = route_path.removeprefix(PROJECT_PREFIX) or "/"
    rule = ROUTE_RULES.get((method, path))
    if rule is not None:
        return rule
    return _READ if method in ("GET", "HEAD") else _WRITE


def route_target(caller: Caller, path_params: Mapping[str, Any]) -> dict[str, Any]:
    """The project the request acts on: a named target, else the caller's own."""
    project = next((path_params[name] for name in _TARGET_PARAMS if name in path_params),
                   caller.project_id)
    return {"project_id": project, "user_id": caller.user_id}


def enforce_route(enforcer: Enforcer, caller: Caller, method: str, route_path: str,
                  path_params: Mapping[str, Any]) -> None:
    """Raises PolicyNotAuthorized unless the caller may use this route at all."""
    enforcer.enforce(caller, rule_for(method, route_path), route_target(caller, path_params))
