"""interactions: one row per call, keyed on linkedid

Revision ID: 0001
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("caller_number", sa.String(64), nullable=False),
        sa.Column("caller_name", sa.String(128), nullable=False),
        sa.Column("dialled_number", sa.String(64), nullable=False),
        sa.Column("keys_pressed", sa.String(256), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hangup_cause", sa.Integer, nullable=True),
        sa.Column("hangup_cause_text", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
    )
    op.create_index("ix_interactions_linkedid", "interactions", ["linkedid"], unique=True)
    op.create_index("ix_interactions_started_at", "interactions", ["started_at"])
    op.create_index("ix_interactions_status", "interactions", ["status"])


def downgrade():
    op.drop_table("interactions")
