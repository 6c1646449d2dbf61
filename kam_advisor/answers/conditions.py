"""Conditions (`when`) as data trees: their shape, what they refer to, and a safe evaluator.

A condition is a mapping with exactly one operator::

    {all: [COND, ...]}            every sub-condition holds
    {any: [COND, ...]}            at least one holds
    {not: COND}                   the sub-condition does not hold
    {eq: [QUESTION, VALUE]}       the answer equals VALUE (multi-choice: VALUE is ticked)
    {ne: [QUESTION, VALUE]}       the answer is not VALUE (multi-choice: VALUE is not ticked)
    {in: [QUESTION, [V, ...]]}    the answer is one of the values (multi-choice: any is ticked)
    {gt|gte|lt|lte: [QUESTION, N]}  ordered comparison (numbers, scales, statuses by level)
    {answered: QUESTION}          the question is visible and has any answer

Every comparison is false when the question has no answer (unanswered or hidden); ``not``
turns that into true. ``dont_know`` and ``na`` are answers like any other for ``eq``, ``ne``,
``in`` and ``answered``, and make ordered comparisons false.

This module owns the closed set of operators, the structural check (``check_shape``), the
list of questions a tree refers to (``references``), static cycle detection
(``find_cycle``), type checks against the referred questions (``check_operands``) and the
evaluator (``evaluate``). It never evaluates text as code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from kam_advisor.data.vocab import LEVELS, SPECIAL

LOGICAL = ("all", "any", "not")
COMPARISONS = ("eq", "ne", "in", "gt", "gte", "lt", "lte")
ORDERED = ("gt", "gte", "lt", "lte")
OPERATORS = LOGICAL + COMPARISONS + ("answered",)
SPECIAL_ANSWERS = SPECIAL
# statuses that can be ordered; na and dont_know say nothing about progress
STATUS_LEVELS = LEVELS


class ConditionError(ValueError):
    """A malformed condition; ``line`` is where in the file the offending node starts."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


def _line(node: Any, default: int | None) -> int | None:
    return getattr(node, "line", None) or default


def check_shape(tree: Any, line: int | None = None) -> None:
    """Raise ConditionError unless ``tree`` is a well-formed condition."""
    line = _line(tree, line)
    if not isinstance(tree, dict) or len(tree) != 1:
        raise ConditionError(
            f"a condition is a mapping with exactly one operator ({', '.join(OPERATORS)})", line)
    op, arg = next(iter(tree.items()))
    if hasattr(tree, "line_of"):
        line = tree.line_of(op) or line
    if op not in OPERATORS:
        raise ConditionError(f"unknown condition operator '{op}' (expected one of {', '.join(OPERATORS)})", line)
    if op in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise ConditionError(f"'{op}' takes a non-empty list of conditions", line)
        for sub in arg:
            check_shape(sub, line)
    elif op == "not":
        check_shape(arg, line)
    elif op == "answered":
        if not isinstance(arg, str) or not arg:
            raise ConditionError("'answered' takes a question id", line)
    else:
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str):
            raise ConditionError(f"'{op}' takes a list of two: [question id, value]", line)
        if op == "in" and (not isinstance(arg[1], list) or not arg[1]):
            raise ConditionError("'in' takes [question id, [value, ...]] with at least one value", line)
        if op != "in" and isinstance(arg[1], (list, dict)):
            raise ConditionError(f"'{op}' compares with a single value, not a {type(arg[1]).__name__}", line)
        if op in ORDERED and (isinstance(arg[1], bool) or
                              not isinstance(arg[1], (int, float, str))):
            raise ConditionError(f"'{op}' compares with a number or a status", line)


def walk(tree: Any, line: int | None = None) -> Iterable[tuple[str, Any, int | None]]:
    """Yield (operator, argument, line) for every comparison and ``answered`` node."""
    line = _line(tree, line)
    op, arg = next(iter(tree.items()))
    if hasattr(tree, "line_of"):
        line = tree.line_of(op) or line
    if op in ("all", "any"):
        for sub in arg:
            yield from walk(sub, line)
    elif op == "not":
        yield from walk(arg, line)
    else:
        yield op, arg, line


def references(tree: Any) -> list[str]:
    """The question ids a (well-formed) condition refers to, in order of appearance, once each."""
    seen: list[str] = []
    for op, arg, _ in walk(tree):
        qid = arg if op == "answered" else arg[0]
        if qid not in seen:
            seen.append(qid)
    return seen


def find_cycle(depends_on: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A dependency cycle as a path ``[a, b, ..., a]``, or None. Deterministic (sorted walk)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = finished
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(depends_on.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and nxt in depends_on:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(depends_on):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


@dataclass(frozen=True)
class Operand:
    """What a condition may know about a referred question: its type and allowed values."""

    type: str  # status, single_choice, multi_choice, yes_no, scale, number, text
    values: tuple[Any, ...] | None = None  # allowed answers (None: any value of the type)
    ordered: bool = False  # gt/gte/lt/lte make sense


def check_operands(tree: Any, operands: Callable[[str], Operand | None], line: int | None = None) -> None:
    """Raise ConditionError when a comparison does not fit the type of the question it names.

    ``operands(qid)`` returns the Operand of a question, or None when the id is unknown (that
    is reported by the caller, who knows which questions come earlier).
    """
    for op, arg, node_line in walk(tree, line):
        if op == "answered":
            continue
        qid, value = arg
        operand = operands(qid)
        if operand is None:
            continue
        values = value if op == "in" else [value]
        if op in ORDERED:
            if not operand.ordered:
                raise ConditionError(f"'{op}' needs a number, scale or status question; '{qid}' is {operand.type}",
                                     node_line)
            if operand.type == "status":
                if value not in STATUS_LEVELS:
                    raise ConditionError(f"'{op}' on status question '{qid}' compares with one of "
                                         f"{', '.join(STATUS_LEVELS)} (got {value!r})", node_line)
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConditionError(f"'{op}' on '{qid}' compares with a number (got {value!r})", node_line)
            continue
        for v in values:
            if v in SPECIAL_ANSWERS:
                continue
            if operand.values is not None and v not in operand.values:
                allowed = ", ".join(str(x) for x in operand.values)
                raise ConditionError(f"'{qid}' can never be {v!r} (its answers are {allowed})", node_line)
            if operand.values is None and operand.type in ("number", "scale") and (
                    isinstance(v, bool) or not isinstance(v, (int, float))):
                raise ConditionError(f"'{qid}' is a {operand.type} question; compare it with a number (got {v!r})",
                                     node_line)


_MISSING = object()


def _level(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return STATUS_LEVELS.get(value)
    return None


def evaluate(tree: Any, answers: Mapping[str, Any]) -> bool:
    """Whether a well-formed condition holds for ``answers`` ({question id: answer}).

    Only the questions present in ``answers`` count as answered; callers pass the answers of
    visible questions only, so a hidden question's answer never shows a later question.
    """
    op, arg = next(iter(tree.items()))
    if op == "all":
        return all(evaluate(sub, answers) for sub in arg)
    if op == "any":
        return any(evaluate(sub, answers) for sub in arg)
    if op == "not":
        return not evaluate(arg, answers)
    if op == "answered":
        return answers.get(arg, None) is not None
    qid, expected = arg
    actual = answers.get(qid, _MISSING)
    if actual is _MISSING or actual is None:
        return False
    if op in ("eq", "ne", "in"):
        wanted = expected if op == "in" else [expected]
        if isinstance(actual, list):
            hit = any(v in actual for v in wanted)
        else:
            hit = actual in wanted
        return not hit if op == "ne" else hit
    left, right = _level(actual), _level(expected)
    if left is None or right is None:
        return False
    return {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op]


def describe(tree: Any) -> str:
    """A condition in words, for templates and ``questionnaire show``."""
    op, arg = next(iter(tree.items()))
    if op in ("all", "any"):
        joiner = " and " if op == "all" else " or "
        parts = [describe(sub) for sub in arg]
        return joiner.join(f"({p})" if (" and " in p or " or " in p) else p for p in parts)
    if op == "not":
        return f"not ({describe(arg)})"
    if op == "answered":
        return f"{arg} is answered"
    qid, value = arg
    symbol = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}.get(op)
    if op == "in":
        return f"{qid} is one of {', '.join(str(v) for v in value)}"
    return f"{qid} {symbol} {value}"
