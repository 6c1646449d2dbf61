"""Evidence from answers: one answers file, or several respondents combined, plus perception gaps.

Answers of the visible questions go through each question's ``maps_to`` into the
:class:`~kam_advisor.answers.files.Evidence` the rules read: checklist statuses, facet
considerations and named facts, each with the answers it came from. Several respondents to
one questionnaire are combined question by question (:func:`combine_values`, the rule in
docs/questionnaires.md). The rules, not the questionnaire, decide stages: nothing here
scores anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from kam_advisor.answers.check import (canonical_answers, format_number, header_line, read_answers, validate_answers,
                                      visible_questions)
from kam_advisor.answers.files import AnswerFile, Evidence, check_fact
from kam_advisor.data.errors import DataError, display_path
from kam_advisor.answers.loader import check_references, load
from kam_advisor.answers.questionnaire import Question, Questionnaire, Target
from kam_advisor.data.vocab import LEVELS as STATUS_LEVELS, SPECIAL


@dataclass(frozen=True)
class _Respondent:
    label: str
    file: str
    answers: Mapping[str, Any]  # canonical answers of visible questions
    notes: Mapping[str, str]
    facts: Mapping[str, Any]
    fact_lines: Mapping[str, int]
    af: AnswerFile


def _respondent(q: Questionnaire, af: AnswerFile, fact_specs, data=None) -> _Respondent:
    errors = validate_answers(q, af, fact_specs, data=data)
    if errors:
        raise errors[0]
    answers, _ = canonical_answers(q, af)
    visible = [question.id for question in visible_questions(q, answers)]
    shown = {qid: answers[qid] for qid in visible if qid in answers}
    facts = {}
    for name, value in af.facts.items():
        if value is not None:
            facts[name] = check_fact(fact_specs[name], name, value, af.path, af.fact_lines.get(name))
    return _Respondent(label=af.respondent or Path(af.path).stem, file=Path(af.path).name, answers=shown,
                       notes={k: v for k, v in af.notes.items() if k in shown},
                       facts=facts, fact_lines=dict(af.fact_lines), af=af)


def show_value(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(value) if value else "none"
    return format_number(value) if isinstance(value, float) else str(value)


def _lower_median(values: list) -> Any:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def combine_values(question: Question | None, values: Sequence[Any], labels: Sequence[str] = (),
                   fact_type: str | None = None) -> Any:
    """Several respondents' answers to one question (or one fact) as one answer.

    Real answers win over "don't know" and "not applicable"; with none, "na" if anyone said
    so, else "dont_know". Levels (status, scale, ordered choice) and numbers: the lower median.
    yes / no and other choices: the most frequent answer; a tie is "dont_know". Multi-choice:
    the choices ticked by at least half. Text: each respondent's text, labelled.
    """
    given = [v for v in values if v is not None]
    real = [v for v in given if v not in SPECIAL]
    if not real:
        if not given:
            return None
        return "na" if "na" in given else "dont_know"
    if len(real) == 1:
        return real[0]
    kind = question.type if question is not None else fact_type
    if question is not None and question.has_levels:
        return question.from_level(_lower_median([question.level(v) for v in real]))
    if kind in ("number", "integer"):
        return _lower_median(real)
    if kind == "multi_choice":
        return [c for c in question.choice_values if sum(c in v for v in real) * 2 >= len(real)]
    if kind == "text":
        pairs = [(lab, v) for lab, v in zip(labels, values) if v is not None and v not in SPECIAL]
        return "\n".join(f"{lab}: {v}" for lab, v in pairs)
    counts: dict[Any, int] = {}
    for v in real:
        counts[v] = counts.get(v, 0) + 1
    best = max(counts.values())
    winners = [v for v, n in counts.items() if n == best]
    return winners[0] if len(winners) == 1 else "dont_know"


def _status_of(question: Question, target: Target, answer: Any) -> str | None:
    if target.if_selected is not None:
        if answer in SPECIAL:
            return answer
        return "done" if target.if_selected in answer else "not_started"
    if target.status is not None and answer in target.status:
        return target.status[answer]
    if answer in SPECIAL:
        return answer
    if question.type == "status" and target.status is None:
        return answer
    return None


def _fact_of(question: Question, target: Target, answer: Any) -> Any:
    if target.value is not None:
        return target.value.get(answer)
    if target.if_selected is not None:
        return target.if_selected in answer
    if question.type == "yes_no":
        return answer == "yes"
    return answer


def _merge_statuses(statuses: Sequence[str]) -> str:
    """One respondent, several questions on one action: the weakest reported level wins."""
    levels = [s for s in statuses if s in STATUS_LEVELS]
    if levels:
        return min(levels, key=lambda s: STATUS_LEVELS[s])
    return "na" if "na" in statuses else "dont_know"


def _evidence(q: Questionnaire, respondents: Sequence[_Respondent], fact_specs) -> Evidence:
    several = len(respondents) > 1
    answers: dict[str, Any] = {}
    for qid, question in q.questions.items():
        values = [r.answers.get(qid) for r in respondents]
        if any(v is not None for v in values):
            answers[qid] = combine_values(question, values, [r.label for r in respondents])
    visible = visible_questions(q, answers)
    shown = [question for question in visible if question.id in answers]

    def origin(qid: str) -> tuple[str, ...]:
        if not several:
            return (f"{qid}={show_value(answers[qid])}",)
        return tuple(f"{qid}={show_value(r.answers[qid])} ({r.file})" for r in respondents if qid in r.answers)

    item_statuses: dict[str, list[str]] = {}
    considerations: dict[str, list[str]] = {}
    provenance: dict[str, list[str]] = {}
    facts: dict[str, Any] = {}
    fact_question: dict[str, str] = {}
    unknown_facts: dict[str, str] = {}
    for question in shown:
        answer = answers[question.id]
        targets = question.maps_to
        if q.keyed_by == "checklist":
            targets = (Target(kind="items", ids=(question.id,)),)
        for target in targets:
            if target.kind in ("items", "consideration"):
                status = _status_of(question, target, answer)
                if status is None:
                    continue
                bucket = item_statuses if target.kind == "items" else considerations
                for tid in target.ids:
                    bucket.setdefault(tid, []).append(status)
                    provenance.setdefault(tid, []).extend(origin(question.id))
                continue
            name = target.ids[0]
            provenance.setdefault(name, []).extend(origin(question.id))
            if answer in SPECIAL and (target.value is None or answer not in target.value):
                unknown_facts.setdefault(name, answer)
                continue
            value = _fact_of(question, target, answer)
            if value is None:
                continue
            r = respondents[0]
            value = check_fact(fact_specs[name], name, value, r.af.path, r.af.line_of(question.id))
            facts[name] = value
            fact_question[name] = question.id
            unknown_facts.pop(name, None)
    # facts given directly under `facts:`
    direct_names = [n for n in fact_specs if any(n in r.facts for r in respondents)]
    for name in direct_names:
        values = [r.facts.get(name) for r in respondents]
        value = combine_values(None, values, [r.label for r in respondents], fact_type=fact_specs[name]["type"])
        provenance.setdefault(name, []).extend(
            f"facts.{name}={show_value(r.facts[name])}" + (f" ({r.file})" if several else "")
            for r in respondents if name in r.facts)
        if value in SPECIAL:  # respondents split evenly on a yes/no or text fact
            if name not in facts:
                unknown_facts[name] = value
            continue
        if name in fact_question and facts[name] != value:
            holder = next(r for r in respondents if name in r.facts)
            raise DataError(f"fact '{name}' is given here ({show_value(value)}) and by question "
                            f"'{fact_question[name]}' ({show_value(facts[name])}); keep one",
                            holder.af.path, holder.fact_lines.get(name))
        facts[name] = value
        unknown_facts.pop(name, None)
    notes: dict[str, str] = {}
    for question in shown:
        given = [(r.label, r.notes[question.id]) for r in respondents if question.id in r.notes]
        if given:
            notes[question.id] = given[0][1] if not several else "\n".join(f"{lab}: {n}" for lab, n in given)
    extra: dict[str, Any] = {
        "questionnaire_version": q.version,
        "answers": {question.id: answers[question.id] for question in shown},
        "questions": {question.id: question.text for question in shown},
        "progress": {"answered": len(shown), "visible": len(visible), "total": len(q.questions)},
        "considerations": {cid: _merge_statuses(s) for cid, s in sorted(considerations.items())},
        "unknown_facts": dict(sorted(unknown_facts.items())),
    }
    if several:
        extra["respondent_answers"] = {
            question.id: [{"respondent": r.label, "file": r.file, "answer": r.answers.get(question.id)}
                          for r in respondents] for question in shown}
    dates = sorted(r.af.date for r in respondents if r.af.date)
    return Evidence(
        questionnaire=q.id,
        statuses={iid: _merge_statuses(s) for iid, s in sorted(item_statuses.items())},
        facts=dict(sorted(facts.items())),
        provenance={k: tuple(dict.fromkeys(v)) for k, v in sorted(provenance.items())},
        notes=notes,
        respondents=tuple(r.label for r in respondents),
        organisation=next((r.af.organisation for r in respondents if r.af.organisation), None),
        date=dates[-1] if dates else None,
        extra=extra,
        assessor=next((r.af.assessor for r in respondents if r.af.assessor), None))


def to_evidence(q: Questionnaire, af: AnswerFile, kb, fact_specs) -> Evidence:
    """Evidence from one answers file. Only visible questions count; bad answers raise DataError."""
    errors = check_references(q, kb, fact_specs)
    if errors:
        raise errors[0]
    return _evidence(q, [_respondent(q, af, fact_specs)], fact_specs)


def perception_gaps(q: Questionnaire, respondents: Sequence[_Respondent]) -> list[dict]:
    """Questions where respondents' levels differ by two or more (yes / no: any disagreement)."""
    gaps = []
    for qid in sorted(q.questions):
        question = q.questions[qid]
        if not (question.has_levels or question.type == "yes_no"):
            continue
        levels = [question.level(r.answers.get(qid)) for r in respondents]
        levels = [v for v in levels if v is not None]
        if len(levels) < 2:
            continue
        spread = max(levels) - min(levels)
        if spread >= 2 or (question.type == "yes_no" and spread >= 1):
            gaps.append({"question": qid, "text": question.text, "spread": spread,
                         "answers": [{"respondent": r.label, "file": display_path(r.af.path),
                                      "answer": r.answers.get(qid)} for r in respondents]})
    return gaps


def load_evidence(paths: Sequence[str | Path], kb, fact_specs, questionnaire: Questionnaire | None = None,
                  root: str | Path | None = None) -> tuple[Evidence, list[dict]]:
    """Evidence from one or several answers files of one questionnaire, and perception gaps.

    Several files are several respondents: answers are combined question by question by
    :func:`combine_values`, then mapped to evidence; provenance names each file's answer.
    """
    if not paths:
        raise DataError("no answers file given")
    return evidence_of([read_answers(p) for p in paths], kb, fact_specs, questionnaire, root)


def evidence_of(docs: Sequence[tuple[AnswerFile, Any]], kb, fact_specs, questionnaire: Questionnaire | None = None,
                root: str | Path | None = None) -> tuple[Evidence, list[dict]]:
    """:func:`load_evidence` for answers already read: (AnswerFile, its parsed document or None)
    pairs, e.g. answers given in the web questionnaire."""
    if not docs:
        raise DataError("no answers given")
    first, first_data = docs[0]
    for af, data in docs[1:]:
        if af.questionnaire != first.questionnaire:
            raise DataError(f"answers are for questionnaire '{af.questionnaire}', but {display_path(first.path)} "
                            f"answers '{first.questionnaire}'; combine answers of one questionnaire only",
                            af.path, header_line(data, "questionnaire"))
    labels = [af.respondent or Path(af.path).stem for af, _ in docs]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes and len(docs) > 1:
        af, data = docs[labels.index(dupes[0], labels.index(dupes[0]) + 1)]
        raise DataError(f"respondent '{dupes[0]}' appears in two answers files; give each file its own "
                        "'respondent:'", af.path, header_line(data, "respondent"))
    if questionnaire is None:
        try:
            questionnaire = load(first.questionnaire, root=root)
        except DataError as err:
            if err.path is None:
                raise DataError(err.message, first.path, header_line(first_data, "questionnaire")) from None
            raise
    errors = check_references(questionnaire, kb, fact_specs)
    if errors:
        raise errors[0]
    respondents = [_respondent(questionnaire, af, fact_specs, data) for af, data in docs]
    evidence = _evidence(questionnaire, respondents, fact_specs)
    gaps = perception_gaps(questionnaire, respondents) if len(respondents) > 1 else []
    return evidence, gaps
