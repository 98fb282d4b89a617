"""Migrations: one head, and the models match them (no pending autogenerate diff)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import in_schema_of
from app.extensions import db
from tests.support.settings import BASE_CONFIG, ON_POSTGRES, TEST_DB_URL
from wsgi import compose

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _migration_heads() -> list[str]:
    cfg = Config(str(MIGRATIONS / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return list(ScriptDirectory.from_config(cfg).get_heads())


def test_one_head() -> None:
    heads = _migration_heads()
    assert len(heads) == 1, heads


@pytest.fixture
def empty_db_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the kind under test."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"evop_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server = make_url(TEST_DB_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _diff(app: Flask) -> list[object]:
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": in_schema_of(conn.dialect.name)}
        ctx = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(ctx, db.metadata))


def test_models_match_migrations_and_downgrade_works(empty_db_url: str) -> None:
    app = compose({**BASE_CONFIG, "DATABASE_URL": empty_db_url})
    try:
        with app.app_context():
            upgrade()
            assert _diff(app) == []
            downgrade(revision="base")
            upgrade()
            assert _diff(app) == []
    finally:
        with app.app_context():
            db.engine.dispose()


def test_roles_that_read_members_keep_reading_orders(empty_db_url: str) -> None:
    """0014: orders moved from member.read to order.read; no role loses them."""
    from app.tenancy.models import Operator, Role

    app = compose({**BASE_CONFIG, "DATABASE_URL": empty_db_url})
    try:
        with app.app_context():
            upgrade(revision="0013_hlht_orders")
            op = Operator(name="迁移测试", kind="sub")
            db.session.add(op)
            db.session.flush()
            db.session.add_all([
                Role(operator_id=op.id, name="客服", permissions=["member.read"]),
                Role(operator_id=op.id, name="运维", permissions=["pile.read"]),
            ])  # fmt: skip
            db.session.commit()
            upgrade()
            db.session.expire_all()
            roles = {r.name: r.permissions for r in db.session.query(Role)}
            assert roles == {"客服": ["member.read", "order.read"], "运维": ["pile.read"]}
            downgrade(revision="0013_hlht_orders")
            db.session.expire_all()
            assert {r.name: r.permissions for r in db.session.query(Role)}["客服"] == [
                "member.read"
            ]
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigram index is PostgreSQL's alone")
def test_migrations_succeed_without_the_trigram_index_where_pg_trgm_is_refused(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """0025 on a managed database that refuses CREATE EXTENSION: a warning, no index, and
    every later step and the order search still work."""
    url = make_url(empty_db_url)
    role = f"evop_noext_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        # may create tables in public, not extensions (no CREATE on the database)
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT CREATE ON SCHEMA public TO "{role}"'))
    app = compose({**BASE_CONFIG, "DATABASE_URL": url.set(username=role).render_as_string()})
    try:
        with app.app_context():
            upgrade()
            assert "pg_trgm unavailable" in capsys.readouterr().out
            with db.engine.connect() as conn:
                names = conn.scalars(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'charge_orders'")
                ).all()
                at = conn.scalar(text("SELECT version_num FROM alembic_version"))
            assert "ix_charge_orders_order_no_trgm" not in names
            assert "uq_charge_orders_order_no" in names
            assert [at] == _migration_heads()  # ran to its end
            downgrade(revision="base")
    finally:
        with app.app_context():
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigram index is PostgreSQL's alone")
def test_a_trigram_index_built_beforehand_concurrently_is_kept_by_the_migration(
    empty_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """0025 on a database where the operator built the index CONCURRENTLY first (the
    migration's docstring): no error, no 'pg_trgm unavailable', the index kept."""
    app = compose({**BASE_CONFIG, "DATABASE_URL": empty_db_url})
    admin = create_engine(make_url(empty_db_url), isolation_level="AUTOCOMMIT")
    try:
        with app.app_context():
            upgrade(revision="0024_hlhtcon")
            with admin.connect() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
                conn.execute(text(
                    "CREATE INDEX CONCURRENTLY ix_charge_orders_order_no_trgm "
                    "ON charge_orders USING gin (order_no gin_trgm_ops)"
                ))  # fmt: skip
                oid = conn.scalar(text("SELECT 'ix_charge_orders_order_no_trgm'::regclass::oid"))
            upgrade()
            assert "pg_trgm unavailable" not in capsys.readouterr().out
            with admin.connect() as conn:
                kept = conn.scalar(text("SELECT 'ix_charge_orders_order_no_trgm'::regclass::oid"))
                at = conn.scalar(text("SELECT version_num FROM alembic_version"))
            assert kept == oid
            assert [at] == _migration_heads()  # ran to its end
            downgrade(revision="base")
    finally:
        with app.app_context():
            db.engine.dispose()
        admin.dispose()
