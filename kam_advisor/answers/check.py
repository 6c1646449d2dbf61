"""Checking a whole answers file against its questionnaire (``kam-advisor questionnaire validate
NAME ANSWERS_FILE``), read from YAML or a filled workbook.

What one valid answer is lives in :mod:`kam_advisor.answers.coerce` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kam_advisor.answers import workbook
from kam_advisor.answers.coerce import (answer_hint, coerce_answer, format_number, parse_input,  # noqa: F401
                                        question_range, rule_problem, visible_questions)
from kam_advisor.answers.files import AnswerFile, check_fact, read_answer_file
from kam_advisor.data.errors import DataError
from kam_advisor.answers.questionnaire import Questionnaire
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import LineDict, load_file

_SUGGESTIONS = 20  # "did you mean" for the ids `questionnaire validate` lists; ~5 ms each


def read_answers(path: str | Path) -> tuple[AnswerFile, LineDict | None]:
    """An answers file and its parsed document (for header lines and rewriting).

    A filled questionnaire workbook (.xlsx) is read by :mod:`kam_advisor.answers.workbook`;
    it has no YAML document (None)."""
    if workbook.is_workbook(path):
        return workbook.read_workbook(path), None
    data = load_file(path)
    return read_answer_file(path, data), data


def header_line(data: Any, key: str) -> int:
    return data.line_of(key) if isinstance(data, LineDict) and key in data else 1


def canonical_answers(q: Questionnaire, af: AnswerFile) -> tuple[dict[str, Any], list[DataError]]:
    """Every answer of the file made canonical, in questionnaire order, and the problems found."""
    out, errors = {}, []
    for qid, raw in af.answers.items():
        if qid not in q.questions:
            hint = did_you_mean(qid, q.questions) if len(errors) < _SUGGESTIONS else ""
            errors.append(DataError(f"answer '{qid}': no such question in '{q.id}'{hint}", af.path, af.line_of(qid)))
            continue
        try:
            out[qid] = coerce_answer(q.questions[qid], raw)
        except ValueError as exc:
            errors.append(DataError(f"answer '{qid}': {exc} (got {raw!r})", af.path, af.line_of(qid)))
    ordered = {qid: out[qid] for qid in q.questions if qid in out and out[qid] is not None}
    return ordered, errors


def validate_answers(q: Questionnaire, af: AnswerFile, fact_specs=None, complete: bool = False,
                     data: Any = None) -> list[DataError]:
    """Problems of an answers file against a questionnaire, sorted by line (empty: valid).

    ``complete``: also report visible required questions left unanswered (or "don't know").
    """
    return checked_answers(q, af, fact_specs, complete, data)[1]


def checked_answers(q: Questionnaire, af: AnswerFile, fact_specs=None, complete: bool = False,
                    data: Any = None) -> tuple[dict[str, Any], list[DataError]]:
    """:func:`canonical_answers` and :func:`validate_answers` in one: the canonical answers and
    the problems, sorted by line."""
    errors = []
    if af.questionnaire != q.id:
        errors.append(DataError(f"these answers are for questionnaire '{af.questionnaire}', not '{q.id}'",
                                af.path, header_line(data, "questionnaire")))
        return {}, errors
    answers, problems = canonical_answers(q, af)
    errors.extend(af.problems)           # a workbook's bad cells, found while reading it
    errors.extend(problems)
    for qid, line in af.note_lines.items():
        if qid not in q.questions:
            errors.append(DataError(f"note for '{qid}': no such question in '{q.id}'", af.path, line))
    if fact_specs is not None:
        for name, value in af.facts.items():
            line = af.fact_lines.get(name)
            if name not in fact_specs:
                errors.append(DataError(f"unknown fact '{name}'{did_you_mean(name, fact_specs)}", af.path, line))
            elif value is not None:
                try:
                    check_fact(fact_specs[name], name, value, af.path, line)
                except DataError as err:
                    errors.append(err)
    if complete:
        for question in visible_questions(q, answers):
            if question.required and answers.get(question.id) in (None, "dont_know"):
                errors.append(DataError(f"question '{question.id}' is required and not answered",
                                        af.path, af.line_of(question.id) or header_line(data, "answers")))
    return answers, sorted(errors, key=lambda e: e.line or 0)
