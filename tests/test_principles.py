"""Advice that holds for clients nobody has seen yet: the principles of issue 19, checked by the
library's report-consistency checker over hypothesis-generated client profiles (dimensions at
different stages, noise, red-flag facts, a rosier screening beside the audit) and over every
golden case, in every output format."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from kam_advisor.answers.evidence import compare_view_facts, compare_views
from kam_advisor.answers.files import Evidence
from kam_advisor.answers.loader import builtin, load_cached
from kam_advisor.answers.evidence import questionnaire_scope
from kam_advisor.render import consistency, report
from kam_advisor.results import assessment
from test_cases import CASES, evidence_for

KB, BASE = assessment.load_bases()
STAGES = KB.stage_ids
RANK = {s: n for n, s in enumerate(STAGES, 1)}
FACT_SPECS = BASE.facts
READINESS = load_cached(builtin("readiness"))
READINESS_SCOPE = questionnaire_scope(READINESS)
FORMATS = ("text", "md", "html")
MANY = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
RENDERED = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def client_profile(draw, screening: bool | None = None):
    """A client: each dimension (and, within it, each area) has its own level of maturity (how
    many stages are mostly done), answers vary around it with noise, and red-flag facts are set or
    not. Optionally an executive's readiness screening beside the audit, rosier or not."""
    dim_level = {d: draw(st.integers(0, 4)) for d in KB.dimensions}
    area_shift = {a: draw(st.sampled_from([-1, 0, 0, 0, 1])) for a in KB.areas}
    noise = draw(st.floats(0, 0.35))
    seed = draw(st.integers(0, 2**32 - 1))
    import random
    rnd = random.Random(seed)
    statuses = {}
    for iid, item in KB.items.items():
        level = max(0, min(4, dim_level[item.dimension] + area_shift[item.area]))
        lean = "done" if RANK[item.stage] <= level else ("partial" if RANK[item.stage] == level + 1 else "not_started")
        if rnd.random() < noise:
            lean = rnd.choice(["done", "partial", "not_started", "na", "dont_know", None])
        if lean:
            statuses[iid] = lean
    facts = {}
    for name, value in (("has_senior_sponsor", st.booleans()), ("kam_owned_by_sales", st.booleans()),
                        ("kams_from_sales_untrained", st.booleans()), ("volume_bonus_pct", st.integers(0, 40)),
                        ("ka_count", st.integers(1, 300)), ("kam_count", st.integers(1, 30)),
                        ("plan_pages", st.integers(1, 15)), ("deep_review_months", st.integers(1, 12)),
                        ("quick_review_months", st.integers(1, 6)), ("commodity_key_accounts", st.integers(0, 20))):
        if draw(st.booleans()):
            facts[name] = draw(value)
    audit = Evidence("full-audit", statuses, facts, respondents=("Consultant",))
    with_screening = draw(st.booleans()) if screening is None else screening
    if not with_screening:
        return audit
    rosier = draw(st.booleans())
    view = {}
    for iid in READINESS_SCOPE:
        st_ = statuses.get(iid)
        if rosier and rnd.random() < 0.6:
            st_ = "done"
        elif rnd.random() < 0.2:
            st_ = rnd.choice(["done", "partial", "not_started"])
        if st_:
            view[iid] = st_
    view_facts = {k: (not v if isinstance(v, bool) and rosier else v) for k, v in facts.items()}
    other = Evidence("readiness", view, view_facts, respondents=("Chief Executive",), scope=READINESS_SCOPE)
    extra = {"view_gaps": compare_views(audit, other, READINESS),
             "view_fact_gaps": compare_view_facts(audit, other, READINESS, FACT_SPECS),
             "views": [{"questionnaire": "readiness", "questionnaire_title": READINESS.title,
                        "respondents": ["Chief Executive"]}]}
    return Evidence("full-audit", statuses, facts, respondents=("Consultant",), extra=extra)


def assess(evidence):
    return assessment.assess_evidence(evidence, KB, BASE)


@MANY
@given(client_profile())
def test_every_principle_of_the_result_holds_for_any_client(evidence):
    consistency.check_result(assess(evidence))


@RENDERED
@given(client_profile())
def test_every_principle_holds_in_every_format_for_any_client(evidence):
    result = assess(evidence)
    consistency.check(result, {fmt: report.render(result, fmt) for fmt in FORMATS})


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_principle_holds_for_every_golden_case(path):
    case = yaml.safe_load(path.read_text())
    result = assess(evidence_for(case, KB))
    consistency.check(result, {fmt: report.render(result, fmt) for fmt in FORMATS})


# --------------------------------------------------------------------------- the checker catches what it should


def _unbalanced():
    """Processes and plans at stage C on an organisation still at nothing: the panel's first case."""
    statuses = {}
    for iid, item in KB.items.items():
        if item.dimension == "oc":
            statuses[iid] = "not_started"
        else:
            statuses[iid] = "done" if RANK[item.stage] <= 3 else "not_started"
    return assess(Evidence("full-audit", statuses, {"has_senior_sponsor": False}))


def test_an_organisation_far_behind_its_processes_is_named_with_what_runs_ahead_and_the_risk():
    result = _unbalanced()
    lag = next(lag for lag in result["summary"]["lagging"] if lag["unit"] == "oc")
    assert lag["ahead"] and {a["unit"] for a in lag["ahead"]} <= {"sp", "pr"}
    # the risk says what the lagging side is for, never that a particular thing is missing
    assert "senior management's part" in lag["risk"] and "make the work that runs ahead hold" in lag["risk"]
    text = report.render(result, "text")
    summary = consistency.executive_summary(text, "text")
    assert "Organisation & culture lags" in summary and "make the work that runs ahead hold" in summary
    first = [a for a in result["plan"]["phases"][0]["actions"] if a["kind"] == "action"][0]
    assert KB.topics[first["topic"]].dimension == "oc"


@pytest.mark.parametrize("breaks, principle", [
    (lambda r: r["summary"].update(lagging=[]), "balance"),
    (lambda r: r["plan"]["phases"][-1]["actions"].clear(), "nothing drops out"),
    (lambda r: r["recommendations"][0].update(priority="low", reason="X is ahead of the programme"), None),
])
def test_the_checker_catches_a_broken_result(breaks, principle):
    result = _unbalanced()
    breaks(result)
    with pytest.raises(consistency.ReportInconsistency) as err:
        consistency.check_result(result)
    if principle:
        assert principle in str(err.value)


@pytest.mark.parametrize("fmt, text, principle", [
    ("md", "- an item\nglued paragraph\n", "glued onto the list item"),
    ("md", "> a quote\nglued paragraph\n", "glued onto the quote"),
    ("text", "Executive summary 1 actions to take", "plural"),
    ("text", "Executive summary see sp.goals.positioning", "internal id"),
    ("text", "Executive summary still to do: nothing.", "still to do"),
])
def test_the_checker_catches_a_broken_report(fmt, text, principle):
    result = _unbalanced()
    result["summary"]["lagging"] = []
    with pytest.raises(consistency.ReportInconsistency, match=principle):
        consistency.check_rendered(result, fmt, text)


def test_a_rosier_screening_is_a_summary_finding_and_its_respondent_is_on_the_cover():
    statuses = {iid: ("done" if RANK[i.stage] == 1 else "not_started") for iid, i in KB.items.items()}
    audit = Evidence("full-audit", statuses, {"has_senior_sponsor": False}, respondents=("Consultant",))
    view = Evidence("readiness", {i: "done" for i in READINESS_SCOPE}, {"has_senior_sponsor": True},
                    respondents=("Chief Executive",), scope=READINESS_SCOPE)
    extra = {"view_gaps": compare_views(audit, view, READINESS),
             "view_fact_gaps": compare_view_facts(audit, view, READINESS, FACT_SPECS),
             "views": [{"questionnaire": "readiness", "questionnaire_title": READINESS.title,
                        "respondents": ["Chief Executive"]}]}
    result = assess(Evidence("full-audit", statuses, audit.facts, respondents=("Consultant",), extra=extra))
    perception = result["summary"]["perception"]
    assert perception["rosier"] and perception["higher"] > 0
    assert [f["fact"] for f in perception["facts"] if f["rosier"]] == ["has_senior_sponsor"]
    for fmt in FORMATS:
        rendered = report.render(result, fmt)
        summary = consistency.executive_summary(rendered, fmt)
        assert "rosier than the audit" in summary and "(Chief Executive) says yes, the audit no" in summary
        assert "Chief Executive" in rendered


@RENDERED
@given(client_profile())
def test_the_markdown_report_renders_as_written(evidence):
    """Through a CommonMark parser: no quote marker left as text, no bold label swallowed into the
    paragraph before it, every plan item a list item (the first phase's in the report, every
    phase's in the appendix's full plan)."""
    from markdown_it import MarkdownIt
    result = assess(evidence)
    parse = MarkdownIt("commonmark").enable("table").render
    first = result["plan"]["phases"][0]["actions"] if result["plan"]["phases"] else []
    assert parse(report.render(result, "md")).count("<li>") >= len(first)
    html = parse(report.render(result, "md", appendix=True))
    assert "&gt;" not in html
    for label in ("In place:", "Under way:", "Not yet in place:", "Beyond this stage, already in place:"):
        for at in [m.start() for m in __import__("re").finditer(label, html)]:
            assert html[max(0, at - 12):at].endswith("<p><strong>"), html[max(0, at - 80):at + 20]
    planned = sum(len(p["actions"]) for p in result["plan"]["phases"])
    assert html.count("<li>") >= planned


STEP_OF = {i: (int(r.data["number"]), n) for r in KB.records.values() if r.kind == "transition-step"
           for n, i in enumerate(r.data.get("items") or ())}


@MANY
@given(client_profile(screening=False))
def test_the_plan_follows_the_transitions_order(evidence):
    """An action of an earlier step of the transition (define the role, appoint, train the key
    account managers) is never planned after, or below, one of a later step (metrics and pay) of
    the same or a later stage."""
    result = assess(evidence)
    order = {p["id"]: n for n, p in enumerate(result["plan"]["phases"])}
    prio = {"high": 0, "medium": 1, "low": 2}
    stage = {s["id"]: n for n, s in enumerate(result["stages"])}
    placed = [(STEP_OF[a["item"]], order[p["id"]], prio[a["priority"]], a["text"], stage[a["stage"]])
              for p in result["plan"]["phases"] for a in p["actions"] if a["kind"] == "action" and a["item"] in STEP_OF]
    # (what an action rests on is work of its own stage or an earlier one)
    for step, phase, priority, text, at in placed:
        for later_step, later_phase, later_priority, later_text, later_at in placed:
            if later_step > step and later_at >= at:
                assert phase <= later_phase and priority <= later_priority, (text, later_text)
