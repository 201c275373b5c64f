"""Every option cinderblock reads, with Cinder's names, old and new.

One table serves three readers: the loader (types, defaults, deprecated names),
the sample-config generator (help text) and the config dump (which values are
secret). A backend section's options are declared once and apply to every
section named in ``enabled_backends``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Opt", "GROUPS", "BACKEND_OPTS", "BACKEND_GROUP"]

BACKEND_GROUP = "<backend>"


@dataclass(frozen=True)
class Opt:
    """One option: its type drives parsing, ``deprecated`` lists older names."""

    name: str
    type: type
    default: Any
    help: str
    deprecated: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    secret: bool = False
    min: float | None = None
    max: float | None = None
    item_type: type = str
    sample_default: str | None = field(default=None, compare=False)


def _s(name: str, default: Any, help: str, **kw: Any) -> Opt:
    return Opt(name, str, default, help, **kw)


def _i(name: str, default: Any, help: str, **kw: Any) -> Opt:
    return Opt(name, int, default, help, **kw)


def _f(name: str, default: Any, help: str, **kw: Any) -> Opt:
    return Opt(name, float, default, help, **kw)


def _b(name: str, default: Any, help: str, **kw: Any) -> Opt:
    return Opt(name, bool, default, help, **kw)


def _l(name: str, default: Any, help: str, **kw: Any) -> Opt:
    return Opt(name, list, default, help, **kw)


DEFAULT_OPTS = [
    _s("host", socket.gethostname(), "Name of this node; agents report as host@backend.",
       sample_default="<hostname>"),
    _s("auth_strategy", "keystone", "How API requests are authenticated.",
       choices=("keystone", "noauth")),
    _l("noauth_roles", ["admin"],
       "Roles of a noauth request (X-Auth-Token: user:project). A request's own X-Roles "
       "header (comma-separated, as Keystone's middleware sets it) replaces them, so "
       "tests can act as a non-admin member; a request is admin when 'admin' is among "
       "its roles."),
    _s("policy_file", None,
       "YAML file of policy rules (Cinder's names, e.g. volume:create: rule:admin_api) "
       "that replace the defaults rule by rule; unset: the defaults. Read at start-up; "
       "a rule that does not parse stops the API. Cinder's pre-oslo.policy place."),
    _s("rpc_backend", "rabbit", "Legacy messaging driver name; only rabbit is supported.",
       choices=("rabbit",)),
    _s("transport_url", None, "AMQP broker URL, e.g. rabbit://user:pass@host:5672/vhost. "
       "When unset, the [oslo_messaging_rabbit] options are used.", secret=True),
    _l("enabled_backends", [], "Backend sections this volume service serves."),
    _s("glance_host", None, "Image service host (accepted for compatibility)."),
    _s("osapi_volume_listen", "0.0.0.0", "Address the API listens on."),
    _i("osapi_volume_listen_port", 8776, "Port the API listens on.", min=1, max=65535),
    _i("osapi_volume_workers", 1, "Number of API worker processes.", min=1, max=64),
    _i("osapi_max_limit", 1000, "Largest number of items one list request returns.", min=1),
    _s("storage_availability_zone", "nova", "Availability zone of this node."),
    _s("default_availability_zone", None,
       "Zone given to new volumes when none is asked for; defaults to "
       "storage_availability_zone."),
    _s("default_volume_type", "__DEFAULT__", "Volume type of volumes created without one."),
    _i("service_down_time", 60, "Seconds without a heartbeat after which a service is down.",
       min=1),
    _i("rpc_response_timeout", 60,
       "Seconds the API waits for a volume service to answer a call (exporting or "
       "unexporting for attach and detach) before it rolls the request back.", min=1),
    _i("report_interval", 10, "Seconds between heartbeats and capability reports.", min=1),
    _i("scheduler_max_attempts", 3, "Backends a create is tried on before it fails.", min=1),
    _l("scheduler_default_filters",
       ["AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"],
       "Filters a backend must pass to receive a volume."),
    _l("scheduler_default_weighers", ["CapacityWeigher"], "Weighers that rank backends."),
    _f("capacity_weight_multiplier", 1.0,
       "Positive spreads volumes to free space, negative stacks them."),
    _i("quota_volumes", 10, "Volumes per project (-1: unlimited).", min=-1),
    _i("quota_snapshots", 10, "Snapshots per project (-1: unlimited).", min=-1),
    _i("quota_gigabytes", 1000, "Gigabytes of volumes and snapshots per project.", min=-1),
    _i("quota_backups", 10, "Backups per project (-1: unlimited).", min=-1),
    _i("quota_backup_gigabytes", 1000, "Gigabytes of backups per project.", min=-1),
    _i("quota_groups", 10, "Groups per project (-1: unlimited).", min=-1),
    _i("per_volume_size_limit", -1, "Largest size of one volume in GiB (-1: none).", min=-1),
    _i("reservation_expire", 86400, "Seconds before an uncommitted quota reservation expires.",
       min=1),
    _i("stuck_task_timeout", 600,
       "Seconds after which work in a transitional status (creating, deleting, extending, "
       "...) counts as stuck: the scheduler's sweeper sends it again while its volume "
       "service is up, and fails it once that service has been down this long.", min=1),
    _i("task_sweep_interval", 60, "Seconds between two sweeps for stuck work and expired "
       "quota reservations in each scheduler.", min=1),
    _b("debug", False, "Log at debug level."),
    _s("log_file", None, "Log to this file instead of standard error."),
    _s("log_dir", None, "Directory for log files."),
    _s("metrics_listen", "127.0.0.1", "Address of the volume service's Prometheus /metrics."),
    _i("metrics_port", 0, "Port of the volume service's Prometheus /metrics (pool size, "
       "free, thin data%/metadata%, operation latencies and failures); 0: not served.",
       min=0, max=65535),
    _b("use_json", False, "Log one JSON object per line (time, level, logger, pid, "
       "request_id, message) instead of text."),
]

DATABASE_OPTS = [
    _s("connection", "sqlite:////var/lib/cinderblock/cinderblock.sqlite",
       "SQLAlchemy URL; mysql:// and postgresql:// URLs need no compiled driver.",
       deprecated=("sql_connection",), secret=True),
    _i("max_pool_size", 40, "Connections kept open per process. The API serves up to 40 "
       "requests at once (one thread each); with a smaller pool, every burst closes and "
       "reopens connections (at 5, Cinder's default, that took half the API's CPU).",
       min=1),
    _i("max_overflow", 50, "Connections opened beyond the pool under load.", min=0),
    _i("pool_timeout", 30, "Seconds to wait for a pooled connection.", min=1),
    _i("connection_recycle_time", 3600, "Seconds after which a pooled connection is renewed.",
       min=1),
]

RABBIT_OPTS = [
    _s("rabbit_host", "localhost", "RabbitMQ host (legacy; transport_url wins)."),
    _i("rabbit_port", 5672, "RabbitMQ port (legacy).", min=1, max=65535),
    _l("rabbit_hosts", [], "RabbitMQ host:port list (legacy)."),
    _s("rabbit_userid", "guest", "RabbitMQ user (legacy)."),
    _s("rabbit_password", "guest", "RabbitMQ password (legacy).", secret=True),
    _s("rabbit_virtual_host", "/", "RabbitMQ virtual host (legacy)."),
    _i("heartbeat_timeout_threshold", 60, "AMQP heartbeat timeout in seconds (0: off).", min=0),
]

KEYSTONE_OPTS = [
    _s("www_authenticate_uri", None, "Keystone URL given to clients in WWW-Authenticate.",
       deprecated=("auth_uri",)),
    _s("auth_url", None, "Keystone URL the service user authenticates against."),
    _s("auth_type", "password", "Auth plugin of the service user.",
       deprecated=("auth_plugin",), choices=("password", "v3password")),
    _s("project_domain_id", "default", "Domain of the service project."),
    _s("project_domain_name", None, "Domain of the service project, by name."),
    _s("user_domain_id", "default", "Domain of the service user."),
    _s("user_domain_name", None, "Domain of the service user, by name."),
    _s("project_name", "service", "Project of the service user."),
    _s("username", "cinder", "Service user name."),
    _s("password", None, "Service user password.", secret=True),
    _s("region_name", None, "Keystone region."),
    _i("token_cache_time", 300, "Seconds a validated token is trusted before re-checking.",
       min=0),
]

CONCURRENCY_OPTS = [
    _s("lock_path", None, "Directory for inter-process lock files."),
]

BACKEND_OPTS = [
    _s("volume_driver", "cinder.volume.drivers.lvm.LVMVolumeDriver",
       "Driver of this backend: Cinder's LVM driver path or 'lvm'; 'fake' is the "
       "recorded test backend."),
    _s("volume_backend_name", None, "Name volume types select with volume_backend_name; "
       "defaults to the section name."),
    _s("volume_group", "cinder-volumes", "LVM volume group that holds the volumes."),
    _s("lvm_type", "default", "default (thick), thin, or auto (thin when the VG allows it).",
       choices=("default", "thin", "auto")),
    _s("target_protocol", "iscsi", "Export protocol.", deprecated=("iscsi_protocol",),
       choices=("iscsi",)),
    _s("target_helper", "lioadm", "Target implementation; only LIO (lioadm) is supported.",
       deprecated=("iscsi_helper",)),
    _s("target_ip_address", None, "Address initiators reach the target on; the portal "
       "listens there. Unset or 0.0.0.0: listen on every address and advertise this "
       "node's primary address.", deprecated=("iscsi_ip_address",)),
    _i("target_port", 3260, "iSCSI port.", deprecated=("iscsi_port",), min=1, max=65535),
    _s("target_prefix", "iqn.2010-10.org.openstack:", "Prefix of target IQNs.",
       deprecated=("iscsi_target_prefix",)),
    _s("volume_clear", "zero", "Wipe deleted thick volumes: zero or none.",
       choices=("zero", "none")),
    _i("volume_clear_size", 0, "MiB to wipe at the start of a deleted volume (0: all).", min=0),
    _i("reserved_percentage", 0, "Capacity kept free from scheduling, in percent.",
       min=0, max=100),
    _f("max_over_subscription_ratio", 20.0, "Thin provisioning over-subscription ratio.",
       min=1.0),
    _s("backend_availability_zone", None, "Zone of this backend; defaults to "
       "storage_availability_zone."),
    _i("fake_capacity_gb", 1000, "Size of the recorded fake backend (volume_driver = fake).",
       min=0),
    _s("fake_record_file", None, "File where the fake backend records every call, so its "
       "volumes and call counts survive a restart."),
    _f("fake_create_delay", 0.0, "Seconds the fake backend waits after creating a volume "
       "before it answers (lets tests kill an agent mid-request).", min=0.0),
    _f("fake_delete_delay", 0.0, "Seconds the fake backend waits after deleting a volume "
       "before it answers (lets tests kill an agent mid-delete).", min=0.0),
]

GROUPS: dict[str, list[Opt]] = {
    "DEFAULT": DEFAULT_OPTS,
    "database": DATABASE_OPTS,
    "oslo_messaging_rabbit": RABBIT_OPTS,
    "keystone_authtoken": KEYSTONE_OPTS,
    "oslo_concurrency": CONCURRENCY_OPTS,
    BACKEND_GROUP: BACKEND_OPTS,
}
