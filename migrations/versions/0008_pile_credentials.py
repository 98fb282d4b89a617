"""pile credentials: when a pile's password was set, the networks a station's piles may
connect from, and the connections refused or replaced in a pile's history

Revision ID: 0008_pile_credentials
Revises: 0007_one_running_order
Create Date: 2026-12-03 18:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008_pile_credentials"
down_revision = "0007_one_running_order"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("piles") as batch:
        batch.add_column(sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("stations") as batch:
        batch.add_column(
            sa.Column("pile_networks", sa.JSON(), nullable=False, server_default="[]")
        )
    op.create_table(
        "pile_connection_events",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("pile_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pile_id"], ["piles.id"], name=op.f("fk_pile_connection_events_pile_id_piles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pile_connection_events")),
    )
    with op.batch_alter_table("pile_connection_events") as batch:
        batch.create_index("ix_pile_connection_events_pile_at", ["pile_id", "at"], unique=False)


def downgrade():
    with op.batch_alter_table("pile_connection_events") as batch:
        batch.drop_index("ix_pile_connection_events_pile_at")
    op.drop_table("pile_connection_events")
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("pile_networks")
    with op.batch_alter_table("piles") as batch:
        batch.drop_column("password_set_at")
