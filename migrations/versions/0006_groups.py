"""generic volume groups and group types

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def _times() -> list[sa.Column]:
    return [sa.Column("created_at", TIMESTAMP, nullable=False),
            sa.Column("updated_at", TIMESTAMP, nullable=True)]


def upgrade() -> None:
    op.create_table(
        "group_types",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_types")),
        sa.UniqueConstraint("name", name=op.f("uq_group_types_name")),
        **_MYSQL,
    )
    op.create_table(
        "group_type_specs",
        sa.Column("group_type_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        *_times(),
        sa.ForeignKeyConstraint(["group_type_id"], ["group_types.id"],
                                name=op.f("fk_group_type_specs_group_type_id_group_types"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_type_specs")),
        sa.UniqueConstraint("group_type_id", "key",
                            name=op.f("uq_group_type_specs_group_type_id_key")),
        **_MYSQL,
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        sa.Column("group_type_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        *_times(),
        sa.ForeignKeyConstraint(["group_type_id"], ["group_types.id"],
                                name=op.f("fk_groups_group_type_id_group_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        **_MYSQL,
    )
    op.create_index(op.f("ix_groups_project_id"), "groups", ["project_id"])
    op.create_table(
        "group_volume_type_mapping",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"],
                                name=op.f("fk_group_volume_type_mapping_group_id_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["volume_type_id"], ["volume_types.id"],
            name=op.f("fk_group_volume_type_mapping_volume_type_id_volume_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_volume_type_mapping")),
        sa.UniqueConstraint("group_id", "volume_type_id",
                            name=op.f("uq_group_volume_type_mapping_group_id_volume_type_id")),
        **_MYSQL,
    )


def downgrade() -> None:
    op.drop_table("group_volume_type_mapping")
    op.drop_table("groups")
    op.drop_table("group_type_specs")
    op.drop_table("group_types")
