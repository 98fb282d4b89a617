"""a station's own settings (occupancy policy, service discounts) go with the station

Revision ID: 0006_station_settings_cascade
Revises: 0005_refund_coupon_deduction
Create Date: 2026-12-03 17:50:00

"""
from alembic import op

revision = "0006_station_settings_cascade"
down_revision = "0005_refund_coupon_deduction"
branch_labels = None
depends_on = None

_TABLES = ("occupancy_policies", "service_discounts")


def _station_fk(ondelete):
    for table in _TABLES:
        name = f"fk_{table}_station_id_stations"
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")
            batch.create_foreign_key(name, "stations", ["station_id"], ["id"], ondelete=ondelete)


def upgrade():
    _station_fk("CASCADE")


def downgrade():
    _station_fk(None)
