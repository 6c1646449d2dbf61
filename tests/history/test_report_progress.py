"""`report --progress`: the diagnostic report of a re-audit shows the audits kept before it and the
way to the organisation's target stage (percent-to-target, progress since the first audit, the
actions between now and the target, phased), in names, in every format."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from history.conftest import EXAMPLES
from kam_advisor.cli import main
from kam_advisor.results.assess import assess_files
from kam_advisor.results.target import progress

NORTHWIND = EXAMPLES / "northwind-early-b.yaml"
ORG = "Northwind Components Ltd"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def earlier(tmp_path):
    """Northwind six months before the example: its stage-A actions only partly done."""
    doc = yaml.safe_load(NORTHWIND.read_text())
    for item, value in doc["answers"].items():
        status = value["status"] if isinstance(value, dict) else value
        if item.rsplit(".", 1)[-1].startswith("a") and status == "done":
            doc["answers"][item] = {**value, "status": "partial"} if isinstance(value, dict) else "partial"
    doc["date"] = "2026-04-01"
    path = tmp_path / "northwind-april.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture()
def url(tmp_path, earlier) -> str:
    """A history with the April audit and a target of stage C by mid-2027."""
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("assess", "--answers", earlier, "--save", "--db", db).exit_code == 0
    res = invoke("target", ORG, "--stage", "C", "--by", "2027-06-30", "--db", db)
    assert res.exit_code == 0, res.output
    return db


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end, text.index(start))]


def test_the_json_carries_the_earlier_audits_and_the_progress_computed_from_the_first(url, earlier):
    res = invoke("report", "--answers", NORTHWIND, "--progress", "--db", url, "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    result = assess_files([NORTHWIND])
    assert {k: v for k, v in doc.items() if k != "progress"} == result     # the assess contract, untouched
    got = doc["progress"]
    assert [(a["date"], a["achieved"], a["current"]) for a in got["earlier"]] == [("2026-04-01", None, "A")]
    assert got["target"] == progress(assess_files([earlier]), result, "C", "2027-06-30", "2026-04-01", "2026-10-15")
    assert 0 < got["target"]["percent_to_target"] < 1 and 0 < got["target"]["progress_since_first"] < 1


def test_the_report_says_how_far_the_organisation_came_in_names(url):
    res = invoke("report", "--answers", NORTHWIND, "--progress", "--db", url, "--format", "md")
    assert res.exit_code == 0, res.output
    target = json.loads(invoke("report", "--answers", NORTHWIND, "--progress", "--db", url,
                               "--format", "json").stdout)["progress"]["target"]
    page = _section(res.stdout, "## Progress since earlier audits", "## The plan")
    assert (f"Towards the target of stage C Embedding KAM by 2027-06-30: **{round(target['percent_to_target'] * 100)}%** "
            "of the way there (counted topic by topic: the stages each has achieved and the share done of the stage "
            "it works on, against the target; the programme as a whole has achieved stage A Scoping KAM); "
            f"{round(target['progress_since_first'] * 100)}% of the gap at the first audit "
            f"(2026-04-01, {round(target['first']['percent_to_target'] * 100)}% of the way) closed since.") in page
    assert "| 2026-04-01 (Example Consulting) | – | no stage yet | A Scoping KAM |" in page
    assert "| This assessment (2026-10-15) | – | A Scoping KAM | B Introducing KAM |" in page
    assert f"### Between now and the target ({target['open_actions']} actions)" in page
    for phase in target["phases"]:
        assert f"**Stage {phase['stage']} " in page and f"(by {phase['due']})" in page
    assert "Define KAMgr role & responsibilities – Role, responsibilities & skills · not started" in page
    assert not re.search(r"\b(sp|oc|pr)\.[a-z]+\.", page), "ids in what the client reads"


@pytest.mark.parametrize("fmt, heading", [("html", '<section class="page" id="progress">'),
                                          ("text", "PROGRESS SINCE EARLIER AUDITS")])
def test_html_and_text_have_the_progress_page_too(url, tmp_path, fmt, heading):
    out = tmp_path / f"r.{fmt}"
    res = invoke("report", "--answers", NORTHWIND, "--progress", "--db", url, "--format", fmt, "--output", out)
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert heading in text and "2026-04-01" in text and "of the way there" in text
    assert "Furthest from the target:" in text


def test_an_audit_saved_on_the_reports_own_date_is_this_assessment_not_an_earlier_one(url):
    assert invoke("assess", "--answers", NORTHWIND, "--save", "--db", url).exit_code == 0
    doc = json.loads(invoke("report", "--answers", NORTHWIND, "--progress", "--db", url, "--format", "json").stdout)
    assert [a["date"] for a in doc["progress"]["earlier"]] == ["2026-04-01"]


def test_without_a_target_the_page_lists_the_earlier_audits_only(tmp_path, earlier):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("assess", "--answers", earlier, "--save", "--db", db).exit_code == 0
    res = invoke("report", "--answers", NORTHWIND, "--progress", "--db", db, "--format", "md")
    assert res.exit_code == 0, res.output
    page = _section(res.stdout, "## Progress since earlier audits", "## The plan")
    assert "2026-04-01" in page and "target" not in page


def test_nothing_kept_is_a_warning_and_a_report_without_the_page(tmp_path):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    res = invoke("report", "--answers", NORTHWIND, "--progress", "--db", db, "--format", "md")
    assert res.exit_code == 0, res.output
    assert f"warning: no earlier audit and no target of '{ORG}'" in res.stderr
    assert "Progress since earlier audits" not in res.stdout and "## The plan" in res.stdout


def test_a_units_audits_and_target(tmp_path, earlier):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("assess", "--answers", earlier, "--save", "--unit", "EMEA", "--db", db).exit_code == 0
    assert invoke("target", ORG, "--stage", "B", "--unit", "EMEA", "--db", db).exit_code == 0
    doc = json.loads(invoke("report", "--answers", NORTHWIND, "--progress", "--unit", "EMEA", "--db", db,
                            "--format", "json").stdout)
    assert doc["progress"]["unit"] == "EMEA" and doc["progress"]["target"]["stage"] == "B"
    assert [a["unit"] for a in doc["progress"]["earlier"]] == ["EMEA"]
    whole = invoke("report", "--answers", NORTHWIND, "--progress", "--db", db, "--format", "json")
    assert "progress" not in json.loads(whole.stdout) and "warning" in whole.stderr


@pytest.mark.parametrize("args, message", [
    (["--unit", "EMEA"], "--unit: only with --progress (the unit whose earlier audits and target to show)"),
    (["--progress", "--org", ""], "--progress: the answers name no organisation; give --org NAME"),
])
def test_bad_progress_options_are_one_line_and_exit_2(tmp_path, args, message):
    doc = yaml.safe_load(NORTHWIND.read_text())
    del doc["organisation"]
    answers = tmp_path / "anonymous.yaml"
    answers.write_text(yaml.safe_dump(doc))
    res = invoke("report", "--answers", answers, "--format", "md", "--db", f"sqlite:///{tmp_path / 'h.db'}", *args)
    assert res.exit_code == 2
    assert res.stderr.strip().splitlines() == [f"kam-advisor: {message}"]
