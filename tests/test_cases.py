"""Golden cases: hand-made companies (tests/cases/*.yaml) and what the advisor must conclude.

A case gives a default status per stage (`by_stage`), per-action overrides (`answers`), named
facts (`facts`) and expectations; only the expectations a case states are checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kam_advisor.results import assessment
from kam_advisor.answers.files import Evidence

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def evidence_for(case: dict, kb) -> Evidence:
    statuses = {}
    for item in kb.items.values():
        status = (case.get("by_stage") or {}).get(item.stage)
        if status:
            statuses[item.id] = status
    for iid, status in (case.get("answers") or {}).items():
        assert iid in kb.items, f"case names an unknown action {iid}"
        statuses[iid] = status
    return Evidence(questionnaire="full-audit", statuses=statuses, facts=dict(case.get("facts") or {}))


@pytest.fixture(scope="module")
def bases():
    return assessment.load_bases()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path, bases):
    kb, base = bases
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    result = assessment.assess_evidence(evidence_for(case, kb), kb, base)

    def check_units(key, units):
        by_id = {u["id"]: u for u in units}
        for uid, want in (expect.get(key) or {}).items():
            got = {k: by_id[uid][k] for k in want}
            assert got == want, f"{key} {uid}: {by_id[uid]['reason']}"

    if "overall" in expect:
        got = {k: result["overall"][k] for k in expect["overall"]}
        assert got == expect["overall"], result["overall"]["reason"]
    check_units("dimensions", result["dimensions"])
    check_units("areas", result["areas"])
    check_units("topics", result["topics"])

    flags = [f["id"] for f in result["red_flags"]]
    if "flags" in expect:
        assert sorted(flags) == sorted(expect["flags"])
    for fid, severity in (expect.get("flag_severity") or {}).items():
        assert next(f for f in result["red_flags"] if f["id"] == fid)["severity"] == severity

    recs = {r["id"]: r for r in result["recommendations"]}
    for rid in expect.get("recommendations_include", []):
        assert rid in recs, f"{rid} should be recommended"
    for rid in expect.get("recommendations_exclude", []):
        assert rid not in recs, f"{rid} should not be recommended"
    if "recommendations_count" in expect:
        assert len(recs) == expect["recommendations_count"]
    for rid, priority in (expect.get("recommendation_priority") or {}).items():
        assert recs[rid]["priority"] == priority, recs[rid]["reason"]
    if "first_recommendation" in expect:
        assert result["recommendations"][0]["id"] == expect["first_recommendation"]
    if "roadmap_to" in expect:
        assert result["roadmap"]["to"] == expect["roadmap_to"]
    if "confidence" in expect:
        assert result["overall"]["confidence"] == expect["confidence"]
    for key, value in (expect.get("coverage") or {}).items():
        assert result["coverage"][key] == value
    summary = result["summary"]
    if "headline" in expect:
        assert expect["headline"] in summary["headline"]["text"]
    if "top5" in expect:
        assert [r["id"] for r in result["recommendations"][:5]] == expect["top5"]
    if "plan_first" in expect:
        first = result["plan"]["phases"][0]["actions"]
        assert [a["id"] for a in first[:len(expect["plan_first"])]] == expect["plan_first"]
    if "lagging" in expect:
        got = [{k: lag[k] for k in want} for lag, want in zip(summary["lagging"], expect["lagging"])]
        assert len(summary["lagging"]) == len(expect["lagging"]) and got == expect["lagging"], summary["lagging"]
    if "hallmarks_not_in_place" in expect:
        missing = [h["text"] for h in summary["achieved_stage"]["not_in_place"]]
        assert missing == expect["hallmarks_not_in_place"]
    if "skipping_topics" in expect:
        assert summary["stage_skipping"]["topics"] == expect["skipping_topics"]
    if "not_assessed" in expect:
        assert summary["not_assessed"] == expect["not_assessed"]
    bands = {f["id"]: f["band"] for f in result["facets"]}
    for fid, band in (expect.get("facet_bands") or {}).items():
        assert bands[fid] == band


def test_there_is_a_case_for_each_stage(bases):
    reached = set()
    kb, base = bases
    for path in CASES:
        case = yaml.safe_load(path.read_text())
        reached.add(assessment.assess_evidence(evidence_for(case, kb), kb, base)["overall"]["achieved"])
    assert reached >= {None, "A", "B", "C", "D"}
