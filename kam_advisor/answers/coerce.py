"""One answer: a raw value made canonical, the questions' validation rules, the one-line answer
hint, and which questions a set of answers leaves visible.

The bottom of the answers package: the questionnaire loader, the workbook and the writer use it,
and it imports none of them (:mod:`kam_advisor.answers.check` checks whole files on top of it).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from kam_advisor.answers import conditions
from kam_advisor.answers.questionnaire import Question, Questionnaire
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.vocab import ALIASES as STATUS_ALIASES, LABELS as STATUS_LABELS, SPECIAL, STATUSES, normalise_status
from kam_advisor.data.yamlio import word_for_boolean

# what a person may write for a status, for "did you mean" ('not startd' -> 'not started')
_STATUS_WORDS = sorted({*STATUSES, *STATUS_ALIASES, *(STATUS_LABELS[s] for s in STATUSES)})

_SPECIAL_ALIASES = {"dont_know": "dont_know", "don't know": "dont_know", "dont know": "dont_know",
                    "unknown": "dont_know", "na": "na", "n/a": "na", "not applicable": "na",
                    "not_applicable": "na"}



def format_number(x: Any) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def coerce_answer(question: Question, raw: Any, check_rules: bool = True) -> Any:
    """The canonical answer for a raw value from a file (or a parsed prompt), or ValueError(reason).

    Canonical answers: status names; choice values; a list of choice values (multi-choice, in
    choice order); "yes" / "no"; int (scale); int or float (number); str (text); and
    "dont_know" / "na" where offered. None means unanswered.
    """
    if raw is None:
        return None
    special = None
    if isinstance(raw, str):
        text = raw.strip().lower()
        special = text if text in SPECIAL else (
            _SPECIAL_ALIASES.get(text) if question.type != "text" else None)
    if special:
        if not question.offers(special):
            raise ValueError("this question needs an answer" if special == "dont_know"
                             else "'not applicable' is not offered for this question")
        return special
    kind = question.type
    if kind == "status":
        status = normalise_status(raw)
        if status is None:
            hint = did_you_mean(raw.strip().lower(), _STATUS_WORDS) if isinstance(raw, str) else ""
            raise ValueError(f"expected one of {', '.join(STATUSES)}{hint}")
        return status
    if kind == "yes_no":
        raw = word_for_boolean(raw)
        if isinstance(raw, str) and raw.strip().lower() in ("yes", "y", "no", "n", "true", "false"):
            return "yes" if raw.strip().lower() in ("yes", "y", "true") else "no"
        raise ValueError("expected yes or no")
    if kind == "single_choice":
        value = _choice(question, raw)
        if value is None:
            raise ValueError(f"expected one of {', '.join(question.choice_values)}")
        return value
    if kind == "multi_choice":
        items = raw if isinstance(raw, list) else [raw]
        if isinstance(raw, str) and raw.strip().lower() == "none" and "none" not in question.choice_values:
            items = []  # nothing ticked, written as the interview takes it (also `[]`)
        picked = []
        for item in items:
            value = _choice(question, item)
            if value is None:
                raise ValueError(f"{item!r} is not a choice (choices: {', '.join(question.choice_values)})")
            if value not in picked:
                picked.append(value)
        value = [v for v in question.choice_values if v in picked]
    elif kind == "scale":
        number = _number(raw)
        if number is None or not float(number).is_integer() or not question.scale_min <= number <= question.scale_max:
            raise ValueError(f"expected a whole number from {question.scale_min} to {question.scale_max}")
        value = int(number)
    elif kind == "number":
        number = _number(raw)
        if number is None:
            raise ValueError("expected a whole number" if question.integer else "expected a number")
        if question.integer:
            if not float(number).is_integer():
                raise ValueError("expected a whole number")
            number = int(number)
        value = number
    else:  # text
        if isinstance(raw, (_dt.date, _dt.datetime)):
            raw = raw.isoformat()
        if isinstance(raw, (list, dict)):
            raise ValueError("expected text")
        value = str(word_for_boolean(raw)) if not isinstance(raw, str) else raw
        if not value.strip():
            return None
    if check_rules:
        problem = rule_problem(question, value)
        if problem:
            raise ValueError(problem)
    return value


def _choice(question: Question, raw: Any) -> str | None:
    if isinstance(raw, bool) or raw is None:
        raw = word_for_boolean(raw)
    text = str(raw).strip().lower()
    for c in question.choices:
        if text in (c.value, c.label.strip().lower()):
            return c.value
    return None


def _number(raw: Any) -> int | float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return raw if raw == raw and raw not in (float("inf"), float("-inf")) else None
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if number == number and abs(number) != float("inf") else None
    return None


def rule_problem(question: Question, value: Any) -> str | None:
    """The validation rule a (typed) answer breaks, in words, or None."""
    if value is None or value in SPECIAL:
        return None
    v = question.validation
    problem = None
    if question.type == "number":
        if "min" in v and value < v["min"]:
            problem = f"must be at least {format_number(v['min'])}"
        elif "max" in v and value > v["max"]:
            problem = f"must be at most {format_number(v['max'])}"
    elif question.type == "multi_choice":
        if "min_choices" in v and len(value) < v["min_choices"]:
            problem = f"tick at least {v['min_choices']}"
        elif "max_choices" in v and len(value) > v["max_choices"]:
            problem = f"tick at most {v['max_choices']}"
    elif question.type == "text":
        if "min_length" in v and len(value) < v["min_length"]:
            problem = f"must be at least {v['min_length']} characters"
        elif "max_length" in v and len(value) > v["max_length"]:
            problem = f"must be at most {v['max_length']} characters"
    if problem and v.get("message"):
        return f"{v['message']} ({problem})"
    return problem


def parse_input(question: Question, line: str) -> Any:
    """An answer typed at a prompt (numbers pick choices) -> canonical answer, or ValueError."""
    text = line.strip()
    low = text.lower()
    if question.type == "status":
        if low.isdigit() and 1 <= int(low) <= len(STATUSES):
            return STATUSES[int(low) - 1]
        for status, label in STATUS_LABELS.items():
            if low == label:
                return coerce_answer(question, status)
        if normalise_status(low) is None:
            raise ValueError(f"type 1 to {len(STATUSES)}, or one of: "
                             + ", ".join(STATUS_LABELS[s] for s in STATUSES) + did_you_mean(low, _STATUS_WORDS))
    elif question.type in ("single_choice", "multi_choice"):
        tokens = [t.strip() for t in (text.split(",") if "," in text else text.split())]
        if question.type == "single_choice":
            tokens = [text]
        picked = []
        if question.type == "multi_choice" and low in ("none", "-"):
            return coerce_answer(question, [])
        for token in tokens:
            if token.isdigit() and 1 <= int(token) <= len(question.choices):
                picked.append(question.choices[int(token) - 1].value)
            elif token.isdigit():
                raise ValueError(f"choose a number from 1 to {len(question.choices)}")
            else:
                picked.append(token)
        if question.type == "single_choice":
            return coerce_answer(question, picked[0])
        if low not in SPECIAL and low not in _SPECIAL_ALIASES:
            return coerce_answer(question, picked)
    elif question.type == "number" and question.unit and low.endswith(question.unit.lower()):
        text = text[: -len(question.unit)]
    return coerce_answer(question, text)


def answer_hint(question: Question, specials: bool = True) -> str:
    """What a valid answer looks like, in one line."""
    kind = question.type
    if kind == "status":
        hint = "done | partial | not_started | na | dont_know"
    elif kind == "yes_no":
        hint = "yes | no"
    elif kind == "single_choice":
        hint = "one of " + " | ".join(question.choice_values)
    elif kind == "multi_choice":
        hint = "a list of [" + ", ".join(question.choice_values) + "]"
    elif kind == "scale":
        hint = f"a whole number from {question.scale_min} to {question.scale_max}"
    elif kind == "number":
        hint = ("a whole number" if question.integer else "a number")
        bounds = [f"at least {format_number(question.validation['min'])}"] if "min" in question.validation else []
        bounds += [f"at most {format_number(question.validation['max'])}"] if "max" in question.validation else []
        if bounds:
            hint += f" ({', '.join(bounds)})"
        if question.unit:
            hint += f", in {question.unit}"
    else:
        hint = "text"
    extras = [s for s in SPECIAL if specials and kind != "status" and question.offers(s)]
    if extras:
        hint += " | " + " | ".join(extras)
    return hint


def question_range(q: Questionnaire) -> tuple[int, int]:
    """(questions asked before any answer, questions there are): the readiness check asks 21 and,
    depending on the answers, up to 30. `questionnaire list`, the consultant's page and the web
    questionnaire's pages all count with this and :func:`visible_questions`."""
    return len(visible_questions(q, {})), len(q)


def visible_questions(q: Questionnaire, answers: Mapping[str, Any]) -> list[Question]:
    """The questions asked, given canonical answers: a hidden question's answer never counts."""
    seen: dict[str, Any] = {}
    out = []
    for section in q.sections:
        if section.when is not None and not conditions.evaluate(section.when, seen):
            continue
        for qid in section.questions:
            question = q.questions[qid]
            if question.when is not None and not conditions.evaluate(question.when, seen):
                continue
            out.append(question)
            if answers.get(qid) is not None:
                seen[qid] = answers[qid]
    return out
