"""Golden cases: hand-made companies (tests/cases/*.yaml) and what the advisor must conclude.

A case gives a default status per stage (`by_stage`), per-action overrides (`answers`), named
facts (`facts`) and expectations; only the expectations a case states are checked. Like
semgrep's rule tests, `must_fire` / `must_not_fire` list rule ids that must (not) fire in the
case; every rule must fire in some case, and every red-flag rule needs a case of each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kam_advisor.answers.files import Evidence
from kam_advisor.data import rules as rules_mod
from kam_advisor.results import assessment
from kam_advisor.results import assess

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
RULES = rules_mod.load()
# the account and plan rules judge accounts and plans, not a programme: their cases are in
# tests/cases/accounts/ and tests/cases/plans/, with the same guarantees (tests/test_account_plan_cases.py)
OWN_RESULT_FILES = ("accounts.yaml", "plans.yaml")
PROGRAMME_RULES = [r for r, spec in RULES.rules.items() if Path(spec.file).name not in OWN_RESULT_FILES]
FLAG_RULES = [r for r in PROGRAMME_RULES if RULES.rules[r].then["emit"] == "flag"]


def read_case(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def evidence_for(case: dict, kb) -> Evidence:
    statuses = {}
    for item in kb.items.values():
        status = (case.get("by_stage") or {}).get(item.stage)
        if status:
            statuses[item.id] = status
    for iid, status in (case.get("answers") or {}).items():
        assert iid in kb.items, f"case names an unknown action {iid}"
        statuses[iid] = status
    scope = None
    if case.get("screening"):  # the answers of a screening: only what that questionnaire asks about
        from kam_advisor.answers.evidence import questionnaire_scope
        from kam_advisor.answers.loader import load
        scope = questionnaire_scope(load(case["screening"]))
        statuses = {i: s for i, s in statuses.items() if i in scope}
    return Evidence(questionnaire=case.get("screening") or "full-audit", statuses=statuses,
                    facts=dict(case.get("facts") or {}), scope=scope)


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    """Every case assessed once: {case file name: result}."""
    kb, base = assessment.load_bases()
    return {p.name: assessment.assess_evidence(evidence_for(read_case(p), kb), kb, base) for p in CASES}


def fired(result: dict) -> set[str]:
    return {t["rule"] for t in result["trace"]}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path, results):
    case = read_case(path)
    expect = case["expect"]
    result = results[path.name]

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
    for rule in expect.get("must_fire", []) + expect.get("must_not_fire", []):
        assert rule in RULES.rules, f"{path.name} names an unknown rule '{rule}'"
    assert not set(expect.get("must_fire", [])) - fired(result), "rules that did not fire"
    assert not set(expect.get("must_not_fire", [])) & fired(result), "rules that fired"


def test_there_is_a_case_for_each_stage(results):
    reached = {r["overall"]["achieved"] for r in results.values()}
    assert reached >= {None, "A", "B", "C", "D"}


@pytest.mark.parametrize("rule", PROGRAMME_RULES)
def test_every_rule_fires_in_some_case(results, rule):
    assert any(rule in fired(r) for r in results.values()), (
        f"rule '{rule}' ({Path(RULES.rules[rule].file).name}) never fires in tests/cases/*.yaml: add a case "
        "in which it fires (and list it under `must_fire:`)")


@pytest.mark.parametrize("rule", FLAG_RULES)
@pytest.mark.parametrize("key", ["must_fire", "must_not_fire"])
def test_every_red_flag_rule_has_a_case_that_must_fire_it_and_one_that_must_not(rule, key):
    listed = [p.name for p in CASES if rule in (read_case(p)["expect"].get(key) or [])]
    assert listed, (f"red-flag rule '{rule}' ({Path(RULES.rules[rule].file).name}) has no golden case listing it "
                    f"under `{key}:` in tests/cases/*.yaml")


def test_the_json_is_written_as_the_standard_json_module_writes_it(results):
    """`dumps` uses orjson for speed; its text is the standard library's, byte for byte."""
    import json
    from conftest import ROOT
    documents = list(results.values()) + [assess.assess_files([p]) for p in sorted((ROOT / "examples").glob("*.yaml"))]
    for result in documents:
        assert assessment.dumps(result) == json.dumps(result, indent=2, ensure_ascii=False) + "\n"
