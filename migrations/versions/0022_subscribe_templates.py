"""subscribe-message template ids per operator (its mini-program), and why an outbox
message was not sent

Revision ID: 0022_subscribe_templates
Revises: 0021_statements
Create Date: 2026-12-04 18:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0022_subscribe_templates"
down_revision = "0021_statements"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subscribe_templates", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_error", sa.String(length=300), server_default="", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("last_error")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("subscribe_templates")
