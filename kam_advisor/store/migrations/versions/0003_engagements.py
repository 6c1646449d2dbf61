"""Schema 3: engagements of the web questionnaire, their respondents and the answers given online.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engagements",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("organisation", sa.Text, nullable=False),
        sa.Column("questionnaire", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("closed_at", sa.String(32), nullable=True),
        sa.Column("audit_id", sa.String(32), nullable=True),
    )
    op.create_table(
        "respondents",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("engagement_id", sa.String(32), sa.ForeignKey("engagements.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=True),
        sa.Column("finished_at", sa.String(32), nullable=True),
    )
    op.create_index("respondents_by_engagement", "respondents", ["engagement_id", "position"])
    op.create_table(
        "web_answers",
        sa.Column("token", sa.String(64), sa.ForeignKey("respondents.token", ondelete="CASCADE"), primary_key=True),
        sa.Column("question", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_answers")
    op.drop_index("respondents_by_engagement", table_name="respondents")
    op.drop_table("respondents")
    op.drop_table("engagements")
