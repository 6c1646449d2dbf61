"""The tables of the assessment history (SQLAlchemy Core), as the newest migration leaves them.

The migrations in ``store/migrations/versions`` create these tables; this module is what the
store's queries are written against. A test checks both agree (tests/test_store_migrations.py).

- ``audits``: one row per saved assessment: who, what, when, the summary that ``history`` and
  the trend chart read without parsing results, and the full ``assess`` result as JSON text.
- ``responses``: one row per respondent's answers file of an audit (label, file name, facts).
- ``answers``: every raw answer of every respondent, with its note (the input of a re-assessment).
- ``targets``: the stage an organisation (or one unit) aims at, and by when (schema 2).
- ``engagements``, ``respondents``, ``web_answers``: the web questionnaire (schema 3): an
  engagement per organisation and questionnaire, a secret link per respondent, their answers.
- ``web_settings``: the web questionnaire's signing secret and admin token (schema 4), kept with
  the store so that restarts and several worker processes share them.
- schema 5 adds to ``audits`` the version of the stored result document and the organisation's
  sector and size band (the peer benchmark's groups), and ``audit_scores``: the checklist score
  and stage of the programme, each dimension and each topic of every audit, which the peer
  benchmark ranks in SQL (kam_advisor/store/benchmark.py) without parsing a result.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

audits = Table(
    "audits", metadata,
    Column("id", String(32), primary_key=True),
    Column("organisation", Text, nullable=False),
    Column("unit", Text, nullable=True),
    Column("date", String(10), nullable=False),
    Column("assessor", Text, nullable=True),
    Column("saved_at", String(32), nullable=False),
    Column("questionnaire", Text, nullable=True),
    Column("questionnaire_version", Text, nullable=True),
    Column("kb_version", Text, nullable=True),
    Column("tool_version", Text, nullable=True),
    Column("respondents", Text, nullable=False),      # JSON list of labels
    Column("stage_achieved", String(8), nullable=True),
    Column("stage_current", String(8), nullable=True),
    Column("confidence", String(16), nullable=True),
    Column("coverage", Float, nullable=True),
    Column("red_flags", Integer, nullable=False),
    Column("answer_count", Integer, nullable=False),  # rows in `answers`: a save is whole or absent
    Column("summary", Text, nullable=False),          # JSON: stages and scores per dimension
    Column("facts", Text, nullable=False),            # JSON: the combined facts
    Column("result", Text, nullable=False),           # JSON: the full `assess` result
    Column("schema_version", Integer, nullable=True),  # of `result` (schema 5); NULL: version 1
    Column("sector", Text, nullable=True),            # peer group (schema 5)
    Column("size_band", Text, nullable=True),
    Index("audits_by_organisation", "organisation", "unit", "date"),
    # covers the benchmark's "latest whole-organisation audit of each organisation": read from
    # the index alone, never the rows (whose result, 300 KB, sits before sector and size_band)
    Index("audits_by_peer_group", "unit", "organisation", "date", "saved_at", "id", "sector", "size_band"),
)

# keyed (scope, ref, audit_id) and, on SQLite, stored in that order: the benchmark reads one
# unit's scores of many audits, which then lie side by side
audit_scores = Table(
    "audit_scores", metadata,
    Column("scope", String(16), primary_key=True),    # programme, dimension or topic
    Column("ref", Text, primary_key=True),            # its id ("programme" for the programme)
    Column("audit_id", String(32), ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Float, nullable=False),           # checklist score 0-100
    Column("stage", String(8), nullable=True),        # stage achieved; NULL: none yet
    Index("audit_scores_by_audit", "audit_id"),
    sqlite_with_rowid=False,
)

responses = Table(
    "responses", metadata,
    Column("audit_id", String(32), ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("respondent", Text, nullable=True),
    Column("file", Text, nullable=True),
    Column("questionnaire", Text, nullable=False),
    Column("facts", Text, nullable=False),            # JSON: the facts as written in the file
)

answers = Table(
    "answers", metadata,
    Column("audit_id", String(32), ForeignKey("audits.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),    # the respondent's position in `responses`
    Column("question", Text, primary_key=True),
    Column("value", Text, nullable=False),            # JSON: the answer as written
    Column("note", Text, nullable=True),
)

targets = Table(
    "targets", metadata,
    Column("organisation", Text, primary_key=True),
    Column("unit", Text, primary_key=True),           # '' for the whole organisation
    Column("stage", String(8), nullable=False),
    Column("by_date", String(10), nullable=True),
    Column("set_at", String(32), nullable=False),
)

# --- the web questionnaire (schema 3) ---

engagements = Table(
    "engagements", metadata,
    Column("id", String(32), primary_key=True),
    Column("organisation", Text, nullable=False),
    Column("questionnaire", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("closed_at", String(32), nullable=True),
    Column("audit_id", String(32), nullable=True),    # the audit saved in the history when closed
    Column("show_result", Boolean, nullable=True),    # respondents see their own result (schema 4)
)

respondents = Table(
    "respondents", metadata,
    Column("token", String(64), primary_key=True),    # the secret of the respondent's link
    Column("engagement_id", String(32), ForeignKey("engagements.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("label", Text, nullable=False),
    Column("updated_at", String(32), nullable=True),
    Column("finished_at", String(32), nullable=True),
    Index("respondents_by_engagement", "engagement_id", "position"),
)

web_answers = Table(
    "web_answers", metadata,
    Column("token", String(64), ForeignKey("respondents.token", ondelete="CASCADE"), primary_key=True),
    Column("question", Text, primary_key=True),
    Column("value", Text, nullable=False),            # JSON: the canonical answer
    Column("note", Text, nullable=True),
    Column("updated_at", String(32), nullable=False),
)

web_settings = Table(
    "web_settings", metadata,
    Column("name", String(64), primary_key=True),     # "secret" (hex) or "admin_token"
    Column("value", Text, nullable=False),
    Column("updated_at", String(32), nullable=False),
)
