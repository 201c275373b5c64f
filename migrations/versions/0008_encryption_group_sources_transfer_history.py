"""volume type encryption, groups from a source, transfer history

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "encryption",
        sa.Column("encryption_id", sa.String(length=36), nullable=False),
        sa.Column("volume_type_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=255), nullable=False),
        sa.Column("cipher", sa.String(length=255), nullable=True),
        sa.Column("key_size", sa.Integer(), nullable=True),
        sa.Column("control_location", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["volume_type_id"], ["volume_types.id"],
                                name=op.f("fk_encryption_volume_type_id_volume_types"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("encryption_id", name=op.f("pk_encryption")),
        sa.UniqueConstraint("volume_type_id", name=op.f("uq_encryption_volume_type_id")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("group_snapshot_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("source_group_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("transfers") as batch:
        batch.add_column(sa.Column("accepted", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("destination_project_id", sa.String(length=255),
                                   nullable=True))
    with op.batch_alter_table("transfers") as batch:
        batch.alter_column("accepted", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("transfers") as batch:
        batch.drop_column("destination_project_id")
        batch.drop_column("accepted")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("source_group_id")
        batch.drop_column("group_snapshot_id")
    op.drop_table("encryption")
