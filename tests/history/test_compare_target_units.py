"""Comparison of two audits, progress towards a target and the roll-up of units, on real
assessments of hand-made answers whose moves are known."""

from __future__ import annotations

import copy

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from history.conftest import EXAMPLES
from kam_advisor.results.assess import assess_files
from kam_advisor.results.bases import load_bases
from kam_advisor.results.compare import compare, trend
from kam_advisor.results.target import progress, topic_level
from kam_advisor.results.units import rollup

BASE = yaml.safe_load((EXAMPLES / "northwind-early-b.yaml").read_text())


def _status(answers, item):
    value = answers[item]
    return value["status"] if isinstance(value, dict) else value


def _set(doc, item, status):
    value = doc["answers"][item]
    doc["answers"][item] = {**value, "status": status} if isinstance(value, dict) else status


def _assess(tmp_path_factory, doc, name):
    path = tmp_path_factory.mktemp("answers") / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return assess_files([path])


@pytest.fixture(scope="module")
def moves(tmp_path_factory):
    """Northwind, then Northwind six months on with known moves:
    - Positioning a1 and a2 done -> not started (a regression that costs the topic stage A and
      raises the stage-skipping flag: its stage B action b3 is done);
    - two not-started actions of Objectives now done;
    - a senior sponsor found (flag.no-sponsor cleared), the volume bonus cut to 5 %.
    """
    before = copy.deepcopy(BASE)
    after = copy.deepcopy(BASE)
    after["date"] = "2027-04-15"
    _set(after, "sp.goals.positioning.a1", "not_started")
    _set(after, "sp.goals.positioning.a2", "not_started")
    newly = [i for i in after["answers"] if i.startswith("sp.planning.objectives.")
             and _status(after["answers"], i) == "not_started"][:2]
    for item in newly:
        _set(after, item, "done")
    after["facts"]["has_senior_sponsor"] = True
    after["facts"]["volume_bonus_pct"] = 5
    old, new = _assess(tmp_path_factory, before, "before"), _assess(tmp_path_factory, after, "after")
    return old, new, newly


def test_regressions_come_first_with_the_action_and_the_stage_it_cost(moves):
    old, new, _ = moves
    c = compare(old, new, {"id": "a1", "date": "2026-10-15"}, {"id": "b2", "date": "2027-04-15"})
    assert list(c)[:3] == ["from", "to", "regressions"]
    went_back = c["regressions"]["actions"]
    assert [(a["item"], a["from"], a["to"]) for a in went_back] == [
        ("sp.goals.positioning.a1", "done", "not_started"), ("sp.goals.positioning.a2", "done", "not_started")]
    assert went_back[0]["topic_name"] == "Positioning"
    lost = {(s["level"], s["id"]): s for s in c["regressions"]["stages"]}
    assert lost[("topic", "sp.goals.positioning")]["from"]["achieved"] == "A"
    assert lost[("topic", "sp.goals.positioning")]["to"]["achieved"] is None
    assert all(s["direction"] == "down" for s in c["regressions"]["stages"])
    assert (c["from"]["id"], c["to"]["date"]) == ("a1", "2027-04-15")


def test_actions_done_flags_and_recommendations_completed_are_named(moves):
    old, new, newly = moves
    c = compare(old, new)
    assert sorted(a["item"] for a in c["actions_done"]) == sorted(newly)
    assert {f["id"] for f in c["red_flags"]["cleared"]} == {"flag.no-sponsor", "flag.volume-bonus"}
    assert [f["id"] for f in c["red_flags"]["raised"]] == ["flag.stage-skipping.sp.goals.positioning"]
    old_recs = {r["item"] for r in old["recommendations"]}
    assert {r["item"] for r in c["recommendations_completed"]} == set(newly) & old_recs
    assert not c["knowledge_base"]["changed"]


def test_facet_changes_are_the_difference_of_scores(moves):
    old, new, _ = moves
    c = compare(old, new)
    for f in c["facets"]:
        if f["from"] is not None and f["to"] is not None:
            assert f["change"] == f["to"] - f["from"]
    assert {f["id"] for f in c["facets"]} == {f["id"] for f in new["facets"]}


def test_comparing_an_audit_with_itself_finds_no_move(moves):
    old, _, _ = moves
    c = compare(old, old)
    assert c["regressions"] == {"stages": [], "actions": [], "red_flags": []}
    assert c["stage_changes"] == c["actions_done"] == c["actions_changed"] == []
    assert c["red_flags"] == {"raised": [], "cleared": []}


def test_swapping_the_audits_turns_progress_into_regression(moves):
    old, new, newly = moves
    back = compare(new, old)
    assert sorted(a["item"] for a in back["regressions"]["actions"]) == sorted(newly)
    assert [a["item"] for a in back["actions_done"]] == ["sp.goals.positioning.a1", "sp.goals.positioning.a2"]


def test_units_not_assessed_are_not_compared(moves):
    old, new, _ = moves
    grown = copy.deepcopy(new)
    grown["dimensions"][0]["assessed"] = False
    grown["dimensions"][0]["achieved"] = None
    c = compare(old, grown)
    assert {"level": "dimension", "id": grown["dimensions"][0]["id"], "name": grown["dimensions"][0]["name"]} \
        in c["not_assessed"]
    assert all(s["id"] != grown["dimensions"][0]["id"] for s in c["stage_changes"])


def test_knowledge_base_changes_are_told_apart_from_the_organisations(moves):
    old, new, _ = moves
    renamed = copy.deepcopy(new)
    renamed["kb_version"] = "1.2.0"
    gone = renamed["answers"].pop(0)
    c = compare(old, renamed)
    kb = c["knowledge_base"]
    assert kb["changed"] and (kb["from"], kb["to"]) == (old["kb_version"], "1.2.0")
    assert [a["item"] for a in kb["actions_removed"]] == [gone["item"]]
    assert all(s["kb_change"] for s in c["stage_changes"] if s["level"] == "topic" and s["id"] == gone["topic"])


# --- target ---------------------------------------------------------------------------------

def test_percent_to_target_is_open_sammys_formula_over_topic_levels(moves):
    old, new, _ = moves
    stages = [s["id"] for s in new["stages"]]
    p = progress(old, new, "C")
    levels = [min(topic_level(t, stages), 3) for t in new["topics"]]
    assert p["percent_to_target"] == round(1 - sum(3 - x for x in levels) / (3 * len(levels)), 4)
    assert 0 < p["percent_to_target"] < 1 and not p["reached"]


def test_progress_since_the_first_audit_is_the_share_of_the_gap_closed(moves):
    old, new, _ = moves
    assert progress(old, old, "C")["progress_since_first"] == 0.0
    ahead = progress(old, new, "C")
    behind = progress(new, old, "C")
    stages = [s["id"] for s in new["stages"]]
    now = sum(min(topic_level(t, stages), 3) for t in new["topics"])
    then = sum(min(topic_level(t, stages), 3) for t in old["topics"])
    total = 3 * len(new["topics"])
    assert ahead["progress_since_first"] == round((now - then) / (total - then), 4)
    assert (ahead["progress_since_first"] > 0) == (now > then)
    assert behind["progress_since_first"] == round((then - now) / (total - now), 4)


def test_the_actions_to_the_target_are_phased_by_stage_and_dated(moves):
    old, new, _ = moves
    p = progress(old, new, "C", by="2027-10-15", latest_date="2027-04-15")
    assert [ph["stage"] for ph in p["phases"]] == ["A", "B", "C"]
    open_c = [a["item"] for a in new["answers"] if a["stage"] == "C" and a["status"] not in ("done", "na")]
    assert [a["item"] for a in p["phases"][-1]["actions"]] == open_c
    assert [ph["due"] for ph in p["phases"]] == ["2027-06-15", "2027-08-15", "2027-10-15"]
    assert p["open_actions"] == sum(len(ph["actions"]) for ph in p["phases"])
    assert all(a["status"] not in ("done", "na") for ph in p["phases"] for a in ph["actions"])


def test_a_target_already_reached_has_nothing_left_in_its_topics(moves):
    old, _, _ = moves
    p = progress(old, old, "A")
    assert p["reached"] == (old["overall"]["achieved"] is not None)
    with pytest.raises(ValueError):
        progress(old, old, "E")


# --- units ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unit_results(moves, tmp_path_factory):
    meridian = assess_files([EXAMPLES / "meridian-mature.yaml"])
    old, new, _ = moves
    return {"Austria": old, "Germany": meridian, "France": new}


def _units(results):
    return [{"unit": name, "id": name.lower(), "date": "2027-01-01", "result": r} for name, r in results.items()]


@pytest.fixture(scope="module")
def unit_params():
    kb, base = load_bases()
    conflicts = [dict(r.data) for r in kb.records.values() if r.kind == "conflict"]
    return base.params, conflicts


def test_the_organisation_reaches_a_stage_when_enough_of_its_units_do(unit_results, unit_params):
    params, conflicts = unit_params
    view = rollup(_units(unit_results), params, conflicts)
    ranks = sorted({"A": 1, "B": 2, "C": 3, "D": 4}.get(r["overall"]["achieved"], 0) for r in unit_results.values())
    assert params["unit_rollup_share"] == 0.75          # 3 units: all three must reach a stage
    assert view["organisation"]["achieved"] == (["A", "B", "C", "D"][ranks[0] - 1] if ranks[0] else None)
    everyone = rollup(_units(unit_results), {**params, "unit_rollup_share": 1 / 3}, conflicts)
    assert everyone["organisation"]["achieved"] == ["A", "B", "C", "D"][ranks[-1] - 1]


def test_units_below_the_stage_the_organisation_works_on_hold_it_back(unit_results, unit_params):
    params, conflicts = unit_params
    view = rollup(_units(unit_results), params, conflicts)
    goal = view["organisation"]["current"]
    held = [h["unit"] for h in view["holding_back"]]
    expected = [n for n, r in unit_results.items() if (r["overall"]["achieved"] or "") < goal]
    assert sorted(held) == sorted(expected) and "Germany" not in held
    assert all(h["dimensions"] for h in view["holding_back"])


def test_units_at_different_stages_name_the_knowledge_bases_conflicts(unit_results, unit_params):
    params, conflicts = unit_params
    view = rollup(_units(unit_results), params, conflicts)
    assert view["stage_spread"] >= params["tension_stage_spread"]
    by_id = {t["id"]: t for t in view["tensions"]}
    assert set(by_id) <= {"conflict.geography", "conflict.product", "conflict.service"} and by_id
    for t in by_id.values():
        conflict = next(c for c in conflicts if c["id"] == t["id"])
        assert set(t["items"]) <= set(conflict["items"])
        assert t["question"] == conflict["example_question"]
        assert "Germany" in t["units_ahead"] and not set(t["units_ahead"]) & set(t["units_behind"])


def test_units_at_one_stage_expect_no_tension(unit_results, unit_params):
    params, conflicts = unit_params
    same = {"North": unit_results["Austria"], "South": unit_results["Austria"]}
    view = rollup(_units(same), params, conflicts)
    assert view["tensions"] == [] and view["holding_back"] == [] and view["stage_spread"] == 0


def test_trend_follows_the_programme_and_each_dimension_over_audits(moves):
    old, new, _ = moves
    from kam_advisor.store import summarise
    points = [{"id": "x", "date": "2026-10-15", "summary": summarise(old)},
              {"id": "y", "date": "2027-04-15", "summary": summarise(new)}]
    t = trend(points)
    assert [s["id"] for s in t["series"]] == ["programme"] + [d["id"] for d in new["dimensions"]]
    assert [p["achieved"] for p in t["series"][0]["points"]] == [old["overall"]["achieved"],
                                                                 new["overall"]["achieved"]]


# --- invariants -----------------------------------------------------------------------------

STATUS = ["done", "partial", "not_started", "na", "dont_know", "unanswered"]
LEVEL = {"not_started": 0, "partial": 1, "done": 2}


def _with_statuses(result, statuses):
    out = dict(result)
    out["answers"] = [{**a, "status": s} for a, s in zip(result["answers"], statuses)]
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_changed_action_is_reported_once_in_the_right_list(moves, data):
    old, _, _ = moves
    n = len(old["answers"])
    before = data.draw(st.lists(st.sampled_from(STATUS), min_size=n, max_size=n))
    after = data.draw(st.lists(st.sampled_from(STATUS), min_size=n, max_size=n))
    a, b = _with_statuses(old, before), _with_statuses(old, after)
    c = compare(a, b)
    items = [x["item"] for x in old["answers"]]
    changed = {i for i, s0, s1 in zip(items, before, after) if s0 != s1}
    back = {i for i, s0, s1 in zip(items, before, after) if s0 in LEVEL and s1 in LEVEL and LEVEL[s1] < LEVEL[s0]}
    reported = [x["item"] for x in c["regressions"]["actions"] + c["actions_done"] + c["actions_changed"]]
    assert sorted(reported) == sorted(changed)                     # each change once, nothing else
    assert {x["item"] for x in c["regressions"]["actions"]} == back
    assert {x["item"] for x in c["actions_done"]} == {i for i in changed - back if after[items.index(i)] == "done"}
    # the way back: every regression is a step forward, and nothing else is a regression
    reverse = compare(b, a)
    forward = {i for i, s0, s1 in zip(items, before, after) if s0 in LEVEL and s1 in LEVEL and LEVEL[s1] > LEVEL[s0]}
    assert {x["item"] for x in reverse["regressions"]["actions"]} == forward


def test_topics_that_share_a_name_read_with_their_area_also_in_results_saved_before_labels(moves):
    from kam_advisor.results.compare import topic_names
    first = moves[0]
    names = topic_names(first)
    shared = sorted(t["id"] for t in first["topics"] if t["name"] == "Customers")
    assert [names[t] for t in shared] == ["Customers (Planning & objectives)", "Customers (Research)"]
    before_labels = copy.deepcopy(first)
    for t in before_labels["topics"]:
        del t["label"]
    # a label the knowledge base sets itself ("Programme (Goals & strategy)", beside "the programme")
    # is not in results saved before labels: those read the topic's plain name
    declared = {"sp.goals.programme": "Programme"}
    assert topic_names(before_labels) == {**names, **declared}
