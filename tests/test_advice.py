"""Advice a consultant would sign: conclusions only where answers show them, finish what is
started, plain language first, several respondents and views compared."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from conftest import ROOT
from kam_advisor.answers.files import Evidence
from kam_advisor.render import report
from kam_advisor.results import assessment
from kam_advisor.results import assess
from test_cases import CASES, evidence_for
from test_inference import ITEMS, KB, BASE, STAGES, audit

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
RANK = {None: 0, **{s: n for n, s in enumerate(STAGES, 1)}}
TOPICS_OF = {
    "programme": set(KB.topics),
    **{d: {t.id for t in KB.topics.values() if t.dimension == d} for d in KB.dimensions},
    **{a: {t.id for t in KB.topics.values() if t.area == a} for a in KB.areas},
    **{t: {t} for t in KB.topics},
}
# what must never reach the first pages a client reads: checklist ids, rule ids, fact ids, seed files
INTERNAL_ID = re.compile(r"\b(?:sp|oc|pr)\.[a-z]+\.[a-z]+(?:\.[a-d]\d+)?\b|\b(?:rec|flag|state|cell|met|reach|"
                         r"rollup|band|headline|lag|gate|roadmap)[.:][a-z]|\b\d{3}_[0-9a-f]{16}\.txt\b")


def run(statuses, facts=None, scope=None):
    return assessment.assess_evidence(Evidence("full-audit", statuses, facts or {}, scope=scope), KB, BASE)


def units(result):
    yield "programme", result["overall"]
    for key in ("dimensions", "areas", "topics"):
        for u in result[key]:
            yield u["id"], u


def stage_ranks(result):
    return {uid: RANK[u["achieved"]] for uid, u in units(result)}


# --------------------------------------------------------------------------- no conclusion without evidence

@SETTINGS
@given(audit())
def test_no_unit_achieves_a_stage_unless_some_answer_in_it_is_done_or_partial(statuses):
    result = run(statuses)
    for uid, unit in units(result):
        if unit["achieved"] is not None:
            shown = [i for i in ITEMS if KB.items[i].topic in TOPICS_OF[uid]
                     and statuses.get(i) in ("done", "partial")]
            assert shown, f"{uid} achieved {unit['achieved']} with no done or partly done answer in it"


@SETTINGS
@given(audit(), st.data())
def test_adding_a_not_applicable_answer_never_raises_any_stage(statuses, data):
    unanswered = [i for i in ITEMS if statuses.get(i) in (None, "dont_know")]
    assume(unanswered)
    iid = data.draw(st.sampled_from(unanswered))
    before = stage_ranks(run(statuses))
    after = stage_ranks(run({**statuses, iid: "na"}))
    raised = {u: (before[u], after[u]) for u in before if after[u] > before[u]}
    assert not raised, f"marking {iid} not applicable raised {raised}"


def test_a_unit_with_nothing_but_not_applicable_or_unknown_answers_is_not_assessed():
    result = run({"pr.core.operational.c1": "na", "sp.goals.positioning.a1": "dont_know"})
    for uid, unit in units(result):
        assert unit["assessed"] is False and unit["achieved"] is None and unit["current"] is None, uid
    assert result["recommendations"] == [] and result["summary"]["headline"]["rule"].startswith("headline.not-assessed")


def test_seven_answers_show_no_dimension_stage():
    """The audit file of the issue: seven answers, one of them not applicable."""
    answers = {"pr.core.operational.c1": "na", "pr.core.strategic.b1": "done", "pr.core.strategic.b2": "done",
               "pr.kamgr.ops.b1": "done", "pr.kamgr.ops.b2": "done", "sp.goals.positioning.a1": "done",
               "sp.goals.positioning.a2": "partial"}
    result = run(answers)
    assert {d["id"]: d["assessed"] for d in result["dimensions"]} == {"sp": False, "oc": False, "pr": False}
    assert result["overall"]["assessed"] is False
    assert "do not show the programme's stage" in result["summary"]["headline"]["text"]
    # the topics answered keep their own evidence-backed stages
    topics = {t["id"]: t for t in result["topics"]}
    assert (topics["pr.core.strategic"]["achieved"], topics["pr.core.operational"]["assessed"]) == ("B", False)


def test_a_stage_with_no_checklist_action_is_never_evidence_by_itself():
    # KA plans has no stage-A action: with nothing done, it achieves nothing and works on B
    result = run({"sp.planning.kaplans.b1": "not_started"})
    kaplans = next(t for t in result["topics"] if t["id"] == "sp.planning.kaplans")
    assert (kaplans["achieved"], kaplans["current"], kaplans["cells"]["A"]["status"]) == (None, "B", "none")
    assert kaplans["completion"]["A"] is None


def test_unanswered_cells_are_not_painted_as_zero_percent():
    result = run({"sp.goals.positioning.a1": "done"})
    view = report.build_view(result)
    positioning = next(t for d in view["dimensions"] for a in d["areas"] for t in a["topics"]
                       if t["id"] == "sp.goals.positioning")
    assert [(c["stage"], c["state"]) for c in positioning["cells"]] == [
        ("A", "scored"), ("B", "unknown"), ("C", "unknown"), ("D", "unknown")]
    assert positioning["cells"][1]["pct"] == "\u2013" and positioning["cells"][1]["note"] == "not assessed"
    resources = next(t for d in view["dimensions"] for a in d["areas"] for t in a["topics"]
                     if t["id"] == "sp.goals.resources")
    assert not resources["assessed"] and resources["achieved_label"] == "not assessed"
    html = report.render(result, "html", appendix=True)  # the checklist grid is in the appendix
    assert "not assessed (no known answer)" in html  # the grid's legend


def test_a_screening_gives_an_indicative_stage_with_the_confidence_a_full_answer_reaches():
    scope = frozenset(ITEMS[:45])
    result = run({i: "done" for i in scope}, scope=scope)
    assert result["coverage"]["screening"] is True and result["coverage"]["scope"] == 45
    assert result["overall"]["confidence"] == "high"  # everything the screening asks is answered
    assert result["overall"]["indicative"] is True
    screening = result["summary"]["screening"]
    assert "a full audit confirms it" in screening["text"]
    # areas whose topics the screening asks about too few of (under half) to ever assess them
    asked = {KB.items[i].topic for i in scope}
    expected = [a.name for a in KB.areas.values() if sum(t in asked for t in a.topics) < 0.5 * len(a.topics)]
    assert screening["not_covered"] == expected and expected


# --------------------------------------------------------------------------- next steps in order

@SETTINGS
@given(audit())
def test_within_a_topic_partly_done_never_ranks_after_not_started_of_the_same_or_a_later_stage(statuses):
    recs = run(statuses)["recommendations"]
    rank = {s: n for n, s in enumerate(STAGES)}
    for a in recs:
        for b in recs:
            if a["topic"] == b["topic"] and a["status"] == "partial" and b["status"] == "not_started" \
                    and rank[b["stage"]] >= rank[a["stage"]]:
                assert a["rank"] < b["rank"], (a["item"], b["item"])


def test_every_red_flag_is_an_action_in_the_plan_in_the_phase_its_severity_calls_for():
    result = assess.assess_files([str(ROOT / "examples" / "northwind-early-b.yaml")])
    planned = {a["id"]: phase["id"] for phase in result["plan"]["phases"] for a in phase["actions"]}
    assert result["red_flags"]
    order = {p["id"]: n for n, p in enumerate(result["plan"]["phases"])}
    severity = {"high": 0, "medium": 1, "low": 2}
    for flag in result["red_flags"]:
        # the phase its severity calls for, or earlier: with the checklist actions on its subject;
        # later only when the first phase is full (rules/plan.yaml `capacity`), and then never
        # after a less severe flag
        called_for = order[{"high": "90d", "medium": "6m", "low": "12m"}[flag["severity"]]]
        entry = next((a for p in result["plan"]["phases"] for a in p["actions"] if a["id"] == flag["id"]), None)
        assert order[flag["phase"]] <= called_for or (entry and "capacity:90d" in entry["because"]), flag["id"]
        assert all(order[flag["phase"]] <= order[g["phase"]] for g in result["red_flags"]
                   if severity[g["severity"]] > severity[flag["severity"]] and not g.get("topic")
                   and not flag.get("topic")), flag["id"]
        if flag.get("topic"):  # stage skipping: the topic's earlier not-started actions carry it, no second copy
            carried = [a for phase in result["plan"]["phases"] for a in phase["actions"] if flag["id"] in a["because"]]
            assert carried and flag["id"] not in planned
            assert all(order[planned[a["id"]]] <= order[flag["phase"]] for a in carried)
        else:
            assert flag["action"] and planned[flag["id"]] == flag["phase"]


@pytest.mark.parametrize("bonus, severity", [(6, "medium"), (8, "medium"), (10, "medium"), (12, "high"), (30, "high")])
def test_severity_grows_with_the_figure(bonus, severity):
    flags = {f["id"]: f for f in run({}, {"volume_bonus_pct": bonus})["red_flags"]}
    assert flags["flag.volume-bonus"]["severity"] == severity


@pytest.mark.parametrize("kams, text", [(1, "12 key accounts for 1 key account manager"),
                                        (2, "12 key accounts for 2 key account managers")])
def test_figures_read_with_correct_plurals(kams, text):
    flags = {f["id"]: f for f in run({}, {"ka_count": 12, "kam_count": kams})["red_flags"]}
    assert flags["flag.accounts-per-kam"]["message"].startswith(text)


def test_priorities_follow_what_an_early_stage_programme_needs_now():
    case = yaml.safe_load((ROOT / "tests" / "cases" / "20-acorn-just-begun.yaml").read_text())
    result = assessment.assess_evidence(evidence_for(case, KB), KB, BASE)
    priorities = {r["priority"] for r in result["recommendations"]}
    assert priorities == {"high", "medium"}
    foundation = set(BASE.param("foundation_topics"))
    for r in result["recommendations"]:
        assert (r["priority"] == "high") == (r["topic"] in foundation), r["item"]
        # a topic with nothing to do at stage A has achieved nothing: it is never "ahead" and never "can wait"
        assert "ahead" not in r["reason"] and "can wait" not in r["reason"], r["reason"]


# --------------------------------------------------------------------------- plain language

def _summary_text(result: dict) -> str:
    text = report.render(result, "text")
    return text[:text.index("THE PLAN")]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_no_internal_id_in_the_executive_summary_of_any_golden_case(path):
    case = yaml.safe_load(path.read_text())
    result = assessment.assess_evidence(evidence_for(case, KB), KB, BASE)
    summary = _summary_text(result)
    assert not INTERNAL_ID.findall(summary), INTERNAL_ID.findall(summary)[:5]
    html = report.render(result, "html")
    first_pages = html[html.index('id="cover"'):html.index('id="profile"')]
    visible = re.sub(r"<[^>]+>", " ", first_pages)
    assert not INTERNAL_ID.findall(visible), INTERNAL_ID.findall(visible)[:5]


def test_ids_and_rules_stay_in_the_technical_appendix():
    result = assess.assess_files([str(ROOT / "examples" / "northwind-early-b.yaml")])
    plain = report.render(result, "html")
    full = report.render(result, "html", appendix=True)
    first = result["recommendations"][0]
    assert "state.between" not in plain and "Technical appendix" not in plain and first["item"] not in plain
    assert "state.between" in full and f"{first['item']}={first['status']}" in full and first["rule"] in full


def test_sources_are_named_by_their_titles():
    result = assess.assess_files([str(ROOT / "examples" / "northwind-early-b.yaml")])
    for fmt in ("html", "md", "text"):
        out = report.render(result, fmt)
        assert ".txt" not in out.replace("--format text", "")
        assert "Transitioning to KAM: audit and action checklist" in out or "Source:" in out


def test_the_glossary_spells_out_the_checklists_shorthand():
    result = assess.assess_files([str(ROOT / "examples" / "northwind-early-b.yaml")])
    terms = {g["term"] for g in result["glossary"]}
    assert {"KAMgr", "KA", "MIS", "P&L"} <= terms
    assert "Key account manager: the person who leads" in report.render(result, "text", appendix=True)  # Appendix D


def test_a_facets_reason_names_the_answers_that_drive_its_score():
    result = run({"sp.planning.customers.a1": "done", "sp.planning.customers.a2": "not_started"})
    selection = next(f for f in result["facets"] if f["id"] == "selection")
    assert "Specify selection/categorisation criteria for KAs" in selection["strongest"]
    assert "Apply criteria and identify key customers v others" in selection["weakest"]
    assert "Specify selection" in selection["reason"]


def test_the_cover_never_shows_a_file_name_or_an_unnamed_organisation(tmp_path):
    path = tmp_path / "acme-answers-2026.yaml"
    path.write_text("questionnaire: readiness\nanswers:\n  driver: done\n")
    result = assess.assess_files([str(path)])
    html = report.render(result, "html")
    assert "acme-answers-2026" not in html and "Organisation not named" not in html
    assert result["respondents"] == []


# --------------------------------------------------------------------------- several respondents and views

def test_a_screening_by_executives_is_compared_with_the_audit(tmp_path):
    audit_path = ROOT / "examples" / "northwind-early-b.yaml"
    audit_doc = yaml.safe_load(audit_path.read_text())
    said = audit_doc["answers"]["sp.goals.positioning.a1"]
    said = said["status"] if isinstance(said, dict) else said
    screening = tmp_path / "ceo.yaml"
    screening.write_text("questionnaire: readiness\nrespondent: Chief Executive\n"
                         "answers:\n  driver: " + ("not_started" if said == "done" else "done") + "\n")
    result = assess.assess_files([str(audit_path), str(screening)])
    assert result["questionnaire"] == "full-audit"
    gaps = {g["item"]: g for g in result["view_gaps"]}
    assert "sp.goals.positioning.a1" in gaps
    gap = gaps["sp.goals.positioning.a1"]
    assert gap["audit"] == said and gap["respondents"] == ["Chief Executive"] and gap["spread"] != 0


def test_assess_and_report_take_the_cover_names_from_the_command_line():
    from click.testing import CliRunner
    from kam_advisor.cli import main
    args = ["--example", "northwind-early-b", "--org", "Acme plc", "--assessor", "Kim Lee", "--date", "2027-01-31"]
    res = CliRunner().invoke(main, ["assess", *args, "--format", "json"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert (r["organisation"], r["assessor"], r["date"]) == ("Acme plc", "Kim Lee", "2027-01-31")
    res = CliRunner().invoke(main, ["report", *args, "--format", "text"])
    assert res.exit_code == 0 and "Acme plc" in res.stdout and "2027-01-31" in res.stdout
    res = CliRunner().invoke(main, ["report", "--example", "northwind-early-b", "--date", "2027-02-30",
                                    "--format", "text"])
    assert res.exit_code == 2 and res.stderr.strip() == \
        "kam-advisor: --date: expected a date YYYY-MM-DD (got '2027-02-30')"
