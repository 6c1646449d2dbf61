"""The history commands at the command line: assess --save, history, show, export, import, delete, db."""

from __future__ import annotations

import json

import pytest
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
    assert "Programme stage: achieved A" in res.stdout
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
