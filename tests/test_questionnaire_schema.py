"""Questionnaires are data checked on load; the five shipped ones say what the issue asks of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import questionnaire_cli
from kam_advisor.data import knowledge
from kam_advisor.data import rules
from kam_advisor.answers import check
from kam_advisor.answers import loader
from kam_advisor.data.errors import DataError, display_path
from kam_advisor.data.yamlio import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "questionnaires"
# the head of a one-section test questionnaire; its questions follow
ONE_SECTION = """kind: questionnaire
id: t
version: 1.0.0
audience: executive
title: Test
intro: Test.
minutes: 1
sections:
  - id: s
    title: Section
    questions:
"""
RED_FLAG_FACTS = ("ka_count", "kam_count", "volume_bonus_pct", "plan_pages", "deep_review_months",
                  "quick_review_months", "has_senior_sponsor", "kam_owned_by_sales", "kams_from_sales_untrained",
                  "commodity_key_accounts")


@pytest.fixture(scope="module")
def kb():
    return knowledge.load_cached()


@pytest.fixture(scope="module")
def facts():
    return rules.load_fact_specs()


@pytest.fixture(scope="module")
def shipped(kb, facts):
    return {q.id: q for q in loader.list_questionnaires(kb=kb, fact_specs=facts)}


cli = questionnaire_cli


# ---------------------------------------------------------------- broken questionnaires

BROKEN = [
    ("unknown-reference.yaml", 21, "question 'second': when: refers to unknown question 'frist'; did you mean 'first'?"),
    ("cycle.yaml", 16, "question 'alpha': when: condition cycle alpha -> beta -> alpha"),
    ("forward-reference.yaml", 16, "question 'early': when: refers to 'late', which is not asked before it"),
    ("bad-type.yaml", 13, "question 'pick': type must be one of status, single_choice"),
    ("duplicate-id.yaml", 17, "question 'same': duplicate id (first defined at"),
    ("unknown-action.yaml", 17, "unknown checklist action 'sp.planning.kaplans.z9'"),
    ("unknown-fact.yaml", 19, "unknown fact 'ka_cuont'; did you mean 'ka_count'?"),
    ("missing-status-map.yaml", 17, "a yes_no question needs a 'status' mapping"),
    ("impossible-value.yaml", 22, "'level' can never be 'medium' (its answers are low, high)"),
    ("malformed.yaml", 6, "malformed YAML"),
]


@pytest.mark.parametrize("name, line, message", BROKEN, ids=[b[0] for b in BROKEN])
@pytest.mark.parametrize("command", [["questionnaire", "validate"], ["questionnaire", "show"], ["run"]])
def test_a_broken_questionnaire_exits_2_with_one_line_naming_file_and_line(name, line, message, command, tmp_path):
    path = FIXTURES / name
    result = CliRunner().invoke(cli(), command + [str(path)] + (["--answers", str(tmp_path / "a.yaml")]
                                                                if command == ["run"] else []))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"kam-advisor: {display_path(path)}:{line}: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "a.yaml").exists()


def test_an_unknown_questionnaire_name_suggests_the_nearest():
    result = CliRunner().invoke(cli(), ["questionnaire", "show", "readines"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "kam-advisor: unknown questionnaire 'readines'; did you mean 'readiness'?"


def test_load_raises_a_data_error_with_path_and_line(kb, facts):
    with pytest.raises(DataError) as caught:
        loader.load(FIXTURES / "cycle.yaml", kb=kb, fact_specs=facts)
    assert caught.value.line == 16
    assert str(caught.value.path).endswith("cycle.yaml")


def test_the_schema_documents_every_question_field():
    schema = yaml.safe_load((ROOT / "kam_advisor" / "data" / "schemas" / "questionnaire.yaml").read_text())
    question = schema["$defs"]["question"]["properties"]
    for name in ("type", "text", "help", "guidance", "required", "choices", "scale", "validation", "when", "maps_to"):
        assert question[name].get("description") or "$ref" in question[name], name


@pytest.mark.parametrize("snippet, message", [
    ("choices: [a, b]", "'choices' is only for single_choice / multi_choice questions"),
    ("validation: {min_length: 3}", "validation 'min_length' does not apply to a yes_no question"),
    ("maps_to: [{fact: ka_count, items: [x]}]", "needs exactly one of items, consideration or fact"),
    ("when: {eq: [ok, \"yes\"]}", "when: condition cycle ok -> ok"),
])
def test_type_specific_mistakes_are_named(snippet, message):
    text = ONE_SECTION + f"""      - id: ok
        type: yes_no
        text: Fine?
        help: Help.
        source: general practice
        {snippet}
"""
    with pytest.raises(DataError) as caught:
        loader.build(parse_yaml(text, "t.yaml"), "t.yaml")
    assert message in caught.value.message
    assert caught.value.line and caught.value.line >= 12


# ---------------------------------------------------------------- the shipped questionnaires

def test_five_questionnaires_ship_and_each_loads_with_its_id_as_file_name(shipped):
    assert sorted(shipped) == ["account", "facets", "full-audit", "ka-plan", "readiness"]
    for q in shipped.values():
        assert Path(q.path).stem == q.id


def test_every_question_names_its_source_and_has_short_help(shipped, kb):
    allowed = set(kb.sources)
    for q in shipped.values():
        for question in q.questions.values():
            assert question.source in allowed, (q.id, question.id, question.source)
            assert 10 <= len(question.help) <= 400, (q.id, question.id)


def test_readiness_is_short_plain_and_for_executives(shipped):
    q = shipped["readiness"]
    assert q.audience == "executive"
    assert len(q) <= 30
    assert q.minutes <= 15
    for question in q.questions.values():
        # KAM jargon stays in the help: the questions themselves are plain business language
        assert not re.search(r"\bKAMs?\b|\bKAMgr|\bKA\b|\bCSFs?\b", question.text), question.id


def test_readiness_covers_all_dimensions_and_facets(shipped, kb):
    items = {i for x in shipped["readiness"].questions.values() for t in x.maps_to if t.kind == "items" for i in t.ids}
    assert {kb.items[i].dimension for i in items} == set(kb.dimensions)
    assert {f for i in items for f in kb.items[i].facets} == set(kb.facets)


def test_readiness_fills_every_fact_the_red_flag_rules_read(shipped, facts):
    set_by = {t.ids[0] for x in shipped["readiness"].questions.values() for t in x.maps_to if t.kind == "fact"}
    assert set(RED_FLAG_FACTS) <= set(facts)
    assert set(RED_FLAG_FACTS) <= set_by


def test_full_audit_has_one_status_question_per_action_grouped_by_topic(shipped, kb):
    q = shipped["full-audit"]
    assert q.keyed_by == "checklist"
    assert list(q.questions) == [i for t in kb.topics.values() for i in t.items] or set(q.questions) == set(kb.items)
    assert len(q) == len(kb.items) == 177
    for question in q.questions.values():
        assert question.type == "status" and question.note
        assert question.text == kb.items[question.id].text
    topics_in_order = [s.id for s in q.sections]
    expected = [t for d in kb.dimensions.values() for a in d.areas for t in kb.areas[a].topics]
    assert topics_in_order == expected
    for section in q.sections:
        assert list(section.questions) == list(kb.topics[section.id].items)


def test_full_audit_file_is_what_the_generator_writes():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_full_audit.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_facets_asks_every_consideration_of_every_facet(shipped, kb):
    q = shipped["facets"]
    considerations = {c["id"] for f in kb.facets.values() for c in f.considerations}
    mapped = {t.ids[0] for x in q.questions.values() for t in x.maps_to if t.kind == "consideration"}
    assert mapped == considerations
    assert [s.id for s in q.sections] == list(kb.facets)


def test_account_rates_the_eight_criteria_and_asks_how_the_customer_sees_us(shipped, kb):
    q = shipped["account"]
    scales = [x for x in q.questions.values() if x.id.startswith("attract_")]
    assert len(scales) == 8
    assert all(x.type == "scale" and (x.scale_min, x.scale_max) == (1, 5) for x in scales)
    criteria = [r for r in kb.records.values() if r.kind == "attractiveness-criterion"]
    assert len(criteria) == 8
    levels = sorted((r for r in kb.records.values() if r.kind == "buysell-level"), key=lambda r: r.data["rank"])
    assert q.questions["buysell_level"].choice_values == tuple(r.data["name"].lower() for r in levels)
    fact_of = {x.id: t.ids[0] for x in q.questions.values() for t in x.maps_to if t.kind == "fact"}
    for qid in ("treats_us_as_key", "spend", "future_importance", "strategy_knowledge", "competitor_knowledge"):
        assert fact_of[qid].startswith("account_")


def test_ka_plan_asks_for_the_template_fields_and_plan_elements(shipped, kb):
    q = shipped["ka-plan"]
    period = kb.records["kaplan.field.period"].data["choices"]
    labels = [c.label.lower() for c in q.questions["period"].choices]
    assert len(labels) == len(period) and all(p in label for p, label in zip(period, labels))
    facts_set = {t.ids[0] for x in q.questions.values() for t in x.maps_to if t.kind == "fact"}
    assert {"plan_pages", "quick_review_months", "deep_review_months", "plan_goal_measurable",
            "plan_goal_by_product", "plan_goal_by_geography", "plan_csf_count", "plan_nc_count",
            "plan_action_count", "plan_team_involved", "plan_customer_involved"} <= facts_set


# ---------------------------------------------------------------- list, show, template, validate

def test_list_shows_every_questionnaire():
    result = CliRunner().invoke(cli(), ["questionnaire", "list"])
    assert result.exit_code == 0
    for name in ("account", "facets", "full-audit", "ka-plan", "readiness"):
        assert re.search(rf"^{re.escape(name)}\s", result.output, re.M)


def test_show_names_conditions_and_mappings():
    result = CliRunner().invoke(cli(), ["questionnaire", "show", "readiness"])
    assert result.exit_code == 0
    assert "only if: ka_count > 0" in result.output
    assert "maps to: fact=has_senior_sponsor" in result.output


@pytest.mark.parametrize("name", ["readiness", "full-audit", "facets", "account", "ka-plan"])
def test_template_has_a_commented_entry_per_question_and_validates_empty(name, shipped, tmp_path):
    q = shipped[name]
    result = CliRunner().invoke(cli(), ["questionnaire", "template", name])
    assert result.exit_code == 0
    text = result.output
    for qid, question in q.questions.items():
        assert f"\n  # {qid}:\n" in text
        assert question.text.split()[0] in text
    path = tmp_path / "blank.yaml"
    path.write_text(text)
    checked = CliRunner().invoke(cli(), ["questionnaire", "validate", name, str(path)])
    required = [x for x in q.questions.values() if x.required]
    if required:
        assert checked.exit_code == 2 and f"question '{required[0].id}' is required" in checked.stderr
    else:
        assert checked.exit_code == 0, checked.stderr
        assert f"0 of {len(check.visible_questions(q, {}))} visible questions answered" in checked.output


def test_a_filled_in_template_validates(tmp_path):
    text = CliRunner().invoke(cli(), ["questionnaire", "template", "readiness"]).output
    text = text.replace("  # driver:\n", "  driver: partial\n").replace("  # ka_count:\n", "  ka_count: 14\n")
    path = tmp_path / "filled.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli(), ["questionnaire", "validate", "readiness", str(path)])
    assert result.exit_code == 0, result.stderr
    assert "2 of" in result.output


def test_template_refuses_to_overwrite_a_file(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("questionnaire: readiness\nanswers: {driver: done}\n")
    result = CliRunner().invoke(cli(), ["questionnaire", "template", "readiness", "-o", str(path)])
    assert result.exit_code == 2 and "not overwriting" in result.stderr
    assert "driver: done" in path.read_text()


@pytest.mark.parametrize("body, line, message", [
    ("answers:\n  driver: mostly\n", 3,
     "answer 'driver': expected one of done, partial, not_started, na, dont_know (got 'mostly')"),
    ("answers:\n  drivr: done\n", 3, "answer 'drivr': no such question in 'readiness'; did you mean 'driver'?"),
    ("answers:\n  ka_count: -3\n", 3, "answer 'ka_count': Give the number of customers (must be at least 0) (got -3)"),
    ("answers:\n  volume_bonus: 12\n  sponsor: perhaps\n", 4, "answer 'sponsor': expected yes or no (got 'perhaps')"),
    ("answers:\n  ka_count: na\n", 3, "answer 'ka_count': 'not applicable' is not offered for this question (got 'na')"),
    ("facts:\n  ka_cuont: 3\n", 3, "unknown fact 'ka_cuont'; did you mean 'ka_count'?"),
])
def test_bad_answers_are_reported_with_file_line_and_question(body, line, message, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("questionnaire: readiness\n" + body)
    result = CliRunner().invoke(cli(), ["questionnaire", "validate", "readiness", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"kam-advisor: {path}:{line}: {message}"]


def test_answers_of_another_questionnaire_are_refused_at_the_questionnaire_line(tmp_path):
    path = tmp_path / "acct.yaml"
    path.write_text("# comment\nquestionnaire: account\nanswers: {}\n")
    result = CliRunner().invoke(cli(), ["questionnaire", "validate", "readiness", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"kam-advisor: {path}:2: these answers are for questionnaire 'account', "
                                     "not 'readiness'")


def test_validate_reports_answers_to_hidden_questions_as_ignored(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("questionnaire: readiness\nanswers:\n  ka_count: 0\n  commodity_accounts: 3\n")
    result = CliRunner().invoke(cli(), ["questionnaire", "validate", "readiness", str(path)])
    assert result.exit_code == 0
    assert "answers to 1 hidden question(s) ignored: commodity_accounts" in result.output


def test_unquoted_yes_and_no_in_conditions_mean_the_answers():
    text = ONE_SECTION + """      - id: first
        type: yes_no
        text: First?
        help: Help.
        source: general practice
      - id: second
        type: yes_no
        text: Second?
        help: Help.
        when: {in: [first, [yes]]}
        source: general practice
      - id: third
        type: yes_no
        text: Third?
        help: Help.
        when: {eq: [first, no]}
        source: general practice
"""
    q = loader.build(parse_yaml(text, "t.yaml"), "t.yaml")
    assert [x.id for x in check.visible_questions(q, {"first": "yes"})] == ["first", "second"]
    assert [x.id for x in check.visible_questions(q, {"first": "no"})] == ["first", "third"]
