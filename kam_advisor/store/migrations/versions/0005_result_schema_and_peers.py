"""Schema 5: each audit records the version of its result document, its sector and size band.

``audits.schema_version`` is the version of the typed result document stored in ``result``
(audits saved before it are NULL: read as version 1 and upgraded when read).
``audits.sector`` and ``audits.size_band`` place an organisation among its peers for the
peer benchmark (NULL when not given); the index covers "the latest whole-organisation audit of
each organisation" with its group, so the benchmark never reads the audit rows. ``audit_scores``
holds each audit's checklist score and stage of the programme, each dimension and each topic
(the figures the benchmark ranks), filled here from the stored results.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("schema_version", sa.Integer, nullable=True))
        batch.add_column(sa.Column("sector", sa.Text, nullable=True))
        batch.add_column(sa.Column("size_band", sa.Text, nullable=True))
    op.create_index("audits_by_peer_group", "audits",
                    ["unit", "organisation", "date", "saved_at", "id", "sector", "size_band"])
    op.create_table(
        "audit_scores",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("ref", sa.Text, primary_key=True),
        sa.Column("audit_id", sa.String(32), sa.ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("stage", sa.String(8), nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index("audit_scores_by_audit", "audit_scores", ["audit_id"])
    _backfill_scores(op.get_bind())


def _backfill_scores(conn) -> None:
    """Every stored audit's scores, from its result (read a few at a time: results are large)."""
    import orjson
    from kam_advisor.store.benchmark import score_rows
    audits = sa.table("audits", sa.column("id", sa.String), sa.column("result", sa.Text))
    scores = sa.table("audit_scores", sa.column("audit_id"), sa.column("scope"), sa.column("ref"),
                      sa.column("value"), sa.column("stage"))
    ids = conn.execute(sa.select(audits.c.id).order_by(audits.c.id)).scalars().all()
    for start in range(0, len(ids), 100):
        rows = []
        for r in conn.execute(sa.select(audits.c.id, audits.c.result).where(audits.c.id.in_(ids[start:start + 100]))):
            try:
                result = orjson.loads(r.result)
            except (orjson.JSONDecodeError, TypeError):
                continue                       # a record damaged outside kam-advisor: no scores
            if isinstance(result, dict):
                rows += score_rows(r.id, result)
        if rows:
            conn.execute(scores.insert(), rows)


def downgrade() -> None:
    op.drop_index("audit_scores_by_audit", table_name="audit_scores")
    op.drop_table("audit_scores")
    op.drop_index("audits_by_peer_group", table_name="audits")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("size_band")
        batch.drop_column("sector")
        batch.drop_column("schema_version")
