"""WeChat Pay statement reconciliation: a run per operator and China-local day, and its
mismatches

Revision ID: 0021_statements
Revises: 0016_driver_sessions
Create Date: 2026-12-04 18:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0021_statements"
down_revision = "0016_driver_sessions"
branch_labels = None
depends_on = None

_big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "statement_runs",
        sa.Column("id", _big, primary_key=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column("bill_date", sa.Date(), nullable=False),
        sa.Column("mch_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("wechat_lines", sa.Integer(), nullable=False),
        sa.Column("our_lines", sa.Integer(), nullable=False),
        sa.Column("matched_lines", sa.Integer(), nullable=False),
        sa.Column("mismatch_count", sa.Integer(), nullable=False),
        sa.Column("our_total_fen", _big, nullable=False),
        sa.Column("wechat_total_fen", _big, nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("error_message", sa.String(500), nullable=False),
        sa.Column("started_by_id", sa.Integer(), sa.ForeignKey("admin_users.id"), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("operator_id", "bill_date", name="uq_statement_runs_operator_date"),
    )
    op.create_index("ix_statement_runs_operator_id", "statement_runs", ["operator_id"])
    op.create_table(
        "statement_mismatches",
        sa.Column("id", _big, primary_key=True),
        sa.Column(
            "run_id",
            _big,
            sa.ForeignKey("statement_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("out_trade_no", sa.String(64), nullable=False),
        sa.Column("out_refund_no", sa.String(64), nullable=False),
        sa.Column("our_fen", _big, nullable=True),
        sa.Column("wechat_fen", _big, nullable=True),
        sa.Column("note", sa.String(200), nullable=False),
    )
    op.create_index("ix_statement_mismatches_run_id", "statement_mismatches", ["run_id"])


def downgrade():
    op.drop_index("ix_statement_mismatches_run_id", "statement_mismatches")
    op.drop_table("statement_mismatches")
    op.drop_index("ix_statement_runs_operator_id", "statement_runs")
    op.drop_table("statement_runs")
