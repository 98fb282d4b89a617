"""platform certificates keep their end of validity

Revision ID: 0003_platform_key_expiry
Revises: 0002_unique_wechat_ids
Create Date: 2026-12-03 14:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0003_platform_key_expiry"
down_revision = "0002_unique_wechat_ids"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wechat_pay_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("wechat_pay_keys") as batch:
        batch.drop_column("expires_at")
