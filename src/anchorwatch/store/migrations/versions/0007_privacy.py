"""privacy: the erased list and text removed by the retention policy

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "erased",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_erased")),
    )
    # Plain ADD COLUMN on both engines: the messages table is never rebuilt.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_removed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("text_chars", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("text_facts", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("text_facts")
        batch_op.drop_column("text_chars")
        batch_op.drop_column("text_removed_at")
    op.drop_table("erased")
