"""QoS specs and the volume type's qos_specs_id

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
_TYPE_FK = "fk_volume_types_qos_specs_id_quality_of_service_specs"


def upgrade() -> None:
    op.create_table(
        "quality_of_service_specs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("consumer", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_of_service_specs")),
        sa.UniqueConstraint("name", name=op.f("uq_quality_of_service_specs_name")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "qos_specs_keys",
        sa.Column("qos_specs_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["qos_specs_id"], ["quality_of_service_specs.id"],
            name=op.f("fk_qos_specs_keys_qos_specs_id_quality_of_service_specs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qos_specs_keys")),
        sa.UniqueConstraint("qos_specs_id", "key",
                            name=op.f("uq_qos_specs_keys_qos_specs_id_key")),
        mysql_charset="utf8mb4",
        mysql_engine="InnoDB",
    )
    # Batch mode: SQLite cannot add a foreign key to an existing table in place.
    with op.batch_alter_table("volume_types") as batch:
        batch.add_column(sa.Column("qos_specs_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(_TYPE_FK, "quality_of_service_specs", ["qos_specs_id"],
                                 ["id"])


def downgrade() -> None:
    with op.batch_alter_table("volume_types") as batch:
        batch.drop_constraint(_TYPE_FK, type_="foreignkey")
        batch.drop_column("qos_specs_id")
    op.drop_table("qos_specs_keys")
    op.drop_table("quality_of_service_specs")
