"""care actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("staff", sa.String(length=200), nullable=True),
        sa.Column("episode", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_actions")),
    )
    with op.batch_alter_table("care_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_care_actions_member"), ["member"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("care_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_actions_member"))
    op.drop_table("care_actions")
