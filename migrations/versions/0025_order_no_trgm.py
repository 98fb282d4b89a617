"""the console's search by part of an order number through a trigram index on PostgreSQL
(pg_trgm GIN on charge_orders.order_no); nothing on SQLite

Where the extension cannot be created (a managed database that refuses it), the index is
skipped with a warning and the migration still succeeds: the search works, only slower.

A plain CREATE INDEX blocks writes to the orders while it builds. On a big production table,
build it beforehand without blocking, then migrate; the migration keeps a valid index of that
name and rebuilds an invalid one (what an interrupted CONCURRENTLY build leaves):

    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX CONCURRENTLY ix_charge_orders_order_no_trgm
        ON charge_orders USING gin (order_no gin_trgm_ops);

Revision ID: 0025_order_no_trgm
Revises: 0024_hlhtcon
Create Date: 2026-12-04 23:00:00

"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0025_order_no_trgm"
down_revision = "0024_hlhtcon"
branch_labels = None
depends_on = None

INDEX = "ix_charge_orders_order_no_trgm"
log = logging.getLogger("alembic.runtime.migration")


def _existing_index_valid(bind) -> bool | None:
    """Whether an index of this name exists and is valid; None when there is none."""
    return bind.scalar(
        sa.text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name AND pg_table_is_visible(c.oid)"
        ),
        {"name": INDEX},
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    valid = _existing_index_valid(bind)
    if valid:
        log.info("%s exists (built beforehand): kept", INDEX)
        return
    if valid is False:
        log.warning("%s is invalid (an interrupted build): rebuilt", INDEX)
        bind.execute(sa.text(f"DROP INDEX {INDEX}"))
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        # the operator class qualified by the extension's schema: it may live in one that
        # is not on the search path (a managed database's "extensions")
        schema = bind.scalar(
            sa.text(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
        ops = f'"{schema}".gin_trgm_ops'
        bind.execute(sa.text(f"CREATE INDEX {INDEX} ON charge_orders USING gin (order_no {ops})"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        message = (
            f"pg_trgm unavailable ({exc.orig.__class__.__name__}: {str(exc.orig).strip()}): "
            f"{INDEX} skipped; the search by part of an order number scans the orders"
        )
        log.warning(message)
        print(f"WARNING: {message}")
        return
    savepoint.commit()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # the extension stays: other objects of the database may use it by now
    bind.execute(sa.text(f"DROP INDEX IF EXISTS {INDEX}"))
