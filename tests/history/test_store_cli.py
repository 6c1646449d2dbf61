"""The history commands at the command line: assess --save, history, show, export, import, delete, db."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from history.conftest import EXAMPLES
from kam_advisor.cli import main

NORTHWIND = EXAMPLES / "northwind-early-b.yaml"
MERIDIAN = EXAMPLES / "meridian-mature.yaml"


def invoke(*args, env=None, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, input=input)


@pytest.fixture()
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'h.db'}"


def _save(url, answers=NORTHWIND, *extra):
    res = invoke("assess", "--answers", answers, "--save", "--db", url, *extra)
    assert res.exit_code == 0, res.output
    return res


def test_assess_save_then_history_shows_the_audit(url):
    res = _save(url, NORTHWIND, "--unit", "EMEA", "--assessor", "J. Doe")
    assert "saved audit" in res.stderr
    _save(url, MERIDIAN, "--org", "Northwind Components Ltd", "--date", "2027-01-31")
    res = invoke("history", "Northwind Components Ltd", "--db", url)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "Northwind Components Ltd: 2 audits"
    assert "2026-10-15  EMEA" in lines[3] and "A -> B" in lines[3] and "J. Doe" in lines[3]
    assert "2027-01-31  (whole)" in lines[4]
    data = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json", "--db", url).stdout)
    assert [(a["unit"], a["date"], a["achieved"]) for a in data["audits"]] == [
        ("EMEA", "2026-10-15", "A"), (None, "2027-01-31", "C")]
    assert data["audits"][0]["questionnaire_version"] and data["audits"][0]["kb_version"]


def test_kam_advisor_db_sets_the_database_for_a_shell(url):
    res = invoke("assess", "--answers", NORTHWIND, "--save", env={"KAM_ADVISOR_DB": url})
    assert res.exit_code == 0, res.output
    assert "1 audit" in invoke("history", "Northwind Components Ltd", env={"KAM_ADVISOR_DB": url}).stdout


def test_save_options_without_save_and_bad_dates_are_one_line_errors(url):
    res = invoke("assess", "--answers", NORTHWIND, "--unit", "EMEA", "--db", url)
    assert res.exit_code == 2 and "add --save" in res.stderr
    res = invoke("assess", "--answers", NORTHWIND, "--save", "--date", "31/01/2027", "--db", url)
    assert res.exit_code == 2 and res.stderr.strip() == \
        "kam-advisor: --date: expected a date YYYY-MM-DD (got '31/01/2027')"


def test_history_of_an_unknown_organisation_suggests_a_known_one(url):
    _save(url)
    res = invoke("history", "Northwind Components", "--db", url)
    assert res.exit_code == 2
    assert "did you mean 'Northwind Components Ltd'" in res.stderr and len(res.stderr.splitlines()) == 1


def test_show_prints_the_audit_and_its_summary(url):
    _save(url)
    audit_id = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json",
                                 "--db", url).stdout)["audits"][0]["id"]
    res = invoke("show", audit_id[:6], "--db", url)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"audit {audit_id}: Northwind Components Ltd, 2026-10-15")
    assert "The KAM programme has achieved stage A (Scoping KAM)" in res.stdout
    stored = json.loads(invoke("show", audit_id, "--format", "json", "--db", url).stdout)
    assert stored == json.loads(invoke("assess", "--answers", NORTHWIND, "--format", "json").stdout)


def test_export_import_round_trip_at_the_command_line(url, tmp_path):
    _save(url, NORTHWIND, "--unit", "EMEA")
    _save(url, MERIDIAN, "--org", "Northwind Components Ltd", "--date", "2027-01-31")
    exported = invoke("export", "Northwind Components Ltd", "--db", url).stdout
    (tmp_path / "org.json").write_text(exported)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    first = invoke("import", tmp_path / "org.json", "--db", other)
    assert first.exit_code == 0 and "imported 2 audits" in first.stderr
    again = invoke("import", tmp_path / "org.json", "--db", other)
    assert "imported 0 audits" in again.stderr and "(2 already present)" in again.stderr
    assert invoke("export", "Northwind Components Ltd", "--db", other).stdout == exported


def test_import_of_a_file_that_is_not_json_names_the_line(url, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": oops\n}\n')
    res = invoke("import", bad, "--db", url)
    assert res.exit_code == 2 and "bad.json:2: not JSON" in res.stderr


def test_delete_asks_first_and_yes_skips_the_question(url):
    _save(url)
    audit_id = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json",
                                 "--db", url).stdout)["audits"][0]["id"]
    res = invoke("delete", audit_id, "--db", url, input="n\n")
    assert res.exit_code == 1 and "nothing deleted" in res.stderr
    assert invoke("history", "Northwind Components Ltd", "--db", url).exit_code == 0
    res = invoke("delete", audit_id, "--yes", "--db", url)
    assert res.exit_code == 0 and f"deleted audit {audit_id}" in res.stderr
    assert invoke("history", "Northwind Components Ltd", "--db", url).exit_code == 2


def test_db_info_and_upgrade(url, tmp_path):
    res = invoke("db", "upgrade", "--db", url)
    from kam_advisor.store import HEAD
    assert res.exit_code == 0 and res.stdout.strip().endswith(f"schema none -> {HEAD}")
    assert invoke("db", "upgrade", "--db", url).stdout.strip().endswith(f"schema {HEAD}, up to date")
    _save(url)
    info = json.loads(invoke("db", "info", "--format", "json", "--db", url).stdout)
    assert info == {"url": url, "backend": "sqlite", "schema": HEAD, "tool_schema": HEAD, "audits": 1,
                    "organisations": 1}
    res = invoke("db", "info", "--db", f"sqlite:///{tmp_path / 'missing' / 'h.db'}")
    assert res.exit_code == 2 and "folder does not exist" in res.stderr
    res = invoke("history", "X", "--db", "mysql://u@h/db")
    assert res.exit_code == 2 and "unsupported database 'mysql'" in res.stderr


# --- compare and target ------------------------------------------------------------------------

def _progressed(tmp_path, name, date, done_first, **facts):
    """Northwind with its first `done_first` not-started actions done (a later audit)."""
    import yaml
    doc = yaml.safe_load(NORTHWIND.read_text())
    doc["date"] = date
    for item in [i for i, v in doc["answers"].items() if v == "not_started"][:done_first]:
        doc["answers"][item] = "done"
    doc["facts"].update(facts)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture()
def three_audits(url, tmp_path):
    _save(url, NORTHWIND)
    _save(url, _progressed(tmp_path, "q2", "2027-01-15", 40, has_senior_sponsor=True))
    regressed = _progressed(tmp_path, "q3", "2027-04-15", 60, has_senior_sponsor=True)
    import yaml
    doc = yaml.safe_load(regressed.read_text())
    doc["answers"]["sp.goals.positioning.a1"] = "not_started"
    doc["answers"]["sp.goals.positioning.a2"] = "not_started"
    regressed.write_text(yaml.safe_dump(doc, sort_keys=False))
    _save(url, regressed)
    return json.loads(invoke("history", "Northwind Components Ltd", "--format", "json",
                             "--db", url).stdout)["audits"]


def test_compare_defaults_to_the_last_two_audits_regressions_first(url, three_audits):
    res = invoke("compare", "Northwind Components Ltd", "--db", url)
    assert res.exit_code == 0, res.output
    text = res.stdout
    assert f"Audit of 2027-01-15 ({three_audits[1]['id']}) compared with 2027-04-15 ({three_audits[2]['id']})" in text
    assert text.index("Regressions (") < text.index("Stage changes (") < text.index("Actions newly done (")
    regressions = text[text.index("Regressions ("):text.index("Stage changes (")]
    assert "Positioning: Find powerful driver (done \u2192 not started)" in regressions
    assert "Topic Positioning: D \u2192 none" in regressions      # the foundation topic: the programme too
    assert "Programme KAM programme: A \u2192 none" in regressions
    assert "sp.goals" not in text                        # names, never ids


def test_compare_from_to_and_json(url, three_audits):
    first, _, last = three_audits
    res = invoke("compare", "Northwind Components Ltd", "--from", first["id"][:6], "--to", last["id"],
                 "--format", "json", "--db", url)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) == {"schema_version", "organisation", "unit", "stages", "comparison", "trend", "target", "units"}
    assert (doc["comparison"]["from"]["id"], doc["comparison"]["to"]["id"]) == (first["id"], last["id"])
    assert "flag.no-sponsor" in [f["id"] for f in doc["comparison"]["red_flags"]["cleared"]]
    assert [a["date"] for a in doc["trend"]["audits"]] == ["2026-10-15", "2027-01-15", "2027-04-15"]


def test_compare_html_has_the_trend_chart_in_the_reports_style(url, three_audits, tmp_path):
    out = tmp_path / "compare.html"
    res = invoke("compare", "Northwind Components Ltd", "--format", "html", "--output", out, "--db", url)
    assert res.exit_code == 0, res.output
    html = out.read_text()
    import xml.etree.ElementTree as ET
    svg = html[html.index("<svg"):html.index("</svg>") + 6]
    root = ET.fromstring(svg)
    assert root.get("class") == "chart trend"
    assert len([e for e in root.iter() if e.tag.endswith("path")]) == 4     # programme + 3 dimensions
    assert "--accent: #1d4e89" in html                                       # report.css inlined
    md = invoke("compare", "Northwind Components Ltd", "--format", "md", "--db", url).stdout
    assert md.startswith("# Northwind Components Ltd\n") and "## Regressions" in md
    res = invoke("compare", "Northwind Components Ltd", "--format", "html", "--db", url)
    assert res.exit_code == 2 and "give --output" in res.stderr


def test_compare_with_one_audit_says_there_is_nothing_to_compare(url):
    _save(url, NORTHWIND, "--unit", "EMEA")
    res = invoke("compare", "Northwind Components Ltd", "--db", url)
    assert res.exit_code == 2 and "nothing to compare (units: EMEA; give --unit NAME)" in res.stderr
    res = invoke("compare", "Nobody Ltd", "--db", url)
    assert res.exit_code == 2 and "no audits of 'Nobody Ltd'" in res.stderr


def test_target_is_kept_and_compare_shows_progress_towards_it(url, three_audits):
    res = invoke("target", "Northwind Components Ltd", "--stage", "C", "--by", "2027-12-31", "--db", url)
    assert res.exit_code == 0, res.output
    assert "Target stage C by 2027-12-31" in res.stdout and "Phase 1: stage A" in res.stdout
    doc = json.loads(invoke("compare", "Northwind Components Ltd", "--format", "json", "--db", url).stdout)
    t = doc["target"]
    assert (t["stage"], t["by"], t["first"]["date"], t["latest"]["date"]) == ("C", "2027-12-31", "2026-10-15",
                                                                              "2027-04-15")
    assert 0 < t["percent_to_target"] < 1 and t["progress_since_first"] > 0
    assert t["phases"][-1]["due"] == "2027-12-31"
    res = invoke("target", "Northwind Components Ltd", "--stage", "E", "--db", url)
    assert res.exit_code == 2 and "--stage: expected one of A, B, C, D" in res.stderr


def test_compare_of_an_organisation_with_units_names_those_holding_it_back(url, tmp_path):
    _save(url, NORTHWIND, "--org", "Acme", "--unit", "Austria")
    _save(url, MERIDIAN, "--org", "Acme", "--unit", "Germany")
    _save(url, MERIDIAN, "--org", "Acme", "--unit", "France")
    doc = json.loads(invoke("compare", "Acme", "--format", "json", "--db", url).stdout)
    assert doc["comparison"] is None
    units = doc["units"]
    assert [h["unit"] for h in units["holding_back"]] == ["Austria"]
    assert units["tensions"] and all(t["units_behind"] == ["Austria"] for t in units["tensions"])
    text = invoke("compare", "Acme", "--db", url).stdout
    assert "Units holding the organisation back:\n    - Austria" in text
    assert "Geographical organisations vs key account management" in text


def test_run_saves_the_finished_questionnaire_into_the_history(url, tmp_path):
    answers = tmp_path / "run.yaml"
    res = invoke("run", "readiness", "--answers", answers, "--save", "--org", "Run Ltd", "--unit", "Nordics",
                 "--db", url, input="s\n" * 40)
    assert res.exit_code == 0, res.output
    assert "saved audit" in res.stderr
    data = json.loads(invoke("history", "Run Ltd", "--format", "json", "--db", url).stdout)
    (audit,) = data["audits"]
    assert (audit["unit"], audit["questionnaire"]) == ("Nordics", "readiness")
    # without --save, --org and --date are recorded in the answers file only (for the report's cover)
    res = invoke("run", "readiness", "--answers", tmp_path / "other.yaml", "--org", "Other Ltd", "--date", "2026-11-02",
                 "--db", url, input="")
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load((tmp_path / "other.yaml").read_text())
    assert (doc["organisation"], str(doc["date"])) == ("Other Ltd", "2026-11-02")
    assert "no audits of 'Other Ltd'" in invoke("history", "Other Ltd", "--db", url).stderr


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("not a database\n")
    for args in (["history", "Acme"], ["assess", "--answers", NORTHWIND, "--save"], ["db", "info"]):
        res = invoke(*args, "--db", f"sqlite:///{bogus}")
        assert res.exit_code == 2, res.output
        assert res.stderr.strip().endswith("file is not a database") and len(res.stderr.splitlines()) == 1
    assert bogus.read_text() == "not a database\n"


def test_history_of_an_unknown_unit_lists_the_units(url):
    _save(url, NORTHWIND, "--unit", "EMEA")
    res = invoke("history", "Northwind Components Ltd", "--unit", "APAC", "--db", url)
    assert res.exit_code == 2
    assert "no audits of unit 'APAC' of 'Northwind Components Ltd' (units: EMEA)" in res.stderr


def test_the_units_roll_up_reads_older_summaries_from_the_full_result(url):
    """Summaries saved before they held action statuses: the roll-up falls back to the results."""
    _save(url, NORTHWIND, "--org", "Acme", "--unit", "Austria")
    _save(url, MERIDIAN, "--org", "Acme", "--unit", "Germany")
    fresh = json.loads(invoke("compare", "Acme", "--format", "json", "--db", url).stdout)["units"]
    import sqlalchemy as sa
    from kam_advisor.store import open_store
    with open_store(url) as store, store.engine.begin() as conn:
        for audit_id, summary in conn.execute(sa.text("SELECT id, summary FROM audits")).all():
            old = {k: v for k, v in json.loads(summary).items() if k not in ("statuses", "stages")}
            conn.execute(sa.text("UPDATE audits SET summary = :s WHERE id = :id"),
                         {"s": json.dumps(old), "id": audit_id})
    assert json.loads(invoke("compare", "Acme", "--format", "json", "--db", url).stdout)["units"] == fresh
