"""we are the customer platform: our estimate of a partner's order kept beside its bill,
so that the console and the monthly statement show the partner's bill against our estimate

Revision ID: 0024_hlhtcon
Revises: 0023_hlht11
Create Date: 2026-12-04 20:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0024_hlhtcon"
down_revision = "0023_hlht11"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hlht_customer_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "estimate_fen",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                nullable=True,
            )
        )


def downgrade():
    with op.batch_alter_table("hlht_customer_orders", schema=None) as batch_op:
        batch_op.drop_column("estimate_fen")
