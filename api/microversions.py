"""Microversions: parsing the request header and the features each version turns on.

A client asks with ``OpenStack-API-Version: volume 3.N`` (or ``latest``); no header
means 3.0. We advertise as maximum only the highest version whose behaviour is
implemented: ``FEATURES`` lists every version-gated behaviour cinderblock serves,
and ``NOT_SERVED`` the Cinder features up to that maximum that cinderblock answers
with 404 regardless of version (resources it does not have).
"""

from __future__ import annotations

import re
from functools import total_ordering

from api.errors import BadRequest, NotAcceptable

__all__ = ["Version", "MIN", "MAX", "FEATURES", "NOT_SERVED", "parse", "HEADER", "SERVICE"]

HEADER = "OpenStack-API-Version"
SERVICE = "volume"
_FORMAT = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@total_ordering
class Version:
    """A major.minor pair that compares numerically (3.10 > 3.9)."""

    __slots__ = ("major", "minor")

    def __init__(self, major: int, minor: int) -> None:
        self.major = major
        self.minor = minor

    @classmethod
    def of(cls, text: str) -> Version:
        match = _FORMAT.match(text)
        if not match:
            raise BadRequest(f"API Version String {text} is of invalid format. "
                             "Must be of format MajorNum.MinorNum.")
        return cls(int(match.group(1)), int(match.group(2)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and (self.major, self.minor) == (other.major,
                                                                          other.minor)

    def __lt__(self, other: Version) -> bool:
        return (self.major, self.minor) < (other.major, other.minor)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __repr__(self) -> str:
        return f"Version({self})"

    def at_least(self, feature: str) -> bool:
        """Whether this request's version turns ``feature`` (a FEATURES key) on."""
        return self >= FEATURES[feature]


# Version-gated behaviour cinderblock implements, named for what it changes.
FEATURES: dict[str, Version] = {
    "strict_bootable_filter": Version(3, 2),     # bootable=false filters, not "any value"
    "messages": Version(3, 3),                   # /messages (user messages)
    "glance_metadata_filter": Version(3, 4),     # accepted; no volume has image metadata
    "messages_pagination": Version(3, 5),        # filters, sort and markers on /messages
    "services_cluster": Version(3, 7),           # cluster (null) in os-services
    "group_id_filter": Version(3, 10),           # volumes?group_id=
    "group_types": Version(3, 11),               # /group_types and group specs
    "groups": Version(3, 13),                    # /groups (generic volume groups)
    "group_snapshots": Version(3, 14),           # /group_snapshots
    "group_snapshot_reset_status": Version(3, 19),  # group snapshots reset_status action
    "group_reset_status": Version(3, 20),        # groups reset_status action
    "group_volume_list": Version(3, 25),         # groups/{id}?list_volume=true
    "group_replication_status": Version(3, 38),  # replication_status (null) in groups
    "volume_summary": Version(3, 12),            # GET volumes/summary
    "volume_group_id": Version(3, 13),           # group_id in volume bodies
    "snapshot_group_snapshot_id": Version(3, 14),  # group_snapshot_id in snapshot bodies
    "metadata_etag": Version(3, 15),             # ETag / If-Match on volume metadata
    "volume_provider_id": Version(3, 21),        # provider_id in volume bodies (admin)
    "delete_force_param": Version(3, 23),        # DELETE volumes/{id}?force=true (admin)
    "snapshot_metadata_filter": Version(3, 22),  # snapshots?metadata=
    "resource_filters": Version(3, 33),          # GET resource_filters
    "like_filters": Version(3, 34),              # name~=part filters
    "summary_metadata": Version(3, 36),          # metadata in volumes/summary
    "limits_project_filter": Version(3, 39),     # limits?project_id= for admins
    "snapshot_user_id": Version(3, 41),          # user_id in snapshot bodies
    "revert_to_snapshot": Version(3, 40),        # volumes revert action (latest snapshot)
    "extend_in_use": Version(3, 42),             # os-extend of in-use volumes
    "list_count": Version(3, 45),                # with_count=true adds count
    "shared_targets": Version(3, 48),            # shared_targets, service_uuid
    "services_backend_state": Version(3, 49),    # backend_state in os-services
    "pool_name_filter": Version(3, 28),          # get_pools?name=
    "attachments": Version(3, 27),               # /attachments (reserve, connect, delete)
    "attachment_complete": Version(3, 44),       # attachments os-complete
    "attach_mode": Version(3, 54),               # mode (rw/ro) in attachment create
    "transfer_no_snapshots": Version(3, 55),     # volume-transfers, no_snapshots
    "transfer_history": Version(3, 57),          # source/destination project, accepted
    "transfer_pagination": Version(3, 59),       # sort, marker, limit on transfer lists
    "time_comparison_filters": Version(3, 60),   # created_at=gt:..., updated_at=lte:...
    "volume_cluster_name": Version(3, 61),       # cluster_name (null) for admins
    "default_type_overrides": Version(3, 62),    # default-types per project
}

# Cinder features at or below MAX that cinderblock does not serve: their URLs are 404.
NOT_SERVED: dict[str, Version] = {
    "image upload visibility/protected": Version(3, 1),
    "consistency groups update": Version(3, 6),
    "clusters API": Version(3, 7),
    "manageable volumes and snapshots": Version(3, 8),
    "backups": Version(3, 9),
    "migration to a cluster": Version(3, 16),
    "worker cleanup": Version(3, 24),
    "service log levels": Version(3, 32),
    "replication groups": Version(3, 38),
    "backup metadata": Version(3, 43),
    "create from image or backup (imageRef, backup_id: 400)": Version(3, 47),
    "cross-AZ backups": Version(3, 51),
    "backup project and user ids": Version(3, 56),
    "group and group snapshot project ids": Version(3, 58),
    "get_pools volume_type filter (the filter is ignored)": Version(3, 35),
}

MIN = Version(3, 0)
# The maximum is the newest behaviour implemented, so a new FEATURES entry raises it.
MAX = max(FEATURES.values())


def parse(header: str | None) -> Version:
    """The requested version: 3.0 without a header, 400 if malformed, 406 if not served."""
    if not header:
        return MIN
    requested = None
    for entry in header.split(","):
        parts = entry.split()
        if len(parts) == 2 and parts[0].lower() == SERVICE:
            requested = parts[1]
            break
    if requested is None:
        return MIN
    if requested.lower() == "latest":
        return MAX
    version = Version.of(requested)
    if not MIN <= version <= MAX:
        raise NotAcceptable(f"Version {version} is not supported by the API. "
                            f"Minimum is {MIN} and maximum is {MAX}.")
    return version
