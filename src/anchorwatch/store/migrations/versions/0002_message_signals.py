"""message signals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:07:35.080342
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_signals",
        sa.Column("message", sa.String(length=200), nullable=False),
        sa.Column("backend", sa.String(length=40), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=True),
        sa.Column("p_newcomer_answer", sa.Float(), nullable=False),
        sa.Column("p_welcome", sa.Float(), nullable=False),
        sa.Column("p_deescalate_humor", sa.Float(), nullable=False),
        sa.Column("p_deescalate_summary", sa.Float(), nullable=False),
        sa.Column("p_deescalate_redirect", sa.Float(), nullable=False),
        sa.Column("p_empathy", sa.Float(), nullable=False),
        sa.Column("p_guide_details", sa.Float(), nullable=False),
        sa.Column("p_guide_channel", sa.Float(), nullable=False),
        sa.Column("p_newcomer_question", sa.Float(), nullable=False),
        sa.Column("p_complaint", sa.Float(), nullable=False),
        sa.Column("p_heated", sa.Float(), nullable=False),
        sa.Column("p_offensive", sa.Float(), nullable=False),
        sa.Column("p_personal_attack", sa.Float(), nullable=False),
        sa.Column("p_gratitude", sa.Float(), nullable=False),
        sa.Column("p_bias_accusation", sa.Float(), nullable=False),
        sa.Column("p_fatigue", sa.Float(), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("message", name=op.f("pk_message_signals")),
    )


def downgrade() -> None:
    op.drop_table("message_signals")
