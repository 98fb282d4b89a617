"""official accounts per operator, and a driver's openid under it (H5 pages, issue 13)

Revision ID: 0008_official_accounts
Revises: 0009_online_period_node
Create Date: 2026-12-03 18:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008_official_accounts"
down_revision = "0009_online_period_node"
branch_labels = None
depends_on = None

_OA = sa.text("wechat_oa_app_id <> ''")


def upgrade():
    with op.batch_alter_table("operators") as batch:
        batch.add_column(
            sa.Column("wechat_oa_app_id", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("wechat_oa_app_secret", sa.String(128), nullable=False, server_default="")
        )
    op.create_index(
        "uq_operators_wechat_oa_app_id", "operators", ["wechat_oa_app_id"], unique=True,
        postgresql_where=_OA, sqlite_where=_OA,
    )  # fmt: skip
    with op.batch_alter_table("drivers") as batch:
        batch.add_column(sa.Column("oa_openid", sa.String(64), nullable=True))
        batch.create_unique_constraint(
            "uq_drivers_operator_oa_openid", ["operator_id", "oa_openid"]
        )


def downgrade():
    with op.batch_alter_table("drivers") as batch:
        batch.drop_constraint("uq_drivers_operator_oa_openid", type_="unique")
        batch.drop_column("oa_openid")
    op.drop_index("uq_operators_wechat_oa_app_id", table_name="operators")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("wechat_oa_app_secret")
        batch.drop_column("wechat_oa_app_id")
