"""group snapshots

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "group_snapshots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("group_type_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"],
                                name=op.f("fk_group_snapshots_group_id_groups")),
        sa.ForeignKeyConstraint(["group_type_id"], ["group_types.id"],
                                name=op.f("fk_group_snapshots_group_type_id_group_types")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_snapshots")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_index(op.f("ix_group_snapshots_project_id"), "group_snapshots", ["project_id"])
    op.create_index(op.f("ix_group_snapshots_group_id"), "group_snapshots", ["group_id"])


def downgrade() -> None:
    op.drop_table("group_snapshots")
