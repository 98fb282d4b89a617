"""one running order per connector: a partial unique index serialises starts

Revision ID: 0007_one_running_order
Revises: 0006_station_settings_cascade
Create Date: 2026-12-03 18:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_one_running_order"
down_revision = "0006_station_settings_cascade"
branch_labels = None
depends_on = None

_RUNNING = sa.text("state IN ('created', 'starting', 'charging')")


def upgrade():
    # an existing database may hold connectors with two running orders (the bug this
    # closes): all but the newest await their record, flagged for review
    op.execute(
        """
        UPDATE charge_orders SET state = 'stopping',
               awaiting_record_since = COALESCE(awaiting_record_since, updated_at),
               abnormal_reason = CASE WHEN abnormal_reason = '' THEN 'superseded'
                                      ELSE abnormal_reason END
        WHERE state IN ('created', 'starting', 'charging') AND connector_id IS NOT NULL
          AND id < (SELECT MAX(o.id) FROM charge_orders o
                    WHERE o.connector_id = charge_orders.connector_id
                      AND o.state IN ('created', 'starting', 'charging'))
        """
    )
    with op.batch_alter_table("charge_orders") as batch:
        batch.create_index(
            "uq_charge_orders_connector_running",
            ["connector_id"],
            unique=True,
            postgresql_where=_RUNNING,
            sqlite_where=_RUNNING,
        )


def downgrade():
    with op.batch_alter_table("charge_orders") as batch:
        batch.drop_index("uq_charge_orders_connector_running")
