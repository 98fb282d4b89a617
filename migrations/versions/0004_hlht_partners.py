"""interconnection partners and their tokens

Revision ID: 0004_hlht_partners
Revises: 0003_platform_key_expiry
Create Date: 2026-12-03 14:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0004_hlht_partners"
down_revision = "0003_platform_key_expiry"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "hlht_partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("roles", sa.String(length=32), nullable=False),
        sa.Column("operator_secret", sa.String(length=64), nullable=False),
        sa.Column("our_operator_secret", sa.String(length=64), nullable=False),
        sa.Column("in_data_secret", sa.String(length=16), nullable=False),
        sa.Column("in_data_iv", sa.String(length=16), nullable=False),
        sa.Column("in_sig_secret", sa.String(length=64), nullable=False),
        sa.Column("out_data_secret", sa.String(length=16), nullable=False),
        sa.Column("out_data_iv", sa.String(length=16), nullable=False),
        sa.Column("out_sig_secret", sa.String(length=64), nullable=False),
        sa.Column("dialect", sa.String(length=16), nullable=False),
        sa.Column("share_all_stations", sa.Boolean(), nullable=False),
        sa.Column("shared_station_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hlht_partners")),
        sa.UniqueConstraint("operator_id", name=op.f("uq_hlht_partners_operator_id")),
    )
    op.create_table(
        "hlht_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["hlht_partners.id"], name=op.f("fk_hlht_tokens_partner_id_hlht_partners")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_hlht_tokens")),
    )
    with op.batch_alter_table("hlht_tokens") as batch:
        batch.create_index(batch.f("ix_hlht_tokens_partner_id"), ["partner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("hlht_tokens") as batch:
        batch.drop_index(batch.f("ix_hlht_tokens_partner_id"))
    op.drop_table("hlht_tokens")
    op.drop_table("hlht_partners")
