"""the pile-link process that holds an online period, so a restart closes its own

Revision ID: 0009_online_period_node
Revises: 0008_pile_credentials
Create Date: 2026-12-03 18:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0009_online_period_node"
down_revision = "0008_pile_credentials"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pile_online_periods") as batch:
        batch.add_column(
            sa.Column("node", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade():
    with op.batch_alter_table("pile_online_periods") as batch:
        batch.drop_column("node")
