"""users, API tokens and the venting channel

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)
    op.create_table(
        "vent_channels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(length=200), nullable=False),
        sa.Column("care_user", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("opt_in_risk", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vent_channels")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_vent_channels_token_hash")),
    )
    with op.batch_alter_table("vent_channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vent_channels_member"), ["member"], unique=False)
        batch_op.create_index(batch_op.f("ix_vent_channels_care_user"), ["care_user"], unique=False)
    op.create_table(
        "vent_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("care_user", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("labels", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vent_messages")),
    )
    with op.batch_alter_table("vent_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vent_messages_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_vent_messages_member"), ["member"], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ("vent_messages", ("ix_vent_messages_member", "ix_vent_messages_channel")),
        ("vent_channels", ("ix_vent_channels_care_user", "ix_vent_channels_member")),
        ("api_tokens", ("ix_api_tokens_user_id",)),
        ("users", ()),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in indexes:
                batch_op.drop_index(name)
        op.drop_table(table)
