"""The schema: migrations from an empty database and from the first schema, the tables the code
expects, and a database from a newer version of the tool refused and left untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.autogenerate import compare_metadata
from alembic.script import ScriptDirectory

import kam_advisor.store.db as db
from kam_advisor.store import StoreError, open_store, save_assessment
from kam_advisor.store.schema import metadata


def _config(conn=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


def test_the_tools_revisions_are_the_shipped_migrations_in_order():
    script = ScriptDirectory.from_config(_config())
    chain = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    assert tuple(chain) == db.REVISIONS
    assert script.get_current_head() == db.HEAD


def test_an_empty_database_gets_the_schema_the_queries_expect(db_url):
    with open_store(db_url) as store:
        with store.engine.connect() as conn:
            assert db.current_revision(conn) == db.HEAD
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_a_database_of_the_first_schema_is_migrated_on_open_keeping_its_audits(db_url, northwind):
    engine = db.create_engine(db_url)
    with db.writing(engine) as conn:
        command.upgrade(_config(conn), "0001")
    with engine.connect() as conn:
        assert db.current_revision(conn) == "0001"
        assert not sa.inspect(conn).has_table("targets")
    # an audit written under schema 1: its rows as today's, without the columns added since
    # (schema 5's `schema_version`; schema 5 adds the scores, filled on upgrade)
    from kam_advisor.store.audits import Store, _record
    row, responses, answers, scores = _record(*northwind, organisation=None, unit=None, date=None, assessor=None,
                                              questionnaire_version=None)
    del row["schema_version"]
    with db.writing(engine) as conn:
        Store._insert(conn, row, responses, answers)
    audit_id = row["id"]
    engine.dispose()
    with pytest.raises(StoreError, match="run kam-advisor db upgrade"):
        open_store(db_url, upgrade=False)
    with open_store(db_url) as store:
        assert store.load(audit_id).result == northwind[0]
        from kam_advisor.store.schema import audit_scores
        with store.engine.connect() as conn:
            backfilled = [dict(r._mapping) for r in conn.execute(sa.select(audit_scores).order_by(
                audit_scores.c.scope, audit_scores.c.ref))]
        assert len(scores) > 20 and backfilled == sorted(scores, key=lambda r: (r["scope"], r["ref"]))
        store.set_target("Northwind Components Ltd", "C")
        assert store.target("Northwind Components Ltd")["stage"] == "C"
        with store.engine.connect() as conn:
            assert db.current_revision(conn) == db.HEAD


def _stamp_future(url: str) -> None:
    with open_store(url) as store:
        with db.writing(store.engine) as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9001'")


def _fingerprint(store_url: str) -> str:
    path = Path(sa.engine.make_url(store_url).database)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_from_a_newer_tool_is_refused_in_one_line_and_left_untouched(db_url, northwind):
    with open_store(db_url) as store:
        save_assessment(store, *northwind)
    _stamp_future(db_url)
    engine = db.create_engine(db_url)
    with engine.connect() as conn:       # checkpoint so the main file holds everything before we look
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    before = _fingerprint(db_url) if db_url.startswith("sqlite") else None
    for attempt in (lambda: open_store(db_url), lambda: db.upgrade(db.create_engine(db_url))):
        with pytest.raises(StoreError) as err:
            attempt()
        message = err.value.format()
        assert "\n" not in message and "newer than this version of kam-advisor" in message
        assert "left untouched" in message
    if before is not None:
        assert _fingerprint(db_url) == before
    engine = db.create_engine(db_url)
    with engine.connect() as conn:
        assert db.current_revision(conn) == "9001"
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM audits").scalar() == 1
    engine.dispose()


def test_engagements_of_schema_3_keep_their_answers_and_readiness_shows_its_result(db_url):
    """Schema 4 keeps the web questionnaire's secrets in the store and adds show_result: on for
    the readiness engagements already there, off for the others (as new engagements default)."""
    engine = db.create_engine(db_url)
    with db.writing(engine) as conn:
        command.upgrade(_config(conn), "0003")
    with db.writing(engine) as conn:
        for eid, qid in (("e1", "readiness"), ("e2", "full-audit")):
            conn.exec_driver_sql("INSERT INTO engagements (id, organisation, questionnaire, created_at) "
                                 f"VALUES ('{eid}', 'Acme', '{qid}', '2026-01-01T00:00:00+00:00')")
        conn.exec_driver_sql("INSERT INTO respondents (token, engagement_id, position, label) "
                             f"VALUES ('{'t' + 'x' * 31}', 'e1', 1, 'CEO')")
        conn.exec_driver_sql("INSERT INTO web_answers (token, question, value, updated_at) VALUES "
                             f"('{'t' + 'x' * 31}', 'driver', '\"done\"', '2026-01-01')")
    engine.dispose()
    from kam_advisor.store import engagements as eng
    with open_store(db_url) as store:
        assert eng.get(store, "e1").show_result is True and eng.get(store, "e2").show_result is False
        assert eng.answers(store, "t" + "x" * 31) == ({"driver": "done"}, {})
        assert eng.read_web_secrets(store) is None                   # made by the first `serve`
        made = eng.web_secrets(store)
        assert eng.web_secrets(store) == made == eng.read_web_secrets(store)
        assert len(made.secret) == 32 and len(made.admin_token) == 32
        rotated = eng.web_secrets(store, new_admin_token=True)
        assert rotated.secret == made.secret and rotated.admin_token != made.admin_token
