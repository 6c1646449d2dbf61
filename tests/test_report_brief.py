"""The condensed client report and the one-page board brief (issue 23).

The default report holds the plan's first phase in full and each later phase summarised (its
count, the red flags it answers, its themes); the full plan, the findings topic by topic, the
facet table, the method and every answer are in the appendix (``--appendix``). ``report --brief``
gives one page: the headline, the stage, what is in place, the plan's first three entries, the
top red flags and the next review (the assessment's date plus the first phase's months).
Expected values are computed here from the assessment result, never copied from a rendering.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli.app import main
from kam_advisor.render import consistency, report
from kam_advisor.results import assessment
from kam_advisor.results import assess

NORTHWIND = ROOT / "examples" / "northwind-early-b.yaml"
SCREENING = ROOT / "docs" / "panel" / "round-1" / "corvel-perception-gap" / "ceo-readiness.yaml"
FORMATS = ("html", "md", "text")


@pytest.fixture(scope="module")
def northwind() -> dict:
    return assess.assess_files([str(NORTHWIND)])


@pytest.fixture(scope="module")
def screening() -> dict:
    return assess.assess_files([str(SCREENING)])


def _words(text: str, fmt: str) -> str:
    """Plain words; text output re-joined where it wrapped a line."""
    return consistency.plain_text(text, fmt)


def _names(result: dict) -> dict:
    areas = {a["id"]: a["name"] for a in result["areas"]}
    return {t["id"]: f"{areas[t['area']]} \u203a {t['name']}" for t in result["topics"]}


def _months_on(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.month - 1 + months, 12)
    for last in (31, 30, 29, 28):
        try:
            return dt.date(day.year + year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("no such month")


# --------------------------------------------------------------------------- the default report

@pytest.mark.parametrize("fmt", FORMATS)
def test_the_default_report_has_the_first_phase_in_full_and_the_later_ones_summarised(northwind, fmt):
    out = _words(report.render(northwind, fmt), fmt)
    full = _words(report.render(northwind, fmt, appendix=True), fmt)
    phases = northwind["plan"]["phases"]
    assert len(phases) > 1 and all(p["actions"] for p in phases)
    for entry in phases[0]["actions"]:
        assert consistency.plain_text(entry["text"], "text") in out, entry["text"]
    topic_path = _names(northwind)
    titles = {f["id"]: f["title"] for f in northwind["red_flags"]}
    for phase in phases[1:]:
        assert f"{phase['name']} ({len(phase['actions'])} actions)" in out
        counts: dict[str, int] = {}
        for a in phase["actions"]:
            if a["kind"] != "flag" and a.get("topic"):
                counts[a["topic"]] = counts.get(a["topic"], 0) + 1
        top = max(counts, key=lambda t: counts[t])
        assert f"{topic_path[top]} ({counts[top]})" in out
        if len(counts) > report.THEMES:
            assert f"and {len(counts) - report.THEMES} more topics" in out
        for a in phase["actions"]:
            if a["kind"] == "flag":
                assert titles[a["id"]] in out
    # the later phases' actions are not all listed: the appendix holds them, every one
    later = [a["text"] for p in phases[1:] for a in p["actions"]]
    assert sum(consistency.plain_text(t, "text") in out for t in later) < len(later)
    assert all(consistency.plain_text(t, "text") in full for t in later)
    assert "--appendix" in out and not re.search(r"\bappendix [a-f]\b", out, re.I)
    assert re.search(r"\bappendix a\b", full, re.I) and re.search(r"\bappendix f\b", full, re.I)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_condensed_findings_give_every_topic_its_stage_and_next_action(northwind, fmt):
    out = _words(report.render(northwind, fmt), fmt)
    for topic in northwind["topics"]:
        assert topic["name"] in out, topic["name"]
    # a topic with a recommendation shows its first one as the next action
    first = {}
    for rec in northwind["recommendations"]:
        first.setdefault(rec["topic"], rec["text"])
    for text in first.values():
        assert consistency.plain_text(text, "text") in out


def test_the_facet_table_method_and_grid_are_in_the_appendix_only(northwind):
    plain, full = report.render(northwind, "html"), report.render(northwind, "html", appendix=True)
    for section in ('id="facets"', 'id="method"', 'id="heatmap"', 'id="topics"', 'id="full-plan"'):
        assert section not in plain and section in full, section
    for section in ('id="plan"', 'id="profile"', 'id="findings"'):
        assert section in plain, section
    method = northwind["method"][0]
    assert report.markdown_text(method)[:40] not in report.render(northwind, "md")


# --------------------------------------------------------------------------- the brief

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("which", ["northwind", "screening"])
def test_the_brief_says_headline_stage_priorities_flags_and_next_review(which, fmt, request):
    result = request.getfixturevalue(which)
    out = _words(report.render(result, fmt, brief=True), fmt)
    assert consistency.plain_text(result["summary"]["headline"]["text"], "text") in out
    stages = {s["id"]: s["name"] for s in result["stages"]}
    achieved = result["overall"]["achieved"]
    assert f"achieved {achieved} {stages[achieved]}" in out
    entries = [a for p in result["plan"]["phases"] for a in p["actions"]]
    priorities = [consistency.plain_text(a["text"], "text") for a in entries[:3]]
    places = [out.index(p) for p in priorities]
    assert places == sorted(places), "the priorities are the plan's first three, in its order"
    assert consistency.plain_text(entries[3]["text"], "text") not in out if len(entries) > 3 else True
    flags = sorted(result["red_flags"], key=lambda f: ["high", "medium", "low"].index(f["severity"]))
    for flag in flags[:3]:
        assert flag["title"] in out
    for flag in flags[3:]:
        assert flag["title"] not in out
    months = result["plan"]["phases"][0]["months"]
    due = _months_on(dt.date.fromisoformat(result["date"]), months)
    assert f"Next review: {due.isoformat()}" in out
    assert not consistency.INTERNAL_ID.search(out), consistency.INTERNAL_ID.search(out)
    for rule in {a.get("rule") for a in entries[:3]} - {None, ""}:
        assert rule not in out


def test_the_brief_without_a_date_says_in_how_many_months(northwind):
    undated = {**northwind, "date": None}
    months = northwind["plan"]["phases"][0]["months"]
    for fmt in FORMATS:
        out = _words(report.render(undated, fmt, brief=True), fmt)
        assert f"Next review: in {months} months" in out


def test_the_next_review_keeps_to_the_end_of_a_shorter_month():
    assert report._add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert report._add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    assert report._add_months(dt.date(2026, 10, 15), 12) == dt.date(2027, 10, 15)


def test_the_brief_as_json_is_the_same_content(northwind):
    data = json.loads(report.render(northwind, "json", brief=True))
    assert data["kind"] == "brief"
    assert data["headline"] == northwind["summary"]["headline"]["text"]
    entries = [a for p in northwind["plan"]["phases"] for a in p["actions"]]
    assert [p["text"] for p in data["priorities"]] == [a["text"] for a in entries[:3]]
    assert len(data["red_flags"]) == min(3, len(northwind["red_flags"]))
    assert data["next_review"]["months"] == northwind["plan"]["phases"][0]["months"]


def test_the_brief_markdown_is_well_formed_and_text_fits_80_columns(northwind, screening):
    for result in (northwind, screening):
        consistency.check_markdown(report.render(result, "md", brief=True))
        assert max(len(line) for line in report.render(result, "text", brief=True).splitlines()) <= 80


def test_the_brief_html_escapes_names(northwind):
    evil = {**northwind, "organisation": "<script>alert(1)</script> & Co"}
    out = report.render(evil, "html", brief=True)
    assert "<script>alert" not in out and "&lt;script&gt;" in out


def test_cli_brief(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["report", "--example", "northwind-early-b", "--brief", "--format", "md"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("# Board brief: Northwind Components Ltd")
    res = runner.invoke(main, ["report", "--example", "northwind-early-b", "--brief", "--appendix", "--format", "md"])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0
    assert "--brief" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["report", "--example", "northwind-early-b", "--brief", "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["kind"] == "brief"
