"""the utility meter's monthly reading per station, for the energy-loss report (case #8)

Revision ID: 0020_energy_loss
Revises: 0014_console_ops
Create Date: 2026-12-04 11:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0020_energy_loss"
down_revision = "0014_console_ops"
branch_labels = None
depends_on = None

_fen = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "station_meter_readings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column(
            "station_id",
            sa.Integer(),
            sa.ForeignKey("stations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("reading_wh", _fen, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("entered_by", sa.Integer(), sa.ForeignKey("admin_users.id"), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("station_id", "month", name="uq_station_meter_readings_month"),
    )
    op.create_index(
        "ix_station_meter_readings_operator_id", "station_meter_readings", ["operator_id"]
    )


def downgrade():
    op.drop_index("ix_station_meter_readings_operator_id", "station_meter_readings")
    op.drop_table("station_meter_readings")
