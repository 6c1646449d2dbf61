"""Schema 4: the web questionnaire as a service that restarts and runs on several workers.

``web_settings`` keeps the signing secret of the forms and the consultant's admin token with
the store, so that a restart (or another worker process) accepts the same links and forms;
``engagements.show_result`` says whether respondents see their own result when they finish
(existing readiness engagements: yes, the others: no, as new engagements default).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.add_column("engagements", sa.Column("show_result", sa.Boolean, nullable=True))
    engagements = sa.table("engagements", sa.column("questionnaire", sa.Text), sa.column("show_result", sa.Boolean))
    op.execute(engagements.update().values(show_result=engagements.c.questionnaire == "readiness"))


def downgrade() -> None:
    with op.batch_alter_table("engagements") as batch:
        batch.drop_column("show_result")
    op.drop_table("web_settings")
