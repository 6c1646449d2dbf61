"""Conditions (`when`) are data trees over a closed set of operators, evaluated without eval."""

import ast
import inspect

import pytest

from kam_advisor.answers import conditions
from kam_advisor.answers.conditions import ConditionError, Operand, check_operands, check_shape, evaluate

ANSWERS = {"plans": "partial", "kas": 12, "sponsor": "yes", "ways": ["product-group", "geography"],
           "unsure": "dont_know", "brand": 4}


@pytest.mark.parametrize("tree, expected", [
    ({"eq": ["plans", "partial"]}, True),
    ({"eq": ["plans", "done"]}, False),
    ({"ne": ["plans", "done"]}, True),
    ({"in": ["plans", ["done", "partial"]]}, True),
    ({"in": ["plans", ["done", "not_started"]]}, False),
    ({"gt": ["kas", 10]}, True),
    ({"gte": ["kas", 12]}, True),
    ({"lt": ["kas", 12]}, False),
    ({"lte": ["kas", 12]}, True),
    ({"gte": ["plans", "partial"]}, True),   # statuses compare by level
    ({"gt": ["plans", "partial"]}, False),
    ({"lt": ["plans", "done"]}, True),
    ({"answered": "sponsor"}, True),
    ({"answered": "nobody"}, False),
    ({"all": [{"eq": ["sponsor", "yes"]}, {"gt": ["kas", 0]}]}, True),
    ({"all": [{"eq": ["sponsor", "yes"]}, {"gt": ["kas", 100]}]}, False),
    ({"any": [{"eq": ["sponsor", "no"]}, {"gt": ["kas", 100]}]}, False),
    ({"any": [{"eq": ["sponsor", "no"]}, {"gt": ["kas", 10]}]}, True),
    ({"not": {"eq": ["sponsor", "no"]}}, True),
])
def test_each_operator_evaluates_as_documented(tree, expected):
    check_shape(tree)
    assert evaluate(tree, ANSWERS) is expected


@pytest.mark.parametrize("op", ["eq", "ne", "gt", "gte", "lt", "lte"])
def test_every_comparison_on_an_unanswered_question_is_false(op):
    assert evaluate({op: ["missing", 1]}, ANSWERS) is False
    assert evaluate({"not": {op: ["missing", 1]}}, ANSWERS) is True


def test_multi_choice_answers_test_membership():
    assert evaluate({"eq": ["ways", "geography"]}, ANSWERS)
    assert not evaluate({"ne": ["ways", "geography"]}, ANSWERS)
    assert evaluate({"in": ["ways", ["business-domain", "product-group"]]}, ANSWERS)
    assert not evaluate({"in": ["ways", ["business-domain"]]}, ANSWERS)


def test_dont_know_is_an_answer_but_never_ordered():
    assert evaluate({"answered": "unsure"}, ANSWERS)
    assert evaluate({"eq": ["unsure", "dont_know"]}, ANSWERS)
    assert not evaluate({"gt": ["unsure", 0]}, ANSWERS)
    assert not evaluate({"lte": ["unsure", 100]}, ANSWERS)


@pytest.mark.parametrize("tree, message", [
    ({"xor": [{"answered": "a"}]}, "unknown condition operator 'xor'"),
    ({"eq": ["a", 1], "ne": ["a", 2]}, "exactly one operator"),
    ({"all": []}, "'all' takes a non-empty list"),
    ({"eq": ["a"]}, "takes a list of two"),
    ({"in": ["a", "b"]}, "'in' takes [question id, [value, ...]]"),
    ({"gt": ["a", [1]]}, "single value"),
    ({"answered": ["a"]}, "'answered' takes a question id"),
    ({"not": "a"}, "a mapping with exactly one operator"),
    ("a == 1", "a mapping with exactly one operator"),
])
def test_malformed_trees_are_rejected_with_the_reason(tree, message):
    with pytest.raises(ConditionError) as caught:
        check_shape(tree)
    assert message in caught.value.message


def test_references_lists_each_question_once_in_order():
    tree = {"all": [{"eq": ["b", 1]}, {"any": [{"answered": "a"}, {"not": {"gt": ["b", 3]}}]}]}
    assert conditions.references(tree) == ["b", "a"]


def test_find_cycle_reports_the_loop_and_none_for_a_dag():
    assert conditions.find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert conditions.find_cycle({"a": ["b"], "b": ["a"], "c": []}) == ["a", "b", "a"]
    assert conditions.find_cycle({"self": ["self"]}) == ["self", "self"]


def test_operands_must_fit_the_question_they_name():
    kinds = {"level": Operand("single_choice", ("low", "high")), "kas": Operand("number", None, ordered=True),
             "plans": Operand("status", ("done", "partial", "not_started", "na", "dont_know"), ordered=True)}
    check_operands({"all": [{"eq": ["level", "low"]}, {"gt": ["kas", 3]}, {"gte": ["plans", "partial"]},
                            {"eq": ["level", "dont_know"]}]}, kinds.get)
    with pytest.raises(ConditionError, match="can never be 'medium'"):
        check_operands({"eq": ["level", "medium"]}, kinds.get)
    with pytest.raises(ConditionError, match="needs a number, scale or status question"):
        check_operands({"gt": ["level", 1]}, kinds.get)
    with pytest.raises(ConditionError, match="compares with one of not_started, partial, done"):
        check_operands({"gt": ["plans", "na"]}, kinds.get)
    with pytest.raises(ConditionError, match="compare it with a number"):
        check_operands({"eq": ["kas", "many"]}, kinds.get)


def test_describe_renders_conditions_in_words():
    tree = {"all": [{"in": ["plans", ["done", "partial"]]}, {"not": {"answered": "kas"}}]}
    assert conditions.describe(tree) == "plans is one of done, partial and not (kas is answered)"


def test_the_module_never_evaluates_text_as_code():
    tree = ast.parse(inspect.getsource(conditions))
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}
    # a value that looks like code is only ever compared
    assert evaluate({"eq": ["plans", "__import__('os').getcwd()"]}, ANSWERS) is False
