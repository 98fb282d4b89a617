"""the console's overview and order permission: bills indexed by settlement time; every role
that could read members (and so orders, before) gets order.read

Revision ID: 0014_console_ops
Revises: 0013_hlht_orders
Create Date: 2026-12-03 22:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0014_console_ops"
down_revision = "0013_hlht_orders"
branch_labels = None
depends_on = None

_roles = sa.table("roles", sa.column("id", sa.Integer), sa.column("permissions", sa.JSON))


def _rewrite(change):
    conn = op.get_bind()
    for role_id, permissions in conn.execute(sa.select(_roles.c.id, _roles.c.permissions)):
        codes = list(permissions or [])
        new = change(codes)
        if new != codes:
            conn.execute(
                _roles.update().where(_roles.c.id == role_id).values(permissions=new)
            )


def upgrade():
    op.create_index("ix_bills_settled_at", "bills", ["settled_at"])
    op.create_index("ix_bills_operator_settled", "bills", ["operator_id", "settled_at"])
    # orders were readable with member.read until now: nobody loses what they had
    _rewrite(
        lambda codes: codes + ["order.read"]
        if "member.read" in codes and "order.read" not in codes
        else codes
    )


def downgrade():
    _rewrite(lambda codes: [c for c in codes if c != "order.read"])
    op.drop_index("ix_bills_operator_settled", table_name="bills")
    op.drop_index("ix_bills_settled_at", table_name="bills")
