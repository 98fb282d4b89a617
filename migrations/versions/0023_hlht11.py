"""we are the customer platform: the per-partner member-discount setting, the discount
frozen on our drivers' partner orders, a partner connector's AC/DC, and the partner's check_charge_orders disputes

Revision ID: 0023_hlht11
Revises: 0022_subscribe_templates
Create Date: 2026-12-04 19:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0023_hlht11"
down_revision = "0022_subscribe_templates"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("hlht_partners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "grant_member_discount", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    with op.batch_alter_table("hlht_partner_connectors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("current_type", sa.String(length=2), server_default="DC", nullable=False)
        )
    with op.batch_alter_table("hlht_customer_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("service_discount_rate", sa.Numeric(precision=5, scale=4), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "member_discount_fen",
                sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                server_default="0",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("disputed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("dispute_reason", sa.String(length=64), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("hlht_customer_orders", schema=None) as batch_op:
        batch_op.drop_column("dispute_reason")
        batch_op.drop_column("disputed")
        batch_op.drop_column("member_discount_fen")
        batch_op.drop_column("service_discount_rate")
    with op.batch_alter_table("hlht_partner_connectors", schema=None) as batch_op:
        batch_op.drop_column("current_type")
    with op.batch_alter_table("hlht_partners", schema=None) as batch_op:
        batch_op.drop_column("grant_member_discount")
