"""interconnection, we are the customer: partners' stations, connectors with status and
business policy, and our drivers' orders on partners' piles

Revision ID: 0018_hlht_customer
Revises: 0020_energy_loss
Create Date: 2026-12-04 11:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018_hlht_customer"
down_revision = "0020_energy_loss"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "hlht_partner_stations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("station_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("longitude", sa.String(length=20), nullable=False),
        sa.Column("latitude", sa.String(length=20), nullable=False),
        sa.Column("station_status", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["hlht_partners.id"],
            name="fk_hlht_partner_stations_partner_id_hlht_partners",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hlht_partner_stations"),
        sa.UniqueConstraint("partner_id", "station_code", name="uq_hlht_partner_stations_code"),
    )
    op.create_index("ix_hlht_partner_stations_partner_id", "hlht_partner_stations", ["partner_id"])
    op.create_table(
        "hlht_partner_connectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("connector_code", sa.String(length=64), nullable=False),
        sa.Column("equipment_code", sa.String(length=64), nullable=False),
        sa.Column("power_w", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("policy_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["hlht_partners.id"],
            name="fk_hlht_partner_connectors_partner_id_hlht_partners",
        ),
        sa.ForeignKeyConstraint(
            ["station_id"],
            ["hlht_partner_stations.id"],
            name="fk_hlht_partner_connectors_station_id_hlht_partner_stations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hlht_partner_connectors"),
        sa.UniqueConstraint("partner_id", "connector_code", name="uq_hlht_partner_connectors_code"),
    )
    op.create_index(
        "ix_hlht_partner_connectors_partner_id", "hlht_partner_connectors", ["partner_id"]
    )
    op.create_index(
        "ix_hlht_partner_connectors_station_id", "hlht_partner_connectors", ["station_id"]
    )
    op.create_table(
        "hlht_customer_orders",
        sa.Column("id", BIG, nullable=False),
        sa.Column("order_no", sa.String(length=32), nullable=False),
        sa.Column("start_charge_seq", sa.String(length=27), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("connector_code", sa.String(length=64), nullable=False),
        sa.Column("qr_code", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fail_reason", sa.String(length=200), nullable=False),
        sa.Column("energy_wh", BIG, nullable=False),
        sa.Column("partner_running_fen", BIG, nullable=True),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("stopped_at", WHEN, nullable=True),
        sa.Column("last_status_at", WHEN, nullable=True),
        sa.Column("partner_total_fen", BIG, nullable=True),
        sa.Column("partner_elec_fen", BIG, nullable=True),
        sa.Column("partner_service_fen", BIG, nullable=True),
        sa.Column("partner_energy_wh", BIG, nullable=True),
        sa.Column("order_info_at", WHEN, nullable=True),
        sa.Column("charged_fen", BIG, nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("settled_at", WHEN, nullable=True),
        sa.Column("reconciled_at", WHEN, nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["hlht_partners.id"],
            name="fk_hlht_customer_orders_partner_id_hlht_partners",
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name="fk_hlht_customer_orders_driver_id_drivers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_hlht_customer_orders"),
        sa.UniqueConstraint("order_no", name="uq_hlht_customer_orders_order_no"),
        sa.UniqueConstraint("start_charge_seq", name="uq_hlht_customer_orders_start_charge_seq"),
    )
    op.create_index("ix_hlht_customer_orders_partner_id", "hlht_customer_orders", ["partner_id"])
    op.create_index("ix_hlht_customer_orders_driver_id", "hlht_customer_orders", ["driver_id"])
    op.create_index("ix_hlht_customer_orders_state", "hlht_customer_orders", ["state"])


def downgrade():
    op.drop_table("hlht_customer_orders")
    op.drop_table("hlht_partner_connectors")
    op.drop_table("hlht_partner_stations")
