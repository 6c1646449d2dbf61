"""Answers become evidence: statuses, facts and provenance; several respondents combine by one rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kam_advisor.data import knowledge
from kam_advisor.data import rules
from kam_advisor.answers import questionnaire as qmodel
from kam_advisor.answers import check
from kam_advisor.answers import evidence as evidence_mod
from kam_advisor.answers import loader
from kam_advisor.data import vocab
from kam_advisor.answers import writer
from kam_advisor.answers.files import read_answer_file
from kam_advisor.data.vocab import STATUSES
from kam_advisor.data.errors import DataError
from kam_advisor.data.yamlio import parse_yaml

MINI = Path(__file__).resolve().parent / "fixtures" / "questionnaires" / "mini.yaml"
KB = knowledge.load_cached()
FACTS = rules.load_fact_specs()
QUESTIONNAIRES = {q.id: q for q in loader.list_questionnaires(kb=KB, fact_specs=FACTS)}
QUESTIONNAIRES["mini"] = loader.load(MINI, kb=KB, fact_specs=FACTS)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def evidence(tmp_path, text, name="a.yaml"):
    return evidence_mod.load_evidence([write(tmp_path, name, text)], KB, FACTS)[0]


# ---------------------------------------------------------------- one respondent

def test_readiness_answers_become_statuses_and_facts_that_remember_their_question(tmp_path):
    ev = evidence(tmp_path, """questionnaire: readiness
answers:
  driver: done
  strategy: {value: partial, note: "draft strategy, not yet approved"}
  sponsor: no
  ka_count: 25
  commodity_accounts: 10
  ka_plans: partial
  plan_length: 6
""")
    assert ev.questionnaire == "readiness"
    assert ev.statuses == {
        "sp.goals.positioning.a1": "done", "sp.goals.positioning.a2": "done",
        "sp.goals.positioning.a3": "partial", "sp.goals.positioning.a4": "partial",
        "sp.goals.positioning.a5": "partial",
        "sp.planning.kaplans.b1": "partial", "pr.kamgr.planning.b1": "partial"}
    assert ev.facts == {"has_senior_sponsor": False, "ka_count": 25, "commodity_key_accounts": 10, "plan_pages": 6}
    assert ev.provenance["sp.goals.positioning.a3"] == ("strategy=partial",)
    assert ev.provenance["commodity_key_accounts"] == ("commodity_accounts=10",)
    assert ev.notes == {"strategy": "draft strategy, not yet approved"}
    assert ev.extra["progress"] == {"answered": 7, "visible": 26, "total": 30}  # kam_count unanswered hides 4


def test_dont_know_and_not_applicable_stay_distinct_into_the_evidence(tmp_path):
    ev = evidence(tmp_path, """questionnaire: readiness
answers:
  driver: dont_know
  strategy: na
  sponsor: dont_know
  kam_count: 3
  volume_bonus: dont_know
""")
    assert ev.statuses["sp.goals.positioning.a1"] == "dont_know"
    assert ev.statuses["sp.goals.positioning.a3"] == "na"
    assert "has_senior_sponsor" not in ev.facts and "volume_bonus_pct" not in ev.facts
    assert ev.extra["unknown_facts"] == {"has_senior_sponsor": "dont_know", "volume_bonus_pct": "dont_know"}
    assert ev.provenance["volume_bonus_pct"] == ("volume_bonus=dont_know",)


def test_answers_to_hidden_questions_are_ignored(tmp_path):
    ev = evidence(tmp_path, "questionnaire: readiness\nanswers:\n  ka_count: 0\n  commodity_accounts: 4\n")
    assert ev.facts == {"ka_count": 0}
    assert "commodity_accounts" not in ev.extra["answers"]


def test_full_audit_answers_map_one_to_one_with_their_evidence_notes(tmp_path):
    ev = evidence(tmp_path, """questionnaire: full-audit
answers:
  sp.goals.positioning.a1: done
  sp.goals.positioning.a2: {status: partial, note: "board minutes, May"}
  pr.core.operational.d1: na
  oc.teams.structure.d3: dont_know
""")
    assert ev.statuses == {"sp.goals.positioning.a1": "done", "sp.goals.positioning.a2": "partial",
                           "pr.core.operational.d1": "na", "oc.teams.structure.d3": "dont_know"}
    assert ev.provenance["sp.goals.positioning.a2"] == ("sp.goals.positioning.a2=partial",)
    assert ev.notes == {"sp.goals.positioning.a2": "board minutes, May"}


def test_facet_answers_record_considerations_and_the_actions_that_say_the_same(tmp_path):
    ev = evidence(tmp_path, "questionnaire: facets\nanswers:\n  selection.c5: partial\n  monitoring.c4: done\n")
    assert ev.extra["considerations"] == {"monitoring.c4": "done", "selection.c5": "partial"}
    assert ev.statuses == {"sp.research.competitors.d1": "partial", "pr.kamgr.planning.c3": "done"}


def test_every_answer_type_maps_as_declared(tmp_path):
    ev = evidence_mod.load_evidence([write(tmp_path, "m.yaml", """questionnaire: mini
answers:
  plans: done
  pages: 2.5
  sponsor: yes
  level: collaborative
  brand: 5
  breakdown: [geography]
  customer: Acme
  kas: na
""")], KB, FACTS, questionnaire=QUESTIONNAIRES["mini"])[0]
    assert ev.facts == {"plan_pages": 2.5, "has_senior_sponsor": True, "account_buysell_level": "collaborative",
                        "account_attract_brand": 5, "plan_goal_by_product": False, "plan_customer": "Acme"}
    assert ev.statuses["oc.senior.role.a1"] == "done"           # yes -> done, by the status map
    assert ev.statuses["sp.planning.objectives.b1"] == "done"   # 'geography' ticked
    assert ev.extra["unknown_facts"] == {"ka_count": "na"}


def test_several_questions_on_one_action_give_the_weakest_level(tmp_path):
    ev = evidence(tmp_path, "questionnaire: facets\nanswers:\n  recruitment.c3: done\n  recruitment.c4: partial\n")
    assert ev.statuses["oc.kamgr.role.b1"] == "partial"
    assert ev.provenance["oc.kamgr.role.b1"] == ("recruitment.c3=done", "recruitment.c4=partial")


def test_a_fact_given_both_directly_and_by_a_question_must_agree(tmp_path):
    path = write(tmp_path, "a.yaml", "questionnaire: readiness\nanswers:\n  ka_count: 12\nfacts:\n  ka_count: 30\n")
    with pytest.raises(DataError) as caught:
        evidence_mod.load_evidence([path], KB, FACTS)
    assert caught.value.line == 5
    assert "fact 'ka_count' is given here (30) and by question 'ka_count' (12)" in caught.value.message


def test_an_unknown_questionnaire_is_reported_at_the_questionnaire_line(tmp_path):
    path = write(tmp_path, "a.yaml", "respondent: Jo\nquestionnaire: readyness\nanswers: {}\n")
    with pytest.raises(DataError) as caught:
        evidence_mod.load_evidence([path], KB, FACTS)
    assert (caught.value.line, caught.value.message) == (2, "unknown questionnaire 'readyness'; did you mean 'readiness'?")


# ---------------------------------------------------------------- several respondents

def respondents(tmp_path, *bodies):
    paths = [write(tmp_path, f"r{n}.yaml", f"questionnaire: readiness\nrespondent: R{n}\nanswers:\n{body}")
             for n, body in enumerate(bodies, 1)]
    return evidence_mod.load_evidence(paths, KB, FACTS)


@pytest.mark.parametrize("answers, combined", [
    (["done", "partial", "not_started"], "partial"),      # the median level
    (["done", "done", "not_started"], "done"),
    (["done", "not_started"], "not_started"),             # even count: the median rounded down
    (["done", "partial", "partial", "done"], "partial"),
    (["na", "done"], "done"),                             # a level wins over not applicable
    (["na", "na"], "na"),                                 # na only when everyone who knows says so
    (["na", "dont_know"], "na"),
    (["dont_know", "partial", "dont_know"], "partial"),   # don't know is ignored when others know
    (["dont_know", "dont_know"], "dont_know"),
])
def test_statuses_of_several_respondents_combine_by_the_documented_rule(tmp_path, answers, combined):
    ev, _ = respondents(tmp_path, *[f"  driver: {a}\n" for a in answers])
    assert ev.statuses["sp.goals.positioning.a1"] == combined


def test_risk_facts_combine_towards_caution(tmp_path):
    """ka_count and has_senior_sponsor raise red flags: the value that raises one wins (rules/facts.yaml `caution`)."""
    ev, gaps = respondents(tmp_path, "  ka_count: 40\n  sponsor: yes\n", "  ka_count: 10\n  sponsor: yes\n",
                           "  ka_count: 20\n  sponsor: no\n", "  ka_count: 30\n")
    assert ev.facts["ka_count"] == 40
    assert ev.facts["has_senior_sponsor"] is False
    # both disagreements are perception gaps: yes against no, and 10 against 40 key accounts
    assert {g["question"]: g["spread"] for g in gaps} == {"ka_count": 30, "sponsor": 1}


def test_numbers_close_together_are_no_perception_gap(tmp_path):
    ev, gaps = respondents(tmp_path, "  ka_count: 10\n", "  ka_count: 12\n")
    assert ev.facts["ka_count"] == 12 and gaps == []


def test_an_even_split_on_a_risk_fact_is_the_cautious_answer_and_a_gap(tmp_path):
    ev, gaps = respondents(tmp_path, "  sponsor: yes\n", "  sponsor: no\n")
    assert ev.facts["has_senior_sponsor"] is False
    assert ev.provenance["has_senior_sponsor"] == ("sponsor=yes (r1.yaml)", "sponsor=no (r2.yaml)")
    assert [g["question"] for g in gaps] == ["sponsor"]


def test_perception_gaps_list_questions_two_levels_apart_with_who_said_what(tmp_path):
    ev, gaps = respondents(tmp_path,
                           "  strategy: done\n  driver: done\n  champion: partial\n",
                           "  strategy: partial\n  driver: not_started\n  champion: done\n",
                           "  strategy: done\n  driver: dont_know\n  champion: na\n")
    assert gaps == [{
        "question": "driver",
        "text": QUESTIONNAIRES["readiness"].questions["driver"].text,
        "spread": 2,
        "answers": [{"respondent": "R1", "file": str(Path(tmp_path, "r1.yaml")), "answer": "done"},
                    {"respondent": "R2", "file": str(Path(tmp_path, "r2.yaml")), "answer": "not_started"},
                    {"respondent": "R3", "file": str(Path(tmp_path, "r3.yaml")), "answer": "dont_know"}]}]
    assert ev.respondents == ("R1", "R2", "R3")
    assert ev.provenance["sp.goals.positioning.a1"] == ("driver=done (r1.yaml)", "driver=not_started (r2.yaml)",
                                                         "driver=dont_know (r3.yaml)")


def test_gaps_are_sorted_by_question_id(tmp_path):
    _, gaps = respondents(tmp_path, "  teams: done\n  rewards: done\n  champion: done\n",
                          "  teams: not_started\n  rewards: not_started\n  champion: not_started\n")
    assert [g["question"] for g in gaps] == ["champion", "rewards", "teams"]


def test_notes_of_several_respondents_are_kept_with_their_names(tmp_path):
    ev, _ = respondents(tmp_path, "  driver: {value: done, note: cost pressure}\n",
                        "  driver: {value: done, note: customer consolidation}\n")
    assert ev.notes == {"driver": "R1: cost pressure\nR2: customer consolidation"}


def test_respondents_must_answer_the_same_questionnaire(tmp_path):
    one = write(tmp_path, "one.yaml", "questionnaire: readiness\nanswers: {}\n")
    two = write(tmp_path, "two.yaml", "respondent: Bo\nquestionnaire: account\nanswers: {}\n")
    with pytest.raises(DataError) as caught:
        evidence_mod.load_evidence([one, two], KB, FACTS)
    assert caught.value.line == 2 and "combine answers of one questionnaire only" in caught.value.message


def test_two_files_with_the_same_respondent_are_refused(tmp_path):
    one = write(tmp_path, "one.yaml", "questionnaire: readiness\nrespondent: Jo\nanswers: {}\n")
    two = write(tmp_path, "two.yaml", "questionnaire: readiness\nrespondent: Jo\nanswers: {}\n")
    with pytest.raises(DataError, match="respondent 'Jo' appears in two answers files"):
        evidence_mod.load_evidence([one, two], KB, FACTS)


# ---------------------------------------------------------------- properties

def value_strategy(question: qmodel.Question):
    specials = [s for s in vocab.SPECIAL if question.type != "status" and question.offers(s)]
    kind, rules_ = question.type, question.validation
    if kind == "status":
        base = st.sampled_from([s for s in STATUSES if question.offers(s) or s not in vocab.SPECIAL])
    elif kind == "yes_no":
        base = st.sampled_from(["yes", "no"])
    elif kind == "single_choice":
        base = st.sampled_from(question.choice_values)
    elif kind == "multi_choice":
        base = st.lists(st.sampled_from(question.choice_values), unique=True,
                        min_size=rules_.get("min_choices", 0),
                        max_size=rules_.get("max_choices", len(question.choices))).map(
            lambda picked: [v for v in question.choice_values if v in picked])
    elif kind == "scale":
        base = st.integers(question.scale_min, question.scale_max)
    elif kind == "number":
        low, high = rules_.get("min", -10**6), rules_.get("max", 10**6)
        base = st.integers(int(low), int(high)) if question.integer else st.one_of(
            st.integers(int(low), int(high)), st.floats(low, high, allow_nan=False, allow_infinity=False))
    else:
        base = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=rules_.get("min_length", 1),
                       max_size=min(rules_.get("max_length", 80), 80)).filter(str.strip)
    return st.one_of(base, st.sampled_from(specials)) if specials else base


def answer_sets(q: qmodel.Questionnaire):
    return st.fixed_dictionaries({}, optional={qid: value_strategy(x) for qid, x in q.questions.items()})


def as_file(q: qmodel.Questionnaire, answers: dict, notes: dict | None = None):
    """Through the answers-file writer and reader, as `kam-advisor run` would leave it."""
    text = writer.answers_document(q, answers, notes or {}, {"respondent": "Prop"})
    return read_answer_file("prop.yaml", parse_yaml(text, "prop.yaml"))


def comparable(ev):
    return (ev.statuses, ev.facts, ev.provenance, ev.notes, ev.extra)


@st.composite
def questionnaire_and_answers(draw):
    q = QUESTIONNAIRES[draw(st.sampled_from(sorted(QUESTIONNAIRES)))]
    return q, draw(answer_sets(q))


PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(questionnaire_and_answers())
def test_any_valid_answer_set_converts_to_evidence(case):
    q, answers = case
    af = as_file(q, answers)
    assume(not check.validate_answers(q, af, FACTS))
    ev = evidence_mod.to_evidence(q, af, KB, FACTS)
    assert set(ev.statuses.values()) <= set(STATUSES)
    assert set(ev.statuses) <= set(KB.items)
    for name, value in ev.facts.items():
        assert name in FACTS and ev.provenance[name]
    for item in ev.statuses:
        assert ev.provenance[item]
    # the file the runner writes reads back to the same answers
    assert check.canonical_answers(q, af)[0] == {k: v for k, v in answers.items() if v is not None}


@PROPERTY
@given(st.data())
def test_answers_to_hidden_questions_do_not_change_the_evidence(data):
    conditional = sorted(n for n, q in QUESTIONNAIRES.items()
                         if any(x.when is not None for x in q.questions.values()) or any(s.when for s in q.sections))
    q = QUESTIONNAIRES[data.draw(st.sampled_from(conditional))]
    answers = data.draw(answer_sets(q))
    visible = {x.id for x in check.visible_questions(q, answers)}
    hidden = [qid for qid in q.questions if qid not in visible]
    assume(hidden)
    extra = data.draw(st.fixed_dictionaries({}, optional={qid: value_strategy(q.questions[qid]) for qid in hidden}))
    shown_only = {k: v for k, v in answers.items() if k in visible}
    with_hidden = {**shown_only, **extra}
    base = as_file(q, shown_only)
    assume(not check.validate_answers(q, base, FACTS))
    more = as_file(q, with_hidden, {qid: "note on a hidden question" for qid in extra})
    assert comparable(evidence_mod.to_evidence(q, more, KB, FACTS)) == comparable(evidence_mod.to_evidence(q, base, KB, FACTS))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_valid_answers_of_several_respondents_combine_without_error(tmp_path_factory, data):
    q = QUESTIONNAIRES[data.draw(st.sampled_from(["readiness", "account", "ka-plan", "mini"]))]
    folder = tmp_path_factory.mktemp("resp")
    paths = []
    for n in range(data.draw(st.integers(2, 3))):
        answers = data.draw(answer_sets(q))
        text = writer.answers_document(q, answers, {}, {"respondent": f"R{n}"})
        path = folder / f"r{n}.yaml"
        path.write_text(text)
        assume(not check.validate_answers(q, read_answer_file(path), FACTS))
        paths.append(str(path))
    ev, gaps = evidence_mod.load_evidence(paths, KB, FACTS, questionnaire=q if q.id == "mini" else None)
    assert ev.respondents == tuple(f"R{n}" for n in range(len(paths)))
    assert [g["question"] for g in gaps] == sorted(g["question"] for g in gaps)
    for gap in gaps:
        question = q.questions[gap["question"]]
        if question.type == "number":  # numbers far apart: the larger at least NUMBER_GAP_RATIO x the smaller
            values = [a["answer"] for a in gap["answers"] if isinstance(a["answer"], (int, float))]
            assert gap["spread"] == pytest.approx(max(values) - min(values), abs=1e-6) and gap["spread"] > 0
            assert min(values) <= 0 or max(values) >= evidence_mod.NUMBER_GAP_RATIO * min(values)
        else:
            assert gap["spread"] >= 2 or (question.type == "yes_no" and gap["spread"] == 1)


@pytest.mark.parametrize("written", ["none", "None", "[]"])
def test_nothing_ticked_may_be_written_none_as_the_interview_says(tmp_path, written):
    """ka-plan's goal breakdown: nothing ticked is "none" at the terminal ("or 'none'") and in a file
    too (the question's own text carries no typing hint: the web form has a "None of these" box)."""
    ev = evidence(tmp_path, f"questionnaire: ka-plan\nanswers:\n  goal_measurable: yes\n  goal_breakdown: {written}\n")
    assert ev.extra["answers"]["goal_breakdown"] == []
    assert (ev.facts["plan_goal_by_product"], ev.facts["plan_goal_by_geography"]) == (False, False)
    with pytest.raises(DataError, match="'nothing' is not a choice"):
        evidence(tmp_path, "questionnaire: ka-plan\nanswers:\n  goal_measurable: yes\n  goal_breakdown: nothing\n")
