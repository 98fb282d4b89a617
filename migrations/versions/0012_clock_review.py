"""pile times that could not be believed: both times kept, the order in review

Revision ID: 0012_clock_review
Revises: 0008_official_accounts
Create Date: 2026-12-03 22:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0012_clock_review"
down_revision = "0008_official_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pile_clock_skews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pile_code", sa.String(length=32), nullable=False),
        sa.Column(
            "order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("pile_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["charge_orders.id"],
            name=op.f("fk_pile_clock_skews_order_id_charge_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pile_clock_skews")),
    )
    op.create_index(
        op.f("ix_pile_clock_skews_order_id"), "pile_clock_skews", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_pile_clock_skews_pile_code"), "pile_clock_skews", ["pile_code"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_pile_clock_skews_pile_code"), table_name="pile_clock_skews")
    op.drop_index(op.f("ix_pile_clock_skews_order_id"), table_name="pile_clock_skews")
    op.drop_table("pile_clock_skews")
