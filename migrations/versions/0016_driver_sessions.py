"""drivers' sessions: a token version and the disabled state per driver (logout and an
admin's disable end every session at once)

Revision ID: 0016_driver_sessions
Revises: 0018_hlht_customer
Create Date: 2026-12-04 11:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0016_driver_sessions"
down_revision = "0018_hlht_customer"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("drivers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("disabled_reason", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("drivers", schema=None) as batch_op:
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("token_version")
