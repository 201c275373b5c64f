"""The tables behind the Block Storage v3 API, with Cinder's column names.

Rows are deleted for real (no ``deleted`` column, unlike Cinder). Soft-deleted
rows force a ``deleted = false`` onto every query (one forgotten filter leaks a
deleted volume) and make unique names need the ``deleted`` column inside the
constraint because MariaDB has no partial indexes. Nothing Cinder's API shows
needs the history: a deleted volume or snapshot answers 404, a volume type in
use cannot be deleted (the foreign keys below refuse it in the database too),
and a late agent reply for a deleted volume finds no row and is dropped.

Times are naive UTC (``utcnow()``), stored with microseconds on every server so
``created_at`` orders pages and ``task_started_at`` measures stuck work.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "Base", "utcnow", "new_id", "DEFAULT_VOLUME_TYPE",
    "Volume", "VolumeMetadata", "VolumeAdminMetadata", "VolumeType", "VolumeTypeExtraSpec",
    "VolumeTypeProject", "Snapshot", "SnapshotMetadata", "VolumeAttachment", "Service",
    "Quota", "QuotaClass", "QuotaUsage", "Reservation", "Pool", "Message",
    "QualityOfServiceSpecs", "QosSpecsKey", "Transfer", "DefaultVolumeType", "GroupType",
    "GroupTypeSpec", "Group", "GroupVolumeTypeMapping", "GroupSnapshot", "Encryption",
]

DEFAULT_VOLUME_TYPE = "__DEFAULT__"

# Named constraints make migrations reproducible: every server gets the same names.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
# MariaDB's DATETIME drops fractions of a second unless asked.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# InnoDB for row locks; utf8mb4 even if the operator's database was created latin1.
MYSQL_OPTS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def utcnow() -> datetime:
    """Naive UTC, the form every time column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: Timestamp, dict[str, Any]: JSON}


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(onupdate=utcnow)


class _KeyValue(_Timestamps):
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class _Task:
    """Who is working on a row in a transitional status, since when, and why it failed.

    A reaper finds rows stuck in ``creating``/``deleting``/... whose owner is gone or
    whose work is older than a timeout, instead of leaving them stuck as Cinder does.
    """

    task_owner: Mapped[str | None] = mapped_column(String(255))
    task_started_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(Text)


class VolumeType(_Timestamps, Base):
    __tablename__ = "volume_types"
    __table_args__ = (UniqueConstraint("name"), MYSQL_OPTS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(default=True)
    # No cascade: QoS specs still associated are not deleted without force, and force
    # disassociates first.
    qos_specs_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("quality_of_service_specs.id"))

    extra_specs: Mapped[list[VolumeTypeExtraSpec]] = relationship(
        back_populates="volume_type", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")
    projects: Mapped[list[VolumeTypeProject]] = relationship(
        back_populates="volume_type", cascade="all, delete-orphan", passive_deletes=True)


class VolumeTypeExtraSpec(_KeyValue, Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (UniqueConstraint("volume_type_id", "key"), MYSQL_OPTS)

    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"))
    volume_type: Mapped[VolumeType] = relationship(back_populates="extra_specs")


class VolumeTypeProject(_Timestamps, Base):
    """A project allowed to use a private volume type."""

    __tablename__ = "volume_type_projects"
    __table_args__ = (UniqueConstraint("volume_type_id", "project_id"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(255))
    volume_type: Mapped[VolumeType] = relationship(back_populates="projects")


class Volume(_Timestamps, _Task, Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("ix_volumes_project_id_status", "project_id", "status"),
        Index("ix_volumes_project_id_created_at", "project_id", "created_at"),
        Index("ix_volumes_status_task_started_at", "status", "task_started_at"),
        MYSQL_OPTS,
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int]
    status: Mapped[str] = mapped_column(String(255), default="creating")
    previous_status: Mapped[str | None] = mapped_column(String(255))
    attach_status: Mapped[str] = mapped_column(String(255), default="detached")
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_types.id"))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    bootable: Mapped[bool] = mapped_column(default=False)
    multiattach: Mapped[bool] = mapped_column(default=False)
    provider_location: Mapped[str | None] = mapped_column(String(255))
    provider_auth: Mapped[str | None] = mapped_column(String(255))
    migration_status: Mapped[str | None] = mapped_column(String(255))
    replication_status: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(String(36))
    consumes_quota: Mapped[bool] = mapped_column(default=True)
    scheduled_at: Mapped[datetime | None]
    launched_at: Mapped[datetime | None]
    terminated_at: Mapped[datetime | None]

    volume_type: Mapped[VolumeType] = relationship(lazy="selectin")
    volume_metadata: Mapped[list[VolumeMetadata]] = relationship(
        back_populates="volume", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")
    volume_admin_metadata: Mapped[list[VolumeAdminMetadata]] = relationship(
        back_populates="volume", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")
    attachments: Mapped[list[VolumeAttachment]] = relationship(
        back_populates="volume", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")


class VolumeMetadata(_KeyValue, Base):
    __tablename__ = "volume_metadata"
    __table_args__ = (UniqueConstraint("volume_id", "key"), MYSQL_OPTS)

    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.id", ondelete="CASCADE"))
    volume: Mapped[Volume] = relationship(back_populates="volume_metadata")


class VolumeAdminMetadata(_KeyValue, Base):
    """Keys only admins see or set, such as ``readonly``."""

    __tablename__ = "volume_admin_metadata"
    __table_args__ = (UniqueConstraint("volume_id", "key"), MYSQL_OPTS)

    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.id", ondelete="CASCADE"))
    volume: Mapped[Volume] = relationship(back_populates="volume_admin_metadata")


class Snapshot(_Timestamps, _Task, Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        Index("ix_snapshots_project_id_status", "project_id", "status"),
        Index("ix_snapshots_project_id_created_at", "project_id", "created_at"),
        MYSQL_OPTS,
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    # No cascade: a volume with snapshots must not be deleted (Cinder refuses it too).
    volume_id: Mapped[str] = mapped_column(String(36), ForeignKey("volumes.id"), index=True)
    status: Mapped[str] = mapped_column(String(255), default="creating")
    progress: Mapped[str | None] = mapped_column(String(255))
    volume_size: Mapped[int]
    display_name: Mapped[str | None] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(String(255))
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_types.id"))
    provider_location: Mapped[str | None] = mapped_column(String(255))
    provider_auth: Mapped[str | None] = mapped_column(String(255))
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    consumes_quota: Mapped[bool] = mapped_column(default=True)

    volume: Mapped[Volume] = relationship()
    snapshot_metadata: Mapped[list[SnapshotMetadata]] = relationship(
        back_populates="snapshot", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")


class SnapshotMetadata(_KeyValue, Base):
    __tablename__ = "snapshot_metadata"
    __table_args__ = (UniqueConstraint("snapshot_id", "key"), MYSQL_OPTS)

    snapshot_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("snapshots.id", ondelete="CASCADE"))
    snapshot: Mapped[Snapshot] = relationship(back_populates="snapshot_metadata")


class VolumeAttachment(_Timestamps, Base):
    __tablename__ = "volume_attachment"
    __table_args__ = (MYSQL_OPTS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.id", ondelete="CASCADE"), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_time: Mapped[datetime | None]
    detach_time: Mapped[datetime | None]
    attach_status: Mapped[str] = mapped_column(String(255), default="reserved")
    attach_mode: Mapped[str | None] = mapped_column(String(36))
    connector: Mapped[dict[str, Any] | None]
    connection_info: Mapped[dict[str, Any] | None]

    volume: Mapped[Volume] = relationship(back_populates="attachments")


class Service(_Timestamps, Base):
    """A running binary; ``last_seen_at`` is when the controller *received* its heartbeat."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    frozen: Mapped[bool] = mapped_column(default=False)
    replication_status: Mapped[str | None] = mapped_column(String(255))
    active_backend_id: Mapped[str | None] = mapped_column(String(255))
    cluster_name: Mapped[str | None] = mapped_column(String(255))
    last_seen_at: Mapped[datetime | None]
    report_count: Mapped[int] = mapped_column(default=0)
    capabilities: Mapped[dict[str, Any] | None]


class Quota(_Timestamps, Base):
    """A project's own limit for one resource; missing rows fall back to the class, then
    the configured default. -1 means unlimited."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int]


class QuotaClass(_Timestamps, Base):
    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int]


class QuotaUsage(_Timestamps, Base):
    """What a project holds (``in_use``) and has asked for but not committed (``reserved``).

    The row is the lock: reservations take it ``FOR UPDATE`` before checking limits.
    """

    __tablename__ = "quota_usages"
    __table_args__ = (
        UniqueConstraint("project_id", "resource"),
        CheckConstraint("in_use >= 0", name="in_use_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        MYSQL_OPTS,
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    in_use: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)


class Reservation(_Timestamps, Base):
    __tablename__ = "reservations"
    __table_args__ = (MYSQL_OPTS,)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True, default=new_id)
    usage_id: Mapped[int] = mapped_column(
        ForeignKey("quota_usages.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    delta: Mapped[int]
    expire: Mapped[datetime] = mapped_column(index=True)

    usage: Mapped[QuotaUsage] = relationship()


class Pool(Base):
    """Latest capabilities of one pool (``host@backend#pool``, as ``volumes.host`` holds it).

    ``allocated_capacity_gb`` is changed only by guarded UPDATEs so several schedulers
    can place volumes at once without overcommitting a pool.
    """

    __tablename__ = "pools"
    __table_args__ = (UniqueConstraint("host"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255))
    capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    allocated_capacity_gb: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    """A user-visible event (``/messages``, 3.3): why a request of the project failed.

    ``event_id`` is Cinder's ``VOLUME_<resource>_<action>_<detail>``; the text users
    read is built from ``action_id`` and ``detail_id`` when shown. Rows past
    ``expires_at`` are no longer guaranteed and may be purged.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_project_id_created_at", "project_id", "created_at"),
        MYSQL_OPTS,
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(255))
    resource_type: Mapped[str | None] = mapped_column(String(255))
    resource_uuid: Mapped[str | None] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(255))
    action_id: Mapped[str | None] = mapped_column(String(10))
    detail_id: Mapped[str | None] = mapped_column(String(10))
    message_level: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class QualityOfServiceSpecs(_Timestamps, Base):
    """Named QoS limits (``qos-specs``) that volume types point at (``qos_specs_id``)."""

    __tablename__ = "quality_of_service_specs"
    __table_args__ = (UniqueConstraint("name"), MYSQL_OPTS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    consumer: Mapped[str] = mapped_column(String(255), default="back-end")

    specs: Mapped[list[QosSpecsKey]] = relationship(
        back_populates="qos_specs", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")


class QosSpecsKey(_KeyValue, Base):
    __tablename__ = "qos_specs_keys"
    __table_args__ = (UniqueConstraint("qos_specs_id", "key"), MYSQL_OPTS)

    qos_specs_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("quality_of_service_specs.id", ondelete="CASCADE"))
    qos_specs: Mapped[QualityOfServiceSpecs] = relationship(back_populates="specs")


class Transfer(_Timestamps, Base):
    """A volume offered to another project (``os-volume-transfer``, ``volume-transfers``).

    ``project_id`` is the offering (source) project. Only a salted hash of the auth
    key is kept: the key is shown once, in the create response. An accepted transfer
    stays as history (``accepted``, ``destination_project_id``, 3.57) which, as in
    Cinder, no list or show returns; a withdrawn one goes, and so do all with their
    volume.
    """

    __tablename__ = "transfers"
    __table_args__ = (MYSQL_OPTS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volumes.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    salt: Mapped[str] = mapped_column(String(255))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    no_snapshots: Mapped[bool] = mapped_column(default=False)
    accepted: Mapped[bool] = mapped_column(default=False)
    destination_project_id: Mapped[str | None] = mapped_column(String(255))


class DefaultVolumeType(_Timestamps, Base):
    """A project's own default volume type (3.62), over ``default_volume_type``."""

    __tablename__ = "default_volume_types"
    __table_args__ = (MYSQL_OPTS,)

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"), index=True)


class GroupType(_Timestamps, Base):
    """A kind of generic volume group (3.11), with ``group_specs`` as volume types have
    extra specs."""

    __tablename__ = "group_types"
    __table_args__ = (UniqueConstraint("name"), MYSQL_OPTS)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    is_public: Mapped[bool] = mapped_column(default=True)

    group_specs: Mapped[list[GroupTypeSpec]] = relationship(
        back_populates="group_type", cascade="all, delete-orphan", passive_deletes=True,
        lazy="selectin")


class GroupTypeSpec(_KeyValue, Base):
    __tablename__ = "group_type_specs"
    __table_args__ = (UniqueConstraint("group_type_id", "key"), MYSQL_OPTS)

    group_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("group_types.id", ondelete="CASCADE"))
    group_type: Mapped[GroupType] = relationship(back_populates="group_specs")


class Group(_Timestamps, Base):
    """A generic volume group (3.13). LVM has no group support of its own, so a group is
    a database record over its volumes (``volumes.group_id``), as Cinder's generic
    implementation keeps it; a type in use cannot be deleted (foreign key)."""

    __tablename__ = "groups"
    __table_args__ = (MYSQL_OPTS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("group_types.id"))
    status: Mapped[str] = mapped_column(String(255))
    # What a group made by ``create-from-src`` (3.14) was made from; plain ids, since
    # the source may be deleted while its copy lives on.
    group_snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_group_id: Mapped[str | None] = mapped_column(String(36))

    volume_types: Mapped[list[GroupVolumeTypeMapping]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class GroupVolumeTypeMapping(Base):
    __tablename__ = "group_volume_type_mapping"
    __table_args__ = (UniqueConstraint("group_id", "volume_type_id"), MYSQL_OPTS)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(String(36), ForeignKey("groups.id",
                                                                 ondelete="CASCADE"))
    volume_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("volume_types.id"))


class GroupSnapshot(_Timestamps, Base):
    """Snapshots of every volume of a group taken together (3.14); its members are
    ``snapshots`` rows with ``group_snapshot_id``. A group with group snapshots cannot be
    deleted (foreign key)."""

    __tablename__ = "group_snapshots"
    __table_args__ = (MYSQL_OPTS,)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str | None] = mapped_column(String(255))
    group_id: Mapped[str] = mapped_column(String(36), ForeignKey("groups.id"), index=True)
    group_type_id: Mapped[str] = mapped_column(String(36), ForeignKey("group_types.id"))
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(255))


class Encryption(_Timestamps, Base):
    """How volumes of a type are to be encrypted (``types/{id}/encryption``): at most one
    per type, changed only while the type has no volumes. ``front-end`` encryption is
    done by the consumer (Nova through os-brick) with a key from a key manager."""

    __tablename__ = "encryption"
    __table_args__ = (UniqueConstraint("volume_type_id"), MYSQL_OPTS)

    encryption_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    volume_type_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("volume_types.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(255))
    cipher: Mapped[str | None] = mapped_column(String(255))
    key_size: Mapped[int | None]
    control_location: Mapped[str] = mapped_column(String(255))
