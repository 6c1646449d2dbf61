"""Typed result documents: every JSON document the product writes carries its `schema_version`,
fits its kind's model field for field (in order) and the JSON Schema generated from it; results
stored by the previous version (fixture blobs) are upgraded when read and render as before."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import orjson
import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from kam_advisor.cli import main
from kam_advisor.data.errors import DataError
from kam_advisor.results.documents import registry as documents
from kam_advisor.results.account import score_portfolio
from kam_advisor.results.assess import assess_files
from kam_advisor.results.assessment import assess_evidence, load_bases
from kam_advisor.results.plan import check_plan_file
from kam_advisor.store import open_store, sources_from_files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml")) + [ROOT / "tests" / "fixtures" / "answers" / "report-example.yaml"]
BLOBS = ROOT / "tests" / "fixtures" / "blobs"
CRITERIA = ["stability", "cross_sell", "adjacent_markets", "order_flow", "aligned_strategy", "financial", "ease",
            "brand"]


def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = documents.schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def fits(doc: dict, kind: str, in_order: bool = False) -> None:
    """``doc`` is valid under its kind's JSON Schema, and its model holds every field: the model
    written back out is the same JSON (``in_order``: byte for byte, keys in the model's order)."""
    errors = sorted(validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, f"{kind}: {list(errors[0].absolute_path)}: {errors[0].message}"
    assert doc["schema_version"] == documents.version(kind)
    option = 0 if in_order else orjson.OPT_SORT_KEYS
    assert orjson.dumps(documents.as_dict(documents.load(doc, kind)), option=option) == orjson.dumps(doc, option=option)


@pytest.fixture(scope="module")
def programme_results() -> list[dict]:
    """The golden cases and the examples, assessed."""
    import test_cases as cases
    kb, base = load_bases()
    out = [assess_evidence(cases.evidence_for(cases.read_case(p), kb), kb, base) for p in cases.CASES]
    return out + [assess_files([p]) for p in EXAMPLES]


def account_answers(tmp_path: Path) -> Path:
    path = tmp_path / "globex.yaml"
    path.write_text(yaml.safe_dump({"questionnaire": "account", "answers": {
        "account_name": "Globex", "is_key": "yes", "buysell_level": "commodity", "treats_us_as_key": "no",
        "price_only": "yes", **{f"attract_{k}": 4 for k in CRITERIA}}}))
    return path


def plan_answers(tmp_path: Path) -> Path:
    path = tmp_path / "plan-answers.yaml"
    path.write_text(yaml.safe_dump({"questionnaire": "ka-plan", "answers": {
        "customer": "Harbour Retail", "pages": 6, "last_quick_review": "3-6-months", "quick_review_months": 3,
        "last_deep_review": "never", "goal_measurable": "no", "csf_count": 0, "nc_count": 0, "action_count": 45,
        "accountability": "yes", "team_involved": "no", "customer_involved": "no"}}))
    return path


def portfolio_csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    header = ["id", "name", "key_account", "manager", "revenue", "potential", *CRITERIA, "buysell_level",
              "treats_us_as_key", "price_only"]
    rows = [["1", "Northwind", "yes", "Ann", "100", "200", *["5"] * 8, "partner", "yes", "no"],
            ["2", "Globex", "no", "Bo", "50", "", *["2"] * 8, "commodity", "no", "yes"],
            ["3", "Initech", "", "", "", "", *[""] * 8, "", "", ""]]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


# --- the models and their JSON Schema hold the real outputs ------------------------------------

def test_every_golden_case_and_example_fits_the_assessment_model(programme_results):
    for doc in programme_results:
        assert list(doc)[:2] == ["kind", "schema_version"]
        fits(doc, "assessment", in_order=True)


def test_account_plan_and_portfolio_results_fit_their_models(tmp_path):
    kb, base = load_bases()
    fits(assess_files([account_answers(tmp_path)]), "account")
    fits(assess_files([plan_answers(tmp_path)]), "plan")
    fits(check_plan_file(ROOT / "tests" / "fixtures" / "plans" / "complete.yaml", kb, base), "plan")
    portfolio = score_portfolio(portfolio_csv(tmp_path), kb, base)
    assert len(portfolio["accounts"]) == 3
    fits(portfolio, "portfolio")


def test_a_document_that_does_not_fit_is_refused_naming_the_field(programme_results):
    doc = dict(programme_results[0], overall={**programme_results[0]["overall"], "achieved": 3})
    with pytest.raises(DataError, match=r"\$\.overall\.achieved"):
        documents.load(doc)
    assert list(validator("assessment").iter_errors(doc))


# --- `kam-advisor schema KIND` -------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(documents.KINDS))
def test_schema_prints_the_json_schema_of_each_kind(kind):
    res = CliRunner().invoke(main, ["schema", kind])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == documents.schema(kind) and schema["x-schema-version"] == documents.version(kind)
    root = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    assert "schema_version" in root["required"]


def test_schema_of_an_unknown_kind_is_one_line_with_a_suggestion():
    res = CliRunner().invoke(main, ["schema", "acount"])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "did you mean 'account'" in lines[0] and "Traceback" not in res.output


# --- every JSON output carries its schema_version -------------------------------------------------

def invoke(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_every_json_output_carries_its_schema_version(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    north, meridian = ROOT / "examples" / "northwind-early-b.yaml", ROOT / "examples" / "meridian-mature.yaml"
    assessed = json.loads(invoke("assess", "--answers", north, "--format", "json", "--save", "--db", url,
                                 "--org", "Acme", "--date", "2026-01-10"))
    fits(assessed, "assessment")
    invoke("assess", "--answers", meridian, "--save", "--db", url, "--org", "Acme", "--date", "2026-06-10")
    for unit, answers in (("EMEA", north), ("APAC", meridian)):
        invoke("assess", "--answers", answers, "--save", "--db", url, "--org", "Acme", "--unit", unit,
               "--date", "2026-06-11")
    fits(json.loads(invoke("assess", "--answers", account_answers(tmp_path), "--format", "json")), "account")
    fits(json.loads(invoke("assess", "--answers", plan_answers(tmp_path), "--format", "json")), "plan")
    out = tmp_path / "portfolio.json"
    invoke("accounts", "score", portfolio_csv(tmp_path), "--format", "json", "-o", out)
    fits(json.loads(out.read_text()), "portfolio")
    fits(json.loads(invoke("history", "Acme", "--format", "json", "--db", url)), "history")
    compared = json.loads(invoke("compare", "Acme", "--format", "json", "--db", url))
    assert compared["units"] is not None and compared["comparison"] is not None
    fits(compared, "compare")
    fits(json.loads(invoke("target", "Acme", "--stage", "C", "--format", "json", "--db", url)), "compare")
    exported = json.loads(invoke("export", "Acme", "--db", url))
    for audit in exported["audits"]:
        fits(audit["result"], "assessment")
    audit_id = exported["audits"][0]["id"]
    fits(json.loads(invoke("show", audit_id, "--format", "json", "--db", url)), "assessment")
    from kam_advisor.store.progress import report_progress
    with open_store(url) as store:
        progress = report_progress(store, "Acme", assessed | {"date": "2026-12-01"})
    fits(progress, "progress")


# --- results stored by the previous version: upgraded when read -----------------------------------

def store_old_blob(store, name: str) -> tuple[str, dict]:
    """An audit whose row is as the previous version wrote it: its result blob byte for byte, no
    schema_version recorded."""
    text = (BLOBS / name).read_text(encoding="utf-8")
    old = json.loads(text)
    audit_id = store.save(old, organisation="Acme", date="2026-11-01")
    with store.engine.begin() as conn:
        from kam_advisor.store.schema import audits
        conn.execute(sa.update(audits).where(audits.c.id == audit_id).values(result=text, schema_version=None))
    return audit_id, old


@pytest.mark.parametrize("name, kind", [("programme-v1.json", "assessment"), ("account-v1.json", "account"),
                                        ("plan-v1.json", "plan")])
def test_a_blob_saved_by_the_previous_version_is_upgraded_when_read(tmp_path, name, kind):
    with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        audit_id, old = store_old_blob(store, name)
        assert "schema_version" not in old
        loaded = store.load(audit_id).result
        assert store.results([audit_id])[audit_id] == loaded
        assert store.export("Acme")["audits"][0]["result"] == loaded
    added = {"warnings": []} if kind == "account" else {}   # version 3 of an account: the ratings left out
    assert loaded == {**documents.stamp(old, kind), **added} and list(loaded)[:2] == ["kind", "schema_version"]
    fits(loaded, kind)
    model = documents.load(old)   # the model reads the old blob too, upgrading it first
    assert model.schema_version == documents.version(kind)


def test_an_upgraded_blob_renders_as_the_blob_did(tmp_path):
    from kam_advisor.render.report import render
    from kam_advisor.render.text import render_text
    with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        ids = {name: store_old_blob(store, name) for name in ("programme-v1.json", "account-v1.json", "plan-v1.json")}
        loaded = {name: store.load(audit_id).result for name, (audit_id, _) in ids.items()}
    for name, (_, old) in ids.items():
        assert render_text(loaded[name]) == render_text(old)
    programme = loaded["programme-v1.json"]
    html = render(programme, "html")
    assert programme["organisation"] in html and html == render(ids["programme-v1.json"][1], "html")


def test_saving_records_the_results_schema_version(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'h.db'}") as store:
        new_id = store.save(assess_files([EXAMPLES[0]]), sources_from_files([EXAMPLES[0]]), organisation="Acme")
        old_id, _ = store_old_blob(store, "account-v1.json")
        with store.engine.connect() as conn:
            from kam_advisor.store.schema import audits
            versions = dict(conn.execute(sa.select(audits.c.id, audits.c.schema_version)).all())
    assert versions == {new_id: documents.version("assessment"), old_id: None}
