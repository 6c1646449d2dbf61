"""The key-account plan health check: every element seed 003 ("Details"), seed 001 (two pages)
and seed 002 (the KA plan template) ask for, and reviews judged against --as-of."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kam_advisor.cli import main
from kam_advisor.results import plan as plan_mod
from kam_advisor.results.assess import assess_files
from kam_advisor.results.bases import load_bases

COMPLETE = Path(__file__).parent / "fixtures" / "plans" / "complete.yaml"
AS_OF = dt.date(2026, 11, 10)  # the complete plan's last quick review was 2026-10-27, deep 2026-10-13


@pytest.fixture(scope="module")
def bases():
    return load_bases()


@pytest.fixture(scope="module")
def complete() -> dict:
    return yaml.safe_load(COMPLETE.read_text())


def check(tmp_path, bases, data, as_of=AS_OF) -> dict:
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    kb, base = bases
    return plan_mod.check_plan_file(path, kb, base, as_of)


def ids(result) -> set[str]:
    return {f["id"] for f in result["findings"]}


def test_a_complete_plan_has_no_finding_and_scores_100(tmp_path, bases, complete):
    result = check(tmp_path, bases, complete)
    assert result["kind"] == "plan"
    assert result["findings"] == []
    assert result["score"]["value"] == 100
    assert all(e["assessed"] for e in result["elements"])


def _drop(data, *keys):
    node = data
    for k in keys[:-1]:
        node = node[k]
    del node[keys[-1]]


# each element of a plan, taken out or spoiled, and the finding it must give
BROKEN = [
    ("goal", lambda d: _drop(d, "goal"), "plan.no-goal", "high"),
    ("goal not measurable", lambda d: d["goal"].update(measurable=False), "plan.goal-not-measurable", "high"),
    ("goal text without a figure", lambda d: (d["goal"].pop("measurable"), d["goal"].update(text="Grow the account")),
     "plan.goal-not-measurable", "high"),
    ("goal not broken down", lambda d: d["goal"].pop("by"), "plan.goal-not-broken-down", "low"),
    ("critical success factors", lambda d: d.update(critical_success_factors=[]), "plan.no-csf", "high"),
    ("necessary conditions", lambda d: d["critical_success_factors"][0].pop("necessary_conditions"), "plan.no-nc",
     "medium"),
    ("a necessary condition without target", lambda d: d["critical_success_factors"][0]["necessary_conditions"][1]
     .pop("target"), "plan.nc-not-measurable", "medium"),
    ("actions", lambda d: d.update(actions=[]), "plan.no-actions", "high"),
    ("an action without owner", lambda d: d["actions"][2].pop("owner"), "plan.accountability-unclear", "medium"),
    ("45 actions", lambda d: d.update(actions=[{"text": f"action {n}", "owner": "Ann"} for n in range(45)]),
     "plan.too-many-actions", "high"),
    ("15 actions", lambda d: d.update(actions=[{"text": f"action {n}", "owner": "Ann"} for n in range(15)]),
     "plan.too-many-actions", "medium"),
    ("team", lambda d: d.update(written_with_team=False), "plan.team-not-involved", "medium"),
    ("workshop", lambda d: d.update(workshop=False), "plan.no-workshop", "low"),
    ("customer", lambda d: d.update(customer_involved=False), "plan.customer-not-involved", "low"),
    ("3 pages", lambda d: d.update(pages=3), "plan.too-long", "medium"),
    ("20 pages", lambda d: d.update(pages=20), "plan.too-long", "high"),
    ("monthly quick reviews", lambda d: d["reviews"].update(quick_every_months=2), "plan.quick-cadence", "low"),
    ("quarterly deep reviews", lambda d: d["reviews"].update(deep_every_months=6), "plan.deep-cadence", "medium"),
    ("deep reviews once a year", lambda d: d["reviews"].update(deep_every_months=12), "plan.deep-cadence", "high"),
    ("quick reviews held", lambda d: d["reviews"].update(quick=[]), "plan.quick-overdue", "high"),
    ("deep reviews held", lambda d: d["reviews"].update(deep=[]), "plan.deep-overdue", "high"),
] + [(f"template field {field}", (lambda f: lambda d: d.pop(f))(field), f"plan.field-missing:{label}", "low")
     for field, label in (("overview", "Account Overview"), ("revenue_snapshot", "Revenue Snapshot"),
                          ("customer_landscape", "Customer Landscape"), ("account_goals", "Account Goals"),
                          ("period", "Plan Period"), ("team", "Key Account Team"))]


@pytest.mark.parametrize("what, spoil, finding, severity", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_plan_missing_an_element_gets_the_matching_finding(tmp_path, bases, complete, what, spoil, finding, severity):
    data = copy.deepcopy(complete)
    spoil(data)
    result = check(tmp_path, bases, data)
    got = {f["id"]: f for f in result["findings"]}
    assert finding in got, f"{what}: {sorted(got)}"
    assert got[finding]["severity"] == severity
    assert got[finding]["advice"] and got[finding]["source"]
    assert result["score"]["value"] == 100 - sum(f["penalty"] for f in result["findings"])
    assert not re.search(r"\bplan\.[a-z]", got[finding]["message"])  # the client reads names, not ids


@pytest.mark.parametrize("as_of, quick, deep", [
    ("2026-11-10", None, None),            # 14 and 28 days since the reviews: on time
    ("2026-12-15", "medium", None),        # 49 days since the last quick review
    ("2027-01-10", "high", None),          # 75 days: more than twice the month
    ("2027-01-20", "high", "medium"),      # 99 days since the last deep review
    ("2027-06-01", "high", "high"),
])
def test_an_overdue_review_is_judged_against_the_as_of_date(tmp_path, bases, complete, as_of, quick, deep):
    result = check(tmp_path, bases, complete, dt.date.fromisoformat(as_of))
    got = {f["id"]: f["severity"] for f in result["findings"]}
    assert got.get("plan.quick-overdue") == quick
    assert got.get("plan.deep-overdue") == deep
    if quick:
        assert as_of in next(f["message"] for f in result["findings"] if f["id"] == "plan.quick-overdue")


def test_reviews_dated_after_the_as_of_date_do_not_count(tmp_path, bases, complete):
    result = check(tmp_path, bases, complete, dt.date(2026, 7, 1))
    assert {"plan.quick-overdue", "plan.deep-overdue"} <= ids(result)


def test_a_bad_plan_file_is_one_line_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("kind: plan\ncustomer: Acme\npages: many\n")
    out = CliRunner().invoke(main, ["plan", "check", str(path)])
    assert out.exit_code == 2
    assert out.stderr.strip().count("\n") == 0
    assert "bad.yaml:3:" in out.stderr and "pages" in out.stderr


def test_several_plans_give_a_table_and_a_bad_one_is_skipped(tmp_path, complete):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(complete))
    long = tmp_path / "long.yaml"
    long.write_text(yaml.safe_dump({**complete, "customer": "Harbour Retail", "pages": 12}))
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: plan\n")
    out = CliRunner().invoke(main, ["plan", "check", str(good), str(long), str(bad), "--as-of", "2026-11-10"])
    assert out.exit_code == 2
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["file", "customer", "score", "high", "medium", "low"]
    assert "Northwind Components" in lines[1] and " 100 " in lines[1]
    assert "Harbour Retail" in lines[2] and " 80 " in lines[2]
    assert "bad.yaml" in out.stderr and "customer" in out.stderr


def test_plan_check_html_and_json(tmp_path):
    out = CliRunner().invoke(main, ["plan", "check", str(COMPLETE), "--as-of", "2027-01-20", "--format", "json"])
    data = json.loads(out.stdout)
    assert data["kind"] == "plan" and data["as_of"] == "2027-01-20"
    html = tmp_path / "p.html"
    CliRunner().invoke(main, ["plan", "check", str(COMPLETE), "--as-of", "2027-01-20", "--format", "html", "-o",
                              str(html)])
    assert "Plan score 70 of 100" in html.read_text()


def test_ka_plan_answers_give_a_plan_result_not_a_programme_diagnosis(tmp_path):
    path = tmp_path / "plan-answers.yaml"
    path.write_text(yaml.safe_dump({"questionnaire": "ka-plan", "answers": {
        "customer": "Harbour Retail", "pages": 6, "last_quick_review": "3-6-months", "quick_review_months": 3,
        "last_deep_review": "never", "goal_measurable": "no", "csf_count": 0, "nc_count": 0, "action_count": 45,
        "accountability": "yes", "team_involved": "no", "customer_involved": "no"}}))
    result = assess_files([path])
    assert result["kind"] == "plan"
    assert "overall" not in result and "recommendations" not in result
    assert result["customer"] == "Harbour Retail"
    assert {"plan.goal-not-measurable", "plan.no-csf", "plan.too-many-actions", "plan.team-not-involved",
            "plan.customer-not-involved", "plan.too-long", "plan.quick-cadence", "plan.quick-overdue",
            "plan.deep-overdue"} <= ids(result)
    assert not any(f["id"].startswith("plan.field-missing") for f in result["findings"])
    assert not next(e for e in result["elements"] if e["id"] == "template")["assessed"]
    text = CliRunner().invoke(main, ["assess", "--answers", str(path)]).stdout
    assert text.startswith("Key-account plan: Harbour Retail")
    assert "Programme stage" not in text and "working on" not in text
    report = CliRunner().invoke(main, ["report", "--answers", str(path), "--format", "md"]).stdout
    assert report.startswith("# Key-account plan: Harbour Retail")


def test_names_cannot_open_markup_in_md_or_html(tmp_path, complete):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({**complete, "customer": "Acme <script>x</script> | Co"}))
    md = CliRunner().invoke(main, ["plan", "check", str(path), str(COMPLETE), "--format", "md"]).stdout
    assert "<script>" not in md and "Acme &lt;script&gt;" in md and "\\| Co" in md
    html = CliRunner().invoke(main, ["plan", "check", str(path), "--format", "html", "-o", str(tmp_path / "p.html")])
    assert html.exit_code == 0
    assert "<script>" not in (tmp_path / "p.html").read_text()


def test_batch_over_plan_answers_gives_plan_columns(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "harbour.yaml").write_text(yaml.safe_dump({"questionnaire": "ka-plan", "answers": {
        "customer": "=Harbour Retail", "pages": 3, "csf_count": 2, "nc_count": 0}}))
    out = CliRunner().invoke(main, ["batch", str(folder), "-o", str(tmp_path / "out")])
    assert out.exit_code == 0
    import csv
    row = next(csv.DictReader(open(tmp_path / "out" / "summary.csv", encoding="utf-8")))
    assert row["kind"] == "plan" and row["account"] == "'=Harbour Retail"
    assert row["plan_score"] == "80" and row["red_flags"] == "2"


def test_a_plan_result_that_does_not_fit_its_model_is_refused_naming_the_field(tmp_path, bases, complete):
    from kam_advisor.data.errors import DataError
    from kam_advisor.render.plan import plans_table, render_plan
    result = check(tmp_path, bases, complete)
    assert "Plan score" in render_plan(result, "text")
    broken = {k: v for k, v in result.items() if k != "score"}
    for fmt in ("text", "md", "html"):
        with pytest.raises(DataError, match="missing required field `score`"):
            render_plan(broken, fmt)
    wrong = dict(result, score=dict(result["score"], value="high"))
    with pytest.raises(DataError, match=r"\$\.score\.value"):
        plans_table([result, wrong], "text")
