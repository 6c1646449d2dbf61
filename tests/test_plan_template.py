"""`plan template -o FILE`: a fillable key-account plan (YAML or xlsx) with the structure `plan
check` reads, explained from the knowledge base; filled in, it loads and checks like a plan file."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from kam_advisor.answers import plan_template
from kam_advisor.cli import main
from kam_advisor.results.bases import load_bases

COMPLETE = Path(__file__).parent / "fixtures" / "plans" / "complete.yaml"
AS_OF = "2026-11-10"
SCHEMA = Path(__file__).parents[1] / "kam_advisor" / "data" / "schemas" / "plan.yaml"


@pytest.fixture(scope="module")
def kb():
    return load_bases()[0]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def check_json(path) -> tuple[int, dict | None, str]:
    out = run("plan", "check", path, "--as-of", AS_OF, "--format", "json")
    return out.exit_code, json.loads(out.stdout) if out.exit_code == 0 else None, out.stderr


def test_the_yaml_template_has_every_field_the_check_reads_explained_from_the_knowledge_base(tmp_path, kb):
    assert run("plan", "template", "-o", tmp_path / "p.yaml").exit_code == 0
    text = (tmp_path / "p.yaml").read_text()
    data = yaml.safe_load(text)
    props = yaml.safe_load(SCHEMA.read_text())["properties"]
    assert set(data) == set(props)
    assert set(data["goal"]) == set(props["goal"]["properties"])
    assert set(data["reviews"]) == set(props["reviews"]["properties"])
    comments = " ".join(line.lstrip("# ").strip() for line in text.splitlines() if line.lstrip().startswith("#"))
    for rid in ("kaplan.review.quick", "kaplan.review.deep"):
        assert kb.records[rid].data["name"] in comments and kb.records[rid].data["question"] in comments
    for rid in ("kaplan.goal", "kaplan.csf", "kaplan.nc", "kaplan.actions"):
        assert kb.records[rid].data["name"] in comments
    for rid in ("kaplan.field.overview", "kaplan.field.revenue", "kaplan.field.goals"):
        assert kb.records[rid].data["label"] in comments
    assert run("plan", "template").stdout == text  # stdout without -o


def test_the_unfilled_template_names_what_is_missing_and_filled_minimally_it_checks(tmp_path):
    path = tmp_path / "p.yaml"
    run("plan", "template", "-o", path)
    code, _, err = check_json(path)
    assert code == 2 and err.count("\n") == 1 and "customer" in err
    path.write_text(re.sub(r"(?m)^customer:", "customer: Northwind Components", path.read_text()))
    code, result, _ = check_json(path)
    assert code == 0 and result["customer"] == "Northwind Components"
    found = {f["id"] for f in result["findings"]}
    assert {"plan.no-goal", "plan.no-csf", "plan.no-actions"} <= found
    assert result["score"]["value"] < 100


def test_the_yaml_template_filled_in_place_checks_like_the_complete_plan(tmp_path):
    path = tmp_path / "p.yaml"
    run("plan", "template", "-o", path)
    complete = yaml.safe_load(COMPLETE.read_text())
    text = path.read_text()
    for key, value in complete.items():  # each top-level field written after its colon
        if key == "kind":
            continue
        block = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False).rstrip("\n")
        pattern = re.compile(rf"(?ms)^{key}:.*?(?=^\S|\Z)" if isinstance(value, dict) else rf"(?m)^{key}:.*$")
        text, n = pattern.subn(lambda m: block + "\n", text, count=1)
        assert n == 1, key
    path.write_text(text)
    filled = check_json(path)
    reference = check_json(COMPLETE)
    assert filled[0] == reference[0] == 0
    assert filled[1]["score"] == reference[1]["score"] and filled[1]["score"]["value"] == 100
    assert filled[1]["findings"] == reference[1]["findings"] == []


def fill_workbook(path: Path, plan: dict) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book[plan_template.PLAN_SHEET]
    for row in sheet.iter_rows(min_row=2):
        key = row[0].value
        if not key:
            continue
        node = plan
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        if isinstance(node, list):
            node = "; ".join(str(v) for v in node)
        elif isinstance(node, bool):
            node = "yes" if node else "no"
        elif isinstance(node, dt.date):
            node = dt.datetime(node.year, node.month, node.day)  # as Excel stores a typed date
        row[1].value = node
    csfs = book[plan_template.CSF_SHEET]
    for csf in plan["critical_success_factors"]:
        for n, nc in enumerate(csf["necessary_conditions"]):
            csfs.append([csf["name"] if n == 0 else None, nc["indicator"], nc["target"]])
    actions = book[plan_template.ACTION_SHEET]
    for a in plan["actions"]:
        due = a.get("due")
        actions.append([a["text"], a.get("owner"), dt.datetime(due.year, due.month, due.day) if due else None])
    book.save(path)


def test_the_xlsx_template_filled_in_checks_like_the_complete_plan(tmp_path):
    path = tmp_path / "p.xlsx"
    assert run("plan", "template", "-o", path).exit_code == 0
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [plan_template.PLAN_SHEET, plan_template.CSF_SHEET, plan_template.ACTION_SHEET]
    plan = book[plan_template.PLAN_SHEET]
    keys = [r[0] for r in plan.iter_rows(min_row=2, values_only=True) if r[0]]
    assert keys == [k for k, _, _ in plan_template._PLAN_KINDS]
    assert all(r[2] for r in plan.iter_rows(min_row=2, max_row=len(keys) + 1, values_only=True))  # each explained
    drop_downs = {str(dv.sqref): dv.formula1 for dv in plan.data_validations.dataValidation}
    period_row = keys.index("period") + 2
    assert drop_downs[f"B{period_row}"] == '"calendar-year,6-month,rolling-12-months,perpetual"'
    assert all(c.comment for s in book.worksheets[1:] for c in s[1])
    code, _, err = check_json(path)
    assert code == 2 and "customer" in err
    fill_workbook(path, yaml.safe_load(COMPLETE.read_text()))
    filled, reference = check_json(path), check_json(COMPLETE)
    assert filled[0] == 0, filled[2]
    assert filled[1]["findings"] == reference[1]["findings"] == []
    assert filled[1]["score"]["value"] == 100


def test_a_bad_cell_of_a_plan_workbook_is_one_line_naming_it(tmp_path):
    path = tmp_path / "p.xlsx"
    run("plan", "template", "-o", path)
    book = openpyxl.load_workbook(path)
    sheet = book[plan_template.PLAN_SHEET]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2) if r[0].value}
    rows["customer"][1].value = "Acme"
    rows["pages"][1].value = "many"
    book.save(path)
    out = run("plan", "check", path)
    assert out.exit_code == 2 and out.stderr.count("\n") == 1
    assert f"Plan!B{rows['pages'][1].row}: pages must be a number (got 'many')" in out.stderr


def test_plan_template_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("kind: plan\ncustomer: Mine\n")
    out = run("plan", "template", "-o", path)
    assert out.exit_code == 2 and "use --force" in out.stderr and out.stderr.count("\n") == 1
    assert path.read_text() == "kind: plan\ncustomer: Mine\n"
    assert run("plan", "template", "-o", path, "--force").exit_code == 0
    assert "customer:" in path.read_text() and "Mine" not in path.read_text()
    out = run("plan", "template", "-o", tmp_path / "p.txt")
    assert out.exit_code == 2 and ".yaml, .yml or .xlsx" in out.stderr
