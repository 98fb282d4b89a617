"""one WeChat app and one merchant per operator

Revision ID: 0002_unique_wechat_ids
Revises: 8f35ec3c3063
Create Date: 2026-12-03 14:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0002_unique_wechat_ids"
down_revision = "8f35ec3c3063"
branch_labels = None
depends_on = None

_APP = sa.text("wechat_app_id <> ''")
_MCH = sa.text("wechat_mch_id <> ''")


def upgrade():
    op.create_index(
        "uq_operators_wechat_app_id", "operators", ["wechat_app_id"], unique=True,
        postgresql_where=_APP, sqlite_where=_APP,
    )
    op.create_index(
        "uq_operators_wechat_mch_id", "operators", ["wechat_mch_id"], unique=True,
        postgresql_where=_MCH, sqlite_where=_MCH,
    )


def downgrade():
    op.drop_index("uq_operators_wechat_mch_id", table_name="operators")
    op.drop_index("uq_operators_wechat_app_id", table_name="operators")
