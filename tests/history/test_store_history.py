"""The history store on SQLite and PostgreSQL: save, list, load, export/import, delete, names."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from kam_advisor.store import StoreError, open_store, save_assessment

HOSTILE_NAMES = [
    "Robert'); DROP TABLE audits;--",
    'Quote " and \\ backslash',
    "100% _wild_ %cards%",
    "Ünïcödé Ltd — 東京支社 🚀",
    "  padded  ",
    "line\nbreak\ttab",
    "<script>alert(1)</script>",
    "=HYPERLINK(\"x\")",
]


def test_a_saved_audit_loads_back_whole(store, northwind):
    result, sources = northwind
    audit_id = save_assessment(store, result, sources, unit="EMEA", assessor="J. Doe")
    found = store.load(audit_id)
    assert found.result == result
    assert found.sources == sources
    a = found.audit
    assert (a.organisation, a.unit, a.date, a.assessor) == ("Northwind Components Ltd", "EMEA", "2026-10-15", "J. Doe")
    assert (a.stage_achieved, a.stage_current) == (result["overall"]["achieved"], result["overall"]["current"])
    assert a.red_flags == len(result["red_flags"]) and a.coverage == result["coverage"]["ratio"]
    assert a.kb_version == result["kb_version"] and a.respondents == result["respondents"]
    # every answer with its note, as the respondent wrote it
    assert sources[0].answers["sp.goals.positioning.a1"] == "done"
    assert found.sources[0].notes["sp.goals.positioning.a1"].startswith("Driver:")


def test_a_unique_prefix_finds_an_audit_and_bad_ids_say_why(store, northwind):
    audit_id = save_assessment(store, *northwind)
    assert store.load(audit_id[:6]).audit.id == audit_id
    with pytest.raises(StoreError, match="expected 4 to 12 hexadecimal"):
        store.load("x' OR 1=1 --")
    with pytest.raises(StoreError, match="no audit"):
        store.load("0000" if not audit_id.startswith("0000") else "ffff")


def test_history_lists_an_organisations_audits_oldest_first_by_unit(store, northwind, meridian):
    save_assessment(store, *meridian, organisation="Acme", date="2027-03-01")
    save_assessment(store, *northwind, organisation="Acme", date="2026-01-10")
    save_assessment(store, *northwind, organisation="Acme", unit="EMEA", date="2026-06-01")
    save_assessment(store, *northwind, organisation="Other", date="2026-06-01")
    rows = store.audits("Acme")
    assert [r.date for r in rows] == ["2026-01-10", "2026-06-01", "2027-03-01"]
    assert [r.unit for r in store.audits("Acme", "EMEA")] == ["EMEA"]
    assert [r.date for r in store.audits("Acme", "")] == ["2026-01-10", "2027-03-01"]
    assert rows[-1].stage_achieved == meridian[0]["overall"]["achieved"]
    assert [d["id"] for d in rows[0].summary["dimensions"]] == [d["id"] for d in northwind[0]["dimensions"]]
    assert store.organisations() == [("Acme", 3), ("Other", 1)]


def test_save_needs_an_organisation_and_a_real_date(store, northwind):
    result, sources = northwind
    with pytest.raises(StoreError, match="no organisation"):
        store.save({**result, "organisation": None}, sources)
    with pytest.raises(StoreError, match="no such date"):
        store.save(result, sources, date="2026-02-30")
    with pytest.raises(StoreError, match="YYYY-MM-DD"):
        store.save(result, sources, date="1/2/2026")
    assert store.organisations() == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_data_and_round_trip_exactly(store, northwind, name):
    audit_id = save_assessment(store, *northwind, organisation=name, unit=name, assessor=name)
    a = store.load(audit_id).audit
    assert (a.organisation, a.unit, a.assessor) == (name, name, name)
    assert [r.id for r in store.audits(name, name)] == [audit_id]
    assert store.audits(name[:-1] + "%") == [] or name.endswith("%")
    assert store.export(name)["organisation"] == name


def test_a_name_with_a_nul_character_is_refused(store, northwind):
    with pytest.raises(StoreError, match="NUL"):
        save_assessment(store, *northwind, organisation="bad\x00name")


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('names') / 'h.db'}") as opened:
        yield opened


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1,
                    max_size=40).filter(str.strip))
def test_any_organisation_name_round_trips_on_sqlite(sqlite_store, northwind, name):
    audit_id = save_assessment(sqlite_store, *northwind, organisation=name)
    assert audit_id in [r.id for r in sqlite_store.audits(name)]
    assert sqlite_store.load(audit_id).audit.organisation == name


def test_export_then_import_is_exact_and_importing_twice_adds_nothing(store, northwind, meridian, tmp_path):
    save_assessment(store, *northwind, organisation="Acme", unit="EMEA", date="2026-01-10")
    save_assessment(store, *meridian, organisation="Acme", date="2026-09-01", assessor="K. Lee")
    store.set_target("Acme", "C", "2027-06-30")
    exported = store.export("Acme")
    text = json.dumps(exported, indent=2, ensure_ascii=False)
    with open_store(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert other.import_document(json.loads(text)) == (2, 0)
        assert other.import_document(json.loads(text)) == (0, 2)
        assert json.dumps(other.export("Acme"), indent=2, ensure_ascii=False) == text
        assert len(other.audits("Acme")) == 2
        assert other.target("Acme") == store.target("Acme")
    # importing into the database it came from adds nothing either
    assert store.import_document(json.loads(text)) == (0, 2)


def test_export_is_deterministic_and_holds_every_answer(store, northwind):
    save_assessment(store, *northwind)
    first = store.export("Northwind Components Ltd")
    assert json.dumps(first) == json.dumps(store.export("Northwind Components Ltd"))
    (audit,) = first["audits"]
    answers = audit["responses"][0]["answers"]
    assert len(answers) == len(northwind[1][0].answers)
    assert answers["sp.goals.positioning.a1"]["note"].startswith("Driver:")
    assert audit["result"] == northwind[0]


@pytest.mark.parametrize("broken, message", [
    ({"format": "something"}, "format: expected a kam-advisor history export"),
    ({"version": 99}, "version: export version 99"),
    ({"audits": [{"id": "nothex"}]}, "audits[0]: missing"),
    ({"audits": "x"}, "audits: must be a list (got 'x')"),
])
def test_a_broken_export_is_refused_whole_with_the_place(store, northwind, broken, message):
    save_assessment(store, *northwind)
    doc = {**store.export("Northwind Components Ltd"), **broken}
    before = len(store.audits("Northwind Components Ltd"))
    with pytest.raises(Exception) as err:
        store.import_document(doc, "org.json")
    assert message in str(err.value) and str(err.value).startswith("org.json")
    assert len(store.audits("Northwind Components Ltd")) == before


def test_delete_removes_the_audit_and_its_answers(store, northwind):
    keep = save_assessment(store, *northwind, date="2026-01-01")
    gone = save_assessment(store, *northwind, date="2026-02-01")
    assert store.delete(gone).id == gone
    assert [r.id for r in store.audits("Northwind Components Ltd")] == [keep]
    with store.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT COUNT(*) FROM answers WHERE audit_id = :id"), {"id": gone}).scalar()
        kept = conn.execute(sa.text("SELECT COUNT(*) FROM answers WHERE audit_id = :id"), {"id": keep}).scalar()
    assert (left, kept) == (0, len(northwind[1][0].answers))


def test_results_tolerate_fields_added_later(store, northwind):
    """The result document only grows: unknown fields and units not assessed are kept as they are."""
    result, sources = northwind
    grown = json.loads(json.dumps(result))
    grown["findings"] = [{"id": "new"}]
    grown["dimensions"][0]["assessed"] = False
    grown["dimensions"][0]["achieved"] = None
    audit_id = save_assessment(store, grown, sources)
    found = store.load(audit_id)
    assert found.result == grown
    assert found.audit.summary["dimensions"][0]["assessed"] is False
