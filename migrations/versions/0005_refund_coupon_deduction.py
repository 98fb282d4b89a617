"""a refund keeps back the value of the top-up's coupons already spent

Revision ID: 0005_refund_coupon_deduction
Revises: 0004_hlht_partners
Create Date: 2026-12-03 14:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0005_refund_coupon_deduction"
down_revision = "0004_hlht_partners"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("refund_parts") as batch:
        batch.add_column(
            sa.Column(
                "coupon_deduction_fen",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=False,
                server_default="0",
            )
        )


def downgrade():
    with op.batch_alter_table("refund_parts") as batch:
        batch.drop_column("coupon_deduction_fen")
