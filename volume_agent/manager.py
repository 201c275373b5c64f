"""The agent's message handlers for one backend: speak AMQP, call the driver.

The agent keeps nothing durable and never touches the database: every result
goes back to the controller as a cast. Requests for one volume are serialised by
a per-volume lock so a redelivered request waits for the first and then finds
the work done (the driver is idempotent too).

The one thing it remembers is which attachments each initiator's export serves
(``_owners``), so that a terminate queued to undo one timed-out export cannot
remove an export a newer attachment of the same initiator relies on. Losing it is
safe: start-up reconciliation makes the exports match the database first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from common.messaging import Transport, volume_topic
from volume_agent import migrate
from volume_agent.driver import DriverError, Export, Snapshot, Volume, VolumeDriver

__all__ = ["VolumeManager", "CONTROLLER_TOPIC"]

LOG = logging.getLogger(__name__)
CONTROLLER_TOPIC = "controller"
RESTORED = "restored"


def _user_message(exc: Exception) -> str:
    if isinstance(exc, DriverError):
        return str(exc)
    return f"unexpected {type(exc).__name__} in the volume service: {exc}"


def _volume(data: dict[str, Any]) -> Volume:
    return Volume(id=data["id"], size=int(data["size"]),
                  extra_specs=dict(data.get("extra_specs") or {}),
                  snapshot_id=data.get("snapshot_id"), source_volid=data.get("source_volid"),
                  provider_location=data.get("provider_location"),
                  provider_auth=data.get("provider_auth"))


def _snapshot(data: dict[str, Any]) -> Snapshot:
    return Snapshot(id=data["id"], volume_id=data["volume_id"],
                    volume_size=int(data["volume_size"]))


class VolumeManager:
    """Endpoint of queue ``volume.<node>@<backend>`` and of the capability fanout."""

    def __init__(self, node: str, backend: str, driver: VolumeDriver, transport: Transport,
                 *, zone: str, backend_name: str, report_ttl: float | None = None) -> None:
        self.node = node
        self.backend = backend
        self.service_host = f"{node}@{backend}"
        self.driver = driver
        self.transport = transport
        self.zone = zone
        self.backend_name = backend_name
        self.report_ttl = report_ttl
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        # volume id -> initiator -> ids of the attachments its export was made for;
        # RESTORED stands for the attachments start-up reconciliation exported.
        self._owners: dict[str, dict[str, set[str]]] = {}
        self._locks_guard = threading.Lock()

    @contextmanager
    def _serialised(self, key: str) -> Iterator[None]:
        """One request per volume at a time. A lock lives only while requests use it,
        so an agent that served millions of volumes does not keep a lock for each."""
        with self._locks_guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._locks_guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def _tell(self, method: str, ttl: float | None = None, **args: Any) -> None:
        self.transport.cast(CONTROLLER_TOPIC, method, args, ttl=ttl)

    def create_volume(self, volume: dict[str, Any],
                      request_spec: dict[str, Any] | None = None) -> None:
        with self._serialised(volume["id"]):
            try:
                update = self.driver.create_volume(_volume(volume)) or {}
            except Exception as exc:
                LOG.exception("create of volume %s failed", volume["id"])
                self._tell("volume_created", volume_id=volume["id"], status="error",
                           host=volume.get("host"), error=_user_message(exc),
                           request_spec=request_spec)
                return
        self._tell("volume_created", volume_id=volume["id"], status="available",
                   provider_location=update.get("provider_location"),
                   provider_auth=update.get("provider_auth"), host=volume.get("host"),
                   error=None, request_spec=request_spec)

    def delete_volume(self, volume: dict[str, Any]) -> None:
        with self._serialised(volume["id"]):
            try:
                self.driver.delete_volume(_volume(volume))
                self._owners.pop(volume["id"], None)
            except Exception as exc:
                LOG.exception("delete of volume %s failed", volume["id"])
                self._tell("volume_deleted", volume_id=volume["id"], status="error_deleting",
                           error=_user_message(exc))
                return
        self._tell("volume_deleted", volume_id=volume["id"], status="deleted", error=None)

    def extend_volume(self, volume: dict[str, Any], new_size: int,
                      reservations: list[str] | None = None) -> None:
        with self._serialised(volume["id"]):
            try:
                self.driver.extend_volume(_volume(volume), int(new_size))
            except Exception as exc:
                LOG.exception("extend of volume %s failed", volume["id"])
                self._tell("volume_extended", volume_id=volume["id"], status="error_extending",
                           new_size=new_size, error=_user_message(exc),
                           reservations=reservations)
                return
        self._tell("volume_extended", volume_id=volume["id"], status="available",
                   new_size=new_size, error=None, reservations=reservations)

    def create_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Serialised on the volume's id: a snapshot and a delete or extend of its origin
        must not interleave."""
        with self._serialised(snapshot["volume_id"]):
            try:
                update = self.driver.create_snapshot(_snapshot(snapshot)) or {}
            except Exception as exc:
                LOG.exception("create of snapshot %s failed", snapshot["id"])
                self._tell("snapshot_created", snapshot_id=snapshot["id"], status="error",
                           provider_location=None, error=_user_message(exc))
                return
        self._tell("snapshot_created", snapshot_id=snapshot["id"], status="available",
                   provider_location=update.get("provider_location"), error=None)

    def delete_snapshot(self, snapshot: dict[str, Any]) -> None:
        with self._serialised(snapshot["volume_id"]):
            try:
                self.driver.delete_snapshot(_snapshot(snapshot))
            except Exception as exc:
                LOG.exception("delete of snapshot %s failed", snapshot["id"])
                self._tell("snapshot_deleted", snapshot_id=snapshot["id"],
                           status="error_deleting", error=_user_message(exc))
                return
        self._tell("snapshot_deleted", snapshot_id=snapshot["id"], status="deleted",
                   error=None)

    def revert_to_snapshot(self, volume: dict[str, Any], snapshot: dict[str, Any]) -> None:
        with self._serialised(volume["id"]):
            try:
                self.driver.revert_to_snapshot(_volume(volume), _snapshot(snapshot))
            except Exception as exc:
                LOG.exception("revert of volume %s to snapshot %s failed", volume["id"],
                              snapshot["id"])
                self._tell("volume_reverted", volume_id=volume["id"],
                           snapshot_id=snapshot["id"], status="error",
                           error=_user_message(exc))
                return
        self._tell("volume_reverted", volume_id=volume["id"], snapshot_id=snapshot["id"],
                   status="available", error=None)

    def migrate_volume(self, volume: dict[str, Any], destination: dict[str, Any]) -> None:
        """Copy the volume to the destination backend's agent (volume_agent.migrate) and
        report ``volume_migrated``; the copy here stays until the controller says."""
        with self._serialised(volume["id"]):
            try:
                wanted = self.transport.call(CONTROLLER_TOPIC, "migration_destination",
                                             {"volume_id": volume["id"]},
                                             timeout=migrate.TARGET_TIMEOUT)
                if wanted != destination["host"]:
                    LOG.info("migration of volume %s to %s is over (now %s); not copying",
                             volume["id"], destination["host"], wanted)
                    return
                update = migrate.copy_to(
                    self.driver, _volume(volume), destination,
                    migrate.local_connector(self.node),
                    lambda host, method, args: self.transport.call(
                        volume_topic(host), method, args, timeout=migrate.TARGET_TIMEOUT))
            except Exception as exc:
                LOG.exception("migration of volume %s to %s failed", volume["id"],
                              destination["host"])
                self._tell("volume_migrated", volume_id=volume["id"], status="error",
                           host=destination["host"], error=_user_message(exc))
                return
        self._tell("volume_migrated", volume_id=volume["id"], status="success",
                   host=destination["host"], provider_location=update.get("provider_location"),
                   provider_auth=update.get("provider_auth"), error=None)

    def create_migration_target(self, volume: dict[str, Any],
                                connector: dict[str, Any]) -> dict[str, Any]:
        """Call: the migrated volume made here and exported to the source's initiator."""
        with self._serialised(volume["id"]):
            return migrate.create_target(self.driver, _volume(volume), connector)

    def remove_migration_target(self, volume: dict[str, Any],
                                connector: dict[str, Any] | None = None,
                                delete: bool = False) -> None:
        """Call or cast: the migration's export gone, and with ``delete`` its copy too."""
        with self._serialised(volume["id"]):
            migrate.remove_target(self.driver, _volume(volume), connector, delete)

    def delete_migration_source(self, volume: dict[str, Any]) -> None:
        """The volume has moved away: remove what is left of it here. A failure is only
        logged: start-up's orphan removal deletes it, as the volume is no longer here."""
        with self._serialised(volume["id"]):
            try:
                self.driver.delete_volume(_volume(volume))
            except Exception:
                LOG.exception("volume %s moved away; its old copy was not removed",
                              volume["id"])

    def initialize_connection(self, volume: dict[str, Any], connector: dict[str, Any],
                              attachment_id: str | None = None) -> dict[str, Any]:
        """Export to the connector's initiator for ``attachment_id`` (remembered for a
        later terminate that names it)."""
        with self._serialised(volume["id"]):
            info = self.driver.initialize_connection(_volume(volume), connector)
            if attachment_id is not None:
                owners = self._owners.setdefault(volume["id"], {})
                owners.setdefault(connector.get("initiator", ""), set()).add(attachment_id)
            return info

    def terminate_connection(self, volume: dict[str, Any],
                             connector: dict[str, Any] | None = None,
                             attachment_id: str | None = None) -> None:
        """Remove the initiator's access (every initiator's when ``connector`` is None).

        With ``attachment_id`` this undoes only the export made for that attachment,
        which the controller queued after the export's call timed out. Messages run
        on several workers, so it may arrive after a newer export of the same
        initiator: the access stays while that newer export's attachment uses it, and
        a terminate for an export this process never made is ignored.
        """
        with self._serialised(volume["id"]):
            owners = self._owners.get(volume["id"], {})
            if attachment_id is not None:
                initiator = (connector or {}).get("initiator", "")
                serving = owners.get(initiator, set())
                if attachment_id not in serving:
                    LOG.info("terminate of volume %s for attachment %s ignored: no export "
                             "of this agent serves it", volume["id"], attachment_id)
                    return
                serving.discard(attachment_id)
                if serving:
                    LOG.info("terminate of volume %s for attachment %s keeps %s's access: "
                             "newer attachments use it", volume["id"], attachment_id,
                             initiator)
                    return
            self.driver.terminate_connection(_volume(volume), connector)
            if connector is None:
                owners.clear()
            else:
                owners.pop(connector.get("initiator", ""), None)
            if not owners:
                self._owners.pop(volume["id"], None)

    def report_capabilities(self) -> None:
        """Send the pools' stats; Cinder's backend-level keys are added to each pool."""
        pools = [{"volume_backend_name": self.backend_name, "storage_protocol": "iSCSI",
                  "vendor_name": "cinderblock", **pool} for pool in self.driver.get_pools()]
        self._tell("capabilities", ttl=self.report_ttl, host=self.node, backend=self.backend,
                   pools=pools)

    def heartbeat(self) -> None:
        """Reports expire after ``report_ttl`` (service_down_time): a late one would
        make a service that died meanwhile look alive."""
        self._tell("service_heartbeat", ttl=self.report_ttl, host=self.service_host,
                   binary="cinderblock-volume", zone=self.zone)

    def reconcile_exports(self, timeout: float) -> None:
        """Start-up reconciliation, before any request is served: make the target match
        what the controller says must be exported, then remove the volumes it does not
        know. Without the controller's answer nothing is removed."""
        answer = self.transport.call(CONTROLLER_TOPIC, "exports_for_host",
                                     {"host": self.service_host}, timeout=timeout)
        exports = [Export(_volume(item["volume"]), tuple(item["initiators"]))
                   for item in answer]
        report = self.driver.reconcile_exports(exports)
        self._owners = {export.volume.id: {initiator: {RESTORED}
                                           for initiator in export.initiators}
                        for export in exports}
        LOG.info("%s: exports reconciled: %s", self.service_host, report)
        known = self.transport.call(CONTROLLER_TOPIC, "volumes_for_host",
                                    {"host": self.service_host}, timeout=timeout)
        try:
            removed = self.driver.remove_orphans(set(known))
        except DriverError as exc:
            LOG.error("%s: orphan volumes not checked: %s", self.service_host, exc)
            return
        if removed:
            LOG.warning("%s: removed %d volume(s) the controller does not know: %s",
                        self.service_host, len(removed), ", ".join(sorted(removed)))
