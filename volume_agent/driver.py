"""The contract between the agent's message handlers and a storage backend.

The manager speaks AMQP and knows nothing of LVM or LIO; a driver knows storage
and nothing of messaging. Every method is idempotent, keyed on the ids it is
given, because the broker may deliver a request twice: creating what already
exists with the right size succeeds, deleting what is already gone succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Volume", "Snapshot", "Export", "ReconcileReport", "DriverError", "VolumeDriver"]


class DriverError(Exception):
    """A storage step failed; the message is shown to the user, so it says what failed."""


@dataclass(frozen=True)
class Volume:
    id: str
    size: int
    extra_specs: dict[str, str] = field(default_factory=dict)
    snapshot_id: str | None = None
    source_volid: str | None = None
    provider_location: str | None = None
    provider_auth: str | None = None


@dataclass(frozen=True)
class Snapshot:
    id: str
    volume_id: str
    volume_size: int


@dataclass(frozen=True)
class Export:
    """What the controller says must be exported: a volume and its attached initiators."""

    volume: Volume
    initiators: tuple[str, ...]


@dataclass
class ReconcileReport:
    """What start-up reconciliation changed, so the agent can log and report it."""

    targets_created: list[str] = field(default_factory=list)
    targets_removed: list[str] = field(default_factory=list)
    acls_created: list[str] = field(default_factory=list)
    acls_removed: list[str] = field(default_factory=list)


class VolumeDriver(Protocol):
    """One backend section's storage. Returned dicts are model updates for the controller."""

    def check_setup(self) -> None:
        """Fail start-up early with a clear message when the backend cannot work."""

    def create_volume(self, volume: Volume) -> dict[str, Any]:
        """Create an empty volume, or from ``snapshot_id``/``source_volid`` when set."""

    def delete_volume(self, volume: Volume) -> None:
        """Remove the volume and its export; refuse while it still has snapshots."""

    def local_path(self, volume: Volume) -> str:
        """The block device of the volume on this node, for a migration's copy."""

    def extend_volume(self, volume: Volume, new_size: int) -> None: ...

    def create_snapshot(self, snapshot: Snapshot) -> dict[str, Any]: ...

    def delete_snapshot(self, snapshot: Snapshot) -> None: ...

    def revert_to_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """Give the volume the snapshot's content again; the snapshot stays as it was,
        since Cinder keeps it after a revert."""

    def initialize_connection(self, volume: Volume, connector: dict[str, Any]
                              ) -> dict[str, Any]:
        """Export the volume to the connector's initiator; returns connection_info.

        The result also carries ``provider_auth`` (``"CHAP <user> <secret>"``) under the
        key ``model_update`` so the controller can persist it: the agent keeps no state.
        """

    def terminate_connection(self, volume: Volume, connector: dict[str, Any] | None) -> None:
        """Remove the initiator's ACL (all ACLs when connector is None) and, when none is
        left, the target."""

    def get_pools(self) -> list[dict[str, Any]]:
        """Capability report, one dict per pool, with Cinder's keys."""

    def reconcile_exports(self, exports: list[Export]) -> ReconcileReport:
        """Make the target configuration match ``exports`` in one pass, both ways."""

    def remove_orphans(self, known: set[str]) -> list[str]:
        """Delete the volumes this backend made whose id is not in ``known`` (every
        volume the controller has on this backend); returns the removed ids."""
