"""Invariants of the inference, checked with hypothesis over whole 177-action audits."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from kam_advisor.results import assessment, explain
from kam_advisor.answers.files import Evidence
from kam_advisor.reasoning.engine import CompiledRule, Ruleset
from kam_advisor.data.errors import RuleFailure
from kam_advisor.reasoning.inference import infer

KB, BASE = assessment.load_bases()
ITEMS = list(KB.items)
STAGES = KB.stage_ids
RAISE = {"not_started": "partial", "partial": "done"}
ANSWER = st.sampled_from(["done", "partial", "not_started", "na", "dont_know", None])
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def audit():
    """A whole audit: a status (or no answer) for each action, biased by stage so that all
    stages occur: each stage gets its own leaning, actions vary around it."""
    def build(leanings, noise):
        statuses = {}
        for iid, n in zip(ITEMS, noise):
            lean = leanings[KB.items[iid].stage]
            status = lean if n < 0.7 else ["done", "partial", "not_started", "na", "dont_know", None][int(n * 60) % 6]
            if status:
                statuses[iid] = status
        return statuses
    leaning = st.sampled_from(["done", "done", "partial", "not_started"])
    return st.builds(build, st.fixed_dictionaries({s: leaning for s in STAGES}),
                     st.lists(st.floats(0, 1, allow_nan=False), min_size=len(ITEMS), max_size=len(ITEMS)))


def run(statuses, facts=None, kb=KB):
    return assessment.assess_evidence(Evidence("full-audit", statuses, facts or {}), kb, BASE)


def ranks(result):
    rank = {None: 0, **{s: n for n, s in enumerate(STAGES, 1)}}
    out = {"programme": rank[result["overall"]["achieved"]]}
    for key in ("dimensions", "areas", "topics"):
        out.update({u["id"]: rank[u["achieved"]] for u in result[key]})
    return out


@SETTINGS
@given(audit())
def test_same_answers_give_byte_identical_json(statuses):
    assert assessment.dumps(run(statuses)) == assessment.dumps(run(dict(statuses)))


@SETTINGS
@given(audit(), st.randoms(use_true_random=False))
def test_answer_order_is_irrelevant(statuses, rnd):
    keys = list(statuses)
    rnd.shuffle(keys)
    assert assessment.dumps(run({k: statuses[k] for k in keys})) == assessment.dumps(run(statuses))


@SETTINGS
@given(audit(), st.sampled_from(ITEMS), st.sampled_from(sorted(RAISE)))
def test_raising_one_answer_never_lowers_any_stage(statuses, iid, status):
    statuses = {**statuses, iid: status}  # the action to raise: not started or partial
    before = ranks(run(statuses))
    after = ranks(run({**statuses, iid: RAISE[statuses[iid]]}))
    lowered = {u: (before[u], after[u]) for u in before if after[u] < before[u]}
    assert not lowered, f"raising {iid} from {statuses[iid]} lowered {lowered}"


def _without(item_id):
    """The knowledge base as if the action did not exist."""
    item = KB.items[item_id]
    topic = KB.topics[item.topic]
    topics = dict(KB.topics)
    topics[topic.id] = dataclasses.replace(topic, items=tuple(i for i in topic.items if i != item_id))
    return dataclasses.replace(KB, items={k: v for k, v in KB.items.items() if k != item_id}, topics=topics)


@SETTINGS
@given(audit(), st.sampled_from(ITEMS))
def test_not_applicable_equals_leaving_the_action_out_of_its_stage(statuses, iid):
    """Where the stage keeps other applicable actions, `na` takes the action out of the count."""
    item = KB.items[iid]
    others = [i for i in KB.topics[item.topic].items if KB.items[i].stage == item.stage and i != iid]
    # a stage left with no applicable action is not shown: see tests/test_advice.py
    assume(any(statuses.get(i) != "na" for i in others))
    marked = run({**statuses, iid: "na"})
    removed = run({k: v for k, v in statuses.items() if k != iid}, kb=_without(iid))
    got = next(t for t in marked["topics"] if t["id"] == item.topic)
    want = next(t for t in removed["topics"] if t["id"] == item.topic)
    assert (got["achieved"], got["current"]) == (want["achieved"], want["current"])


@SETTINGS
@given(audit())
def test_recommendations_are_open_actions_up_to_the_topic_current_stage(statuses):
    result = run(statuses)
    rank = {s: n for n, s in enumerate(STAGES)}
    topics = {t["id"]: t for t in result["topics"]}
    for rec in result["recommendations"]:
        topic = topics[rec["topic"]]
        assert topic["assessed"]
        assert statuses.get(rec["item"]) not in ("done", "na")
        assert rec["stage"] == KB.items[rec["item"]].stage
        assert rank[rec["stage"]] <= rank[topic["current"]]
        assert rec["rule"] and rec["because"] and rec["phase"]
    prio = {"high": 0, "medium": 1, "low": 2}
    order = [(prio[r["priority"]], rank[r["stage"]]) for r in result["recommendations"]]
    assert order == sorted(order)


@SETTINGS
@given(audit())
def test_every_finding_carries_its_rule_and_reasons(statuses):
    result = run(statuses, {"volume_bonus_pct": 40, "has_senior_sponsor": False})
    units = [result["overall"], *result["dimensions"], *result["areas"], *result["topics"]]
    for unit in units:
        assert unit["rule"].startswith("state.") and unit["because"]
    for flag in result["red_flags"]:
        assert flag["rule"].startswith("flag.") and flag["because"] and flag["advice"]
    trace = {t["id"] for t in result["trace"]}
    for unit in units:
        assert all(b in trace for b in unit["because"])


def test_topic_stage_follows_strict_gating():
    statuses = {i.id: ("not_started" if i.stage == "A" else "done") for i in KB.items.values()}
    result = run(statuses)
    for t in result["topics"]:
        has_a = bool(KB.items_of(t["id"], "A"))
        assert t["achieved"] == (None if has_a else "D")


def test_explain_goes_down_to_the_answers():
    result = run({i: "done" for i in ITEMS if KB.items[i].stage == "A"}, {"ka_count": 150})
    lines = [text for _, text in explain.explain(result, "flag.too-many-accounts")]
    assert lines[0].startswith("flag.too-many-accounts  [flag.too-many-accounts]")
    assert any("ka_count=150" in line for line in lines)
    chain = [text for _, text in explain.explain(result, "sp.goals.positioning")]
    assert chain[0].startswith("state:sp.goals.positioning  [state.between]")
    assert "sp.goals.positioning.a1=done" in chain


def test_a_failing_rule_action_fails_loudly():
    def boom(frame, run):
        raise ValueError("broken rule")

    rules = Ruleset([CompiledRule("test.boom", {"all": [{"m": {"t": "cell"}}]}, 1, boom)], label="failtest")

    class Sink:
        def add(self, *record):
            pass

    with pytest.raises(RuleFailure, match="test.boom.*broken rule"):
        with rules.session(Sink()) as session:
            session.assert_facts([{"t": "cell", "id": "c1"}])


def test_many_sessions_leave_no_state_behind():
    from kam_advisor.reasoning import engine
    statuses = {i: random.Random(1).choice(["done", "partial"]) for i in ITEMS}
    for _ in range(50):
        infer(Evidence("full-audit", statuses, {}), KB, BASE)
    assert engine.live_sessions() == 0


def test_the_engine_sees_only_tested_fields_and_actions_get_the_whole_fact():
    seen = []

    def keep(frame, run):
        seen.append(frame["m"])

    rules = Ruleset([CompiledRule("test.keep", {"all": [{"m": {"$and": [{"t": "x"}, {"$gt": {"n": 1}}]}}]}, 1, keep)],
                    label="projtest")
    facts = [{"t": "x", "id": "x1", "n": 2, "payload": ["a", "b"]}, {"t": "x", "id": "x2", "n": 1, "payload": []}]
    # the tested field, type, id, session and each fact's number in the session (the joins' guard)
    assert json.loads(rules.project(facts, "s0", 5)) == [{"t": "x", "id": "x1", "n": 2, "sid": "s0", "_seq": 5},
                                                         {"t": "x", "id": "x2", "n": 1, "sid": "s0", "_seq": 6}]

    class Sink:
        def add(self, *record):
            pass

    with rules.session(Sink()) as session:
        session.assert_facts(facts)
    assert seen == [facts[0]] and seen[0]["payload"] == ["a", "b"]


def test_a_programme_session_carries_only_the_rules_its_facts_can_reach():
    """Account and plan rules read facts a programme assessment never has: its session leaves
    them out (and every rule it could fire is in)."""
    from pathlib import Path
    from kam_advisor.data import rules as rules_mod
    from kam_advisor.reasoning.compile import rules_reached
    from kam_advisor.reasoning.inference import BASE_TYPES
    base = rules_mod.load()
    reached = rules_reached(base, BASE_TYPES)
    files = {Path(base.rules[r].file).name for r in reached.rules}
    assert "accounts.yaml" not in files and "plans.yaml" not in files
    assert set(reached.rules) == {r for r, spec in base.rules.items()
                                  if Path(spec.file).name not in ("accounts.yaml", "plans.yaml")}
    assert rules_reached(base, BASE_TYPES) is reached           # made once
    from kam_advisor.results.account import ACCOUNT_FACT_TYPES
    from kam_advisor.results.plan import PLAN_FACT_TYPES
    for types, own in ((ACCOUNT_FACT_TYPES, "accounts.yaml"), (PLAN_FACT_TYPES, "plans.yaml")):
        assert {r for r in rules_reached(base, types).rules} == {
            r for r, spec in base.rules.items() if Path(spec.file).name == own}


# --------------------------------------------------------------------------- durable-rules' join bug

def test_every_join_ends_with_a_test_that_always_holds():
    """durable-rules 2.0.28 reads past the end of a join's tests when the last one is false
    (reduceExpressionSequence, jruizgit/rules#381): every pattern that refers to another fact
    ends with `_seq` differs, true for two different facts."""
    from kam_advisor.reasoning.compile import compile_pattern
    from kam_advisor.reasoning.engine import SEQ
    for spec in BASE.rules.values():
        for alias, pattern in spec.when:
            compiled = compile_pattern(pattern, BASE.params)
            refers = "ref" in json.dumps(pattern)
            last = compiled["$and"][-1] if "$and" in compiled else compiled
            guard = last.get("$neq", {}).get(SEQ)
            if refers:
                assert isinstance(guard, dict) and list(guard.values()) == [SEQ], (spec.id, alias)
            else:
                assert guard is None, (spec.id, alias)  # a pattern on one fact alone needs no guard

