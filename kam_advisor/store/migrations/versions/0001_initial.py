"""Schema 1: audits, the respondents' answers files and every raw answer.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audits",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=True),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("assessor", sa.Text, nullable=True),
        sa.Column("saved_at", sa.String(32), nullable=False),
        sa.Column("questionnaire", sa.Text, nullable=True),
        sa.Column("questionnaire_version", sa.Text, nullable=True),
        sa.Column("kb_version", sa.Text, nullable=True),
        sa.Column("tool_version", sa.Text, nullable=True),
        sa.Column("respondents", sa.Text, nullable=False),
        sa.Column("stage_achieved", sa.String(8), nullable=True),
        sa.Column("stage_current", sa.String(8), nullable=True),
        sa.Column("confidence", sa.String(16), nullable=True),
        sa.Column("coverage", sa.Float, nullable=True),
        sa.Column("red_flags", sa.Integer, nullable=False),
        sa.Column("answer_count", sa.Integer, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_index("audits_by_organisation", "audits", ["organisation", "unit", "date"])
    op.create_table(
        "responses",
        sa.Column("audit_id", sa.String(32), sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("respondent", sa.Text, nullable=True),
        sa.Column("file", sa.Text, nullable=True),
        sa.Column("questionnaire", sa.Text, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
    )
    op.create_table(
        "answers",
        sa.Column("audit_id", sa.String(32), sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("question", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("answers")
    op.drop_table("responses")
    op.drop_index("audits_by_organisation", "audits")
    op.drop_table("audits")
