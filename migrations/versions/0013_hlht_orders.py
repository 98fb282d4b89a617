"""interconnection: roaming orders, the push outbox and its attempts, connector status
told to partners, the token a partner issued us

Revision ID: 0013_hlht_orders
Revises: 0012_clock_review
Create Date: 2026-12-03 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0013_hlht_orders"
down_revision = "0012_clock_review"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("hlht_partners") as batch:
        batch.add_column(sa.Column("out_token", sa.String(length=200), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("out_token_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
    op.create_table(
        "hlht_orders",
        sa.Column("id", BIG, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("start_charge_seq", sa.String(length=27), nullable=False),
        sa.Column("order_id", BIG, nullable=False),
        sa.Column("connector_code", sa.String(length=64), nullable=False),
        sa.Column("qr_code", sa.String(length=200), nullable=False),
        sa.Column("notified_state", sa.String(length=16), nullable=False),
        sa.Column("notified_adjustment", sa.Integer(), nullable=False),
        sa.Column("last_status_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirm_result", sa.Integer(), nullable=True),
        sa.Column("disputed", sa.Boolean(), nullable=False),
        sa.Column("dispute_reason", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["charge_orders.id"],
                                name=op.f("fk_hlht_orders_order_id_charge_orders")),
        sa.ForeignKeyConstraint(["partner_id"], ["hlht_partners.id"],
                                name=op.f("fk_hlht_orders_partner_id_hlht_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hlht_orders")),
        sa.UniqueConstraint("order_id", name=op.f("uq_hlht_orders_order_id")),
        sa.UniqueConstraint("partner_id", "start_charge_seq", name="uq_hlht_orders_partner_seq"),
    )
    with op.batch_alter_table("hlht_orders") as batch:
        batch.create_index(batch.f("ix_hlht_orders_partner_id"), ["partner_id"], unique=False)
    op.create_table(
        "hlht_pushes",
        sa.Column("id", BIG, nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("interface", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("order_id", BIG, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ret", sa.Integer(), nullable=True),
        sa.Column("last_msg", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["charge_orders.id"],
                                name=op.f("fk_hlht_pushes_order_id_charge_orders")),
        sa.ForeignKeyConstraint(["partner_id"], ["hlht_partners.id"],
                                name=op.f("fk_hlht_pushes_partner_id_hlht_partners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hlht_pushes")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_hlht_pushes_dedupe_key")),
    )
    with op.batch_alter_table("hlht_pushes") as batch:
        batch.create_index("ix_hlht_pushes_due", ["state", "next_attempt_at"], unique=False)
        batch.create_index(batch.f("ix_hlht_pushes_order_id"), ["order_id"], unique=False)
        batch.create_index(batch.f("ix_hlht_pushes_partner_id"), ["partner_id"], unique=False)
    op.create_table(
        "hlht_push_attempts",
        sa.Column("id", BIG, nullable=False),
        sa.Column("push_id", BIG, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ret", sa.Integer(), nullable=True),
        sa.Column("msg", sa.String(length=200), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["push_id"], ["hlht_pushes.id"],
                                name=op.f("fk_hlht_push_attempts_push_id_hlht_pushes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hlht_push_attempts")),
    )
    with op.batch_alter_table("hlht_push_attempts") as batch:
        batch.create_index(batch.f("ix_hlht_push_attempts_push_id"), ["push_id"], unique=False)
    op.create_table(
        "hlht_connector_status",
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("connector_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"],
                                name=op.f("fk_hlht_connector_status_connector_id_connectors")),
        sa.ForeignKeyConstraint(["partner_id"], ["hlht_partners.id"],
                                name=op.f("fk_hlht_connector_status_partner_id_hlht_partners")),
        sa.PrimaryKeyConstraint("partner_id", "connector_id",
                                name=op.f("pk_hlht_connector_status")),
    )


def downgrade():
    op.drop_table("hlht_connector_status")
    with op.batch_alter_table("hlht_push_attempts") as batch:
        batch.drop_index(batch.f("ix_hlht_push_attempts_push_id"))
    op.drop_table("hlht_push_attempts")
    with op.batch_alter_table("hlht_pushes") as batch:
        batch.drop_index(batch.f("ix_hlht_pushes_partner_id"))
        batch.drop_index(batch.f("ix_hlht_pushes_order_id"))
        batch.drop_index("ix_hlht_pushes_due")
    op.drop_table("hlht_pushes")
    with op.batch_alter_table("hlht_orders") as batch:
        batch.drop_index(batch.f("ix_hlht_orders_partner_id"))
    op.drop_table("hlht_orders")
    with op.batch_alter_table("hlht_partners") as batch:
        batch.drop_column("out_token_expires_at")
        batch.drop_column("out_token")
