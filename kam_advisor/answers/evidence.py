"""Evidence from answers: one answers file, or several respondents combined, plus perception gaps.

Answers of the visible questions go through each question's ``maps_to`` into the
:class:`~kam_advisor.answers.files.Evidence` the rules read: checklist statuses, facet
considerations and named facts, each with the answers it came from. Several respondents to
one questionnaire are combined question by question (:func:`combine_values`, the rule in
docs/questionnaires.md). The rules, not the questionnaire, decide stages: nothing here
scores anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from kam_advisor.answers.check import checked_answers, format_number, header_line, read_answers, visible_questions
from kam_advisor.answers.files import AnswerFile, Evidence, check_fact
from kam_advisor.data.errors import DataError, display_path
from kam_advisor.answers.loader import builtin, check_references, load_cached
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
    answers, errors = checked_answers(q, af, fact_specs, data=data)
    if errors:
        raise errors[0]
    visible = [question.id for question in visible_questions(q, answers)]
    shown = {qid: answers[qid] for qid in visible if qid in answers}
    facts = {}
    for name, value in af.facts.items():
        if value is not None:
            facts[name] = check_fact(fact_specs[name], name, value, af.path, af.fact_lines.get(name))
    return _Respondent(label=_label(af, 1), file=Path(af.path).name, answers=shown,
                       notes={k: v for k, v in af.notes.items() if k in shown},
                       facts=facts, fact_lines=dict(af.fact_lines), af=af)


def show_value(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(value) if value else "none"
    return format_number(value) if isinstance(value, float) else str(value)


def _lower_median(values: list) -> Any:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2]


def cautious(values: Sequence[Any], caution: Any) -> Any:
    """Of several respondents' values of a risk fact, the one that raises its red flag soonest:
    the highest (caution high) or lowest (low) number, or the cautious true/false if anyone gave it."""
    if isinstance(caution, bool):
        return caution if caution in values else values[0]
    return max(values) if caution == "high" else min(values)


def combine_values(question: Question | None, values: Sequence[Any], labels: Sequence[str] = (),
                   fact_type: str | None = None, caution: Any = None) -> Any:
    """Several respondents' answers to one question (or one fact) as one answer.

    Real answers win over "don't know" and "not applicable"; with none, "na" if anyone said
    so, else "dont_know". A risk fact (``caution``) takes the most cautious value given.
    Levels (status, scale, ordered choice) and numbers: the lower median. yes / no and other
    choices: the most frequent answer; a tie is "dont_know". Multi-choice: the choices ticked by
    at least half. Text: each respondent's text, labelled.
    """
    given = [v for v in values if v is not None]
    real = [v for v in given if v not in SPECIAL]
    if not real:
        if not given:
            return None
        return "na" if "na" in given else "dont_know"
    if len(real) == 1:
        return real[0]
    if caution is not None:
        return cautious(real, caution)
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


_ITEM_TARGETS: dict[str, tuple[Target]] = {}  # a checklist question's one target: its own action


def _evidence(q: Questionnaire, respondents: Sequence[_Respondent], fact_specs) -> Evidence:
    several = len(respondents) > 1
    answers: dict[str, Any] = {}
    if several:
        for qid, question in q.questions.items():
            values = [r.answers.get(qid) for r in respondents]
            if any(v is not None for v in values):
                answers[qid] = combine_values(question, values, [r.label for r in respondents])
    else:  # one respondent's answers are the answers (what combine_values gives for one value)
        own = respondents[0].answers
        answers = {qid: own[qid] for qid in q.questions if own.get(qid) is not None}
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
            targets = _ITEM_TARGETS.get(question.id) or _ITEM_TARGETS.setdefault(
                question.id, (Target(kind="items", ids=(question.id,)),))
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
            caution = fact_specs[name].get("caution")
            own = []
            if several and caution is not None:  # a risk fact: the most cautious respondent's value
                own = [_fact_of(question, target, r.answers[question.id]) for r in respondents
                       if r.answers.get(question.id) is not None and r.answers[question.id] not in SPECIAL]
                own = [v for v in own if v is not None]
            if own:
                value = cautious(own, caution)
            elif answer in SPECIAL and (target.value is None or answer not in target.value):
                unknown_facts.setdefault(name, answer)
                continue
            else:
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
        value = combine_values(None, values, [r.label for r in respondents], fact_type=fact_specs[name]["type"],
                               caution=fact_specs[name].get("caution"))
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
        "questionnaire_title": q.title,
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
        scope=questionnaire_scope(q),
        questionnaire=q.id,
        produces=q.produces,
        statuses={iid: _merge_statuses(s) for iid, s in sorted(item_statuses.items())},
        facts=dict(sorted(facts.items())),
        provenance={k: tuple(dict.fromkeys(v)) for k, v in sorted(provenance.items())},
        notes=notes,
        respondents=tuple(r.label for r in respondents if r.af.respondent),
        organisation=next((r.af.organisation for r in respondents if r.af.organisation), None),
        date=dates[-1] if dates else None,
        extra=extra,
        assessor=next((r.af.assessor for r in respondents if r.af.assessor), None))


def questionnaire_scope(q: Questionnaire) -> frozenset[str]:
    """The checklist actions a questionnaire asks about: its question ids when it is keyed by
    the checklist, else every action its questions map to."""
    if q.keyed_by == "checklist":
        return frozenset(q.questions)
    return frozenset(i for question in q.questions.values() for t in question.maps_to if t.kind == "items"
                     for i in t.ids)


def to_evidence(q: Questionnaire, af: AnswerFile, kb, fact_specs) -> Evidence:
    """Evidence from one answers file. Only visible questions count; bad answers raise DataError."""
    errors = check_references(q, kb, fact_specs)
    if errors:
        raise errors[0]
    return _evidence(q, [_respondent(q, af, fact_specs)], fact_specs)


# Two respondents' numbers are a perception gap when the larger is at least this multiple of the
# smaller (40 against 120 key accounts is; 10 against 12 is not). A level gap is two steps on the
# question's scale (done against not started); yes against no always is.
NUMBER_GAP_RATIO = 1.5
LEVEL_GAP = 2


def _number_gap(values: Sequence[Any]) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) < 2:
        return None
    low, high = min(numbers), max(numbers)
    if high > 0 and (low <= 0 or high / low >= NUMBER_GAP_RATIO):
        return round(high - low, 6)
    return None


def perception_gaps(q: Questionnaire, respondents: Sequence[_Respondent], fact_specs=None) -> list[dict]:
    """Questions (and facts given directly) where respondents disagree: levels two or more apart,
    yes against no, or numbers far apart (:data:`NUMBER_GAP_RATIO`)."""
    gaps = []
    for qid in sorted(q.questions):
        question = q.questions[qid]
        if question.type == "number":
            spread = _number_gap([r.answers.get(qid) for r in respondents])
            if spread is not None:
                gaps.append({"question": qid, "text": question.text, "spread": spread,
                             "answers": [{"respondent": r.label, "file": display_path(r.af.path),
                                          "answer": r.answers.get(qid)} for r in respondents]})
            continue
        if not (question.has_levels or question.type == "yes_no"):
            continue
        levels = [question.level(r.answers.get(qid)) for r in respondents]
        levels = [v for v in levels if v is not None]
        if len(levels) < 2:
            continue
        spread = max(levels) - min(levels)
        if spread >= LEVEL_GAP or (question.type == "yes_no" and spread >= 1):
            gaps.append({"question": qid, "text": question.text, "spread": spread,
                         "answers": [{"respondent": r.label, "file": display_path(r.af.path),
                                      "answer": r.answers.get(qid)} for r in respondents]})
    names = sorted({name for r in respondents for name in r.facts})
    for name in names:
        values = [r.facts.get(name) for r in respondents]
        spread = _number_gap(values)
        disagree = len({v for v in values if isinstance(v, bool)}) > 1
        if spread is not None or disagree:
            text = (fact_specs or {}).get(name, {}).get("description") or name.replace("_", " ")
            gaps.append({"question": f"facts.{name}", "text": text, "spread": spread or 1,
                         "answers": [{"respondent": r.label, "file": display_path(r.af.path), "answer": r.facts.get(name)}
                                     for r in respondents]})
    return gaps


def _label(af: AnswerFile, n: int) -> str:
    """A respondent's name; an unnamed one is numbered, never named after the file."""
    return af.respondent or f"respondent {n} (unnamed)"


def load_evidence(paths: Sequence[str | Path], kb, fact_specs, questionnaire: Questionnaire | None = None,
                  root: str | Path | None = None) -> tuple[Evidence, list[dict]]:
    """Evidence from one or several answers files, and perception gaps.

    Several files of one questionnaire are several respondents: answers are combined question
    by question by :func:`combine_values`, then mapped to evidence; provenance names each file's
    answer. Files of different questionnaires (e.g. executives' readiness screening beside a
    consultant's full audit): the questionnaire that asks about most checklist actions gives the
    evidence; each other one is compared with it action by action (``extra["view_gaps"]``).
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
    for af, data in docs:
        if af.no_answers:
            raise DataError("no answers to assess: 'answers' is missing or empty (fill in the file; "
                            "'answers: {}' assesses nothing on purpose)", af.path, header_line(data, "answers"))
    groups: dict[str, list] = {}
    for doc in docs:
        groups.setdefault(doc[0].questionnaire, []).append(doc)
    if len(groups) > 1 and questionnaire is None:
        loaded = {qid: _load_for(qid, group[0], root) for qid, group in groups.items()}
        for qid, group in groups.items():
            if not questionnaire_scope(loaded[qid]):
                af, data = group[0]
                first = docs[0][0]
                raise DataError(f"answers are for questionnaire '{qid}', but {display_path(first.path)} answers "
                                f"'{first.questionnaire}'; combine answers of one questionnaire only, or a "
                                "screening with a full audit", af.path, header_line(data, "questionnaire"))
        ranked = sorted(groups, key=lambda qid: (-len(questionnaire_scope(loaded[qid])), list(groups).index(qid)))
        main, others = ranked[0], ranked[1:]
        evidence, gaps = _load_group(groups[main], loaded[main], kb, fact_specs)
        view_gaps, fact_gaps, views = [], [], []
        for qid in others:
            group = groups[qid]
            other, between = _load_group(group, loaded[qid], kb, fact_specs)
            # the screening's respondents among themselves: their own perception gaps
            gaps = gaps + [{**g, "questionnaire": qid, "questionnaire_title": loaded[qid].title} for g in between]
            # and each one against the audit: nobody's view is lost by combining it with another's
            labels = [_label(af, n) for n, (af, _) in enumerate(group, 1)]
            singles = [other] if len(group) == 1 else [
                replace(_load_group([doc], loaded[qid], kb, fact_specs)[0], respondents=(label,))
                for doc, label in zip(group, labels)]
            view_gaps += _merged([g for one in singles for g in compare_views(evidence, one, loaded[qid])],
                                 ("item", "view", "audit"))
            fact_gaps += _merged([g for one in singles
                                  for g in compare_view_facts(evidence, one, loaded[qid], fact_specs)],
                                 ("fact", "view", "audit"))
            views.append({"questionnaire": qid, "questionnaire_title": loaded[qid].title,
                          "respondents": list(other.respondents)})
        extra = {**evidence.extra, "view_gaps": view_gaps, "compared_with": others, "view_fact_gaps": fact_gaps,
                 "views": views}
        return replace(evidence, extra=extra), gaps
    first, first_data = docs[0]
    for af, data in docs[1:]:
        if af.questionnaire != first.questionnaire:
            raise DataError(f"answers are for questionnaire '{af.questionnaire}', but {display_path(first.path)} "
                            f"answers '{first.questionnaire}'; combine answers of one questionnaire only",
                            af.path, header_line(data, "questionnaire"))
    if questionnaire is None:
        questionnaire = _load_for(first.questionnaire, docs[0], root)
    return _load_group(docs, questionnaire, kb, fact_specs)


def _load_for(qid: str, doc, root) -> Questionnaire:
    af, data = doc
    try:
        return load_cached(builtin(qid, root), root=root)
    except DataError as err:
        if err.path is None:
            raise DataError(err.message, af.path, header_line(data, "questionnaire")) from None
        raise


def _load_group(docs, questionnaire: Questionnaire, kb, fact_specs) -> tuple[Evidence, list[dict]]:
    labels = [_label(af, n) for n, (af, _) in enumerate(docs, 1)]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes and len(docs) > 1:
        af, data = docs[labels.index(dupes[0], labels.index(dupes[0]) + 1)]
        raise DataError(f"respondent '{dupes[0]}' appears in two answers files; give each file its own "
                        "'respondent:'", af.path, header_line(data, "respondent"))
    errors = check_references(questionnaire, kb, fact_specs)
    if errors:
        raise errors[0]
    respondents = [replace(_respondent(questionnaire, af, fact_specs, data), label=label)
                   for (af, data), label in zip(docs, labels)]
    evidence = _evidence(questionnaire, respondents, fact_specs)
    gaps = perception_gaps(questionnaire, respondents, fact_specs) if len(respondents) > 1 else []
    return evidence, gaps


def compare_views(main: Evidence, other: Evidence, other_q: Questionnaire) -> list[dict]:
    """Checklist actions where another questionnaire's answers (a screening) differ from the main
    evidence (the audit): the screening's view, the audit's, and how many levels apart."""
    out = []
    for iid in sorted(other.statuses):
        theirs, ours = other.statuses[iid], main.statuses.get(iid)
        if theirs not in STATUS_LEVELS or ours not in STATUS_LEVELS or theirs == ours:
            continue
        out.append({"item": iid, "questionnaire": other.questionnaire, "questionnaire_title": other_q.title,
                    "respondents": list(other.respondents), "view": theirs, "audit": ours,
                    "spread": STATUS_LEVELS[theirs] - STATUS_LEVELS[ours],
                    "because": list(other.provenance.get(iid, ())) + list(main.provenance.get(iid, ()))})
    return out


def compare_view_facts(main: Evidence, other: Evidence, other_q: Questionnaire, fact_specs) -> list[dict]:
    """Named facts (sponsor, owned by sales, numbers) where a screening and the audit disagree:
    yes against no, or numbers far apart (:data:`NUMBER_GAP_RATIO`). ``rosier`` says whether the
    screening's value is the one that raises no red flag while the audit's does (the fact's
    declared ``caution``)."""
    out = []
    for name in sorted(set(main.facts) & set(other.facts)):
        theirs, ours = other.facts[name], main.facts[name]
        spec = fact_specs.get(name, {})
        if isinstance(theirs, bool) or isinstance(ours, bool):
            if theirs == ours or not (isinstance(theirs, bool) and isinstance(ours, bool)):
                continue
            caution = spec.get("caution")
            rosier = isinstance(caution, bool) and ours == caution
        elif _number_gap([theirs, ours]) is not None:
            caution = spec.get("caution")
            rosier = (caution == "high" and theirs < ours) or (caution == "low" and theirs > ours)
        else:
            continue
        # the fact's description as a phrase in a sentence (no full stop of its own)
        out.append({"fact": name, "text": (spec.get("description") or name.replace("_", " ")).strip().rstrip("."),
                    "questionnaire": other.questionnaire, "questionnaire_title": other_q.title,
                    "respondents": list(other.respondents), "view": theirs, "audit": ours, "rosier": bool(rosier),
                    "because": list(other.provenance.get(name, ())) + list(main.provenance.get(name, ()))})
    return out


def _merged(gaps: list[dict], key: tuple[str, ...]) -> list[dict]:
    """Gaps of several respondents: one entry per distinct view, naming everyone who holds it."""
    out: dict[tuple, dict] = {}
    for g in gaps:
        k = tuple(str(g[f]) for f in key)
        if k in out:
            out[k]["respondents"] = out[k]["respondents"] + [r for r in g["respondents"]
                                                               if r not in out[k]["respondents"]]
            out[k]["because"] = out[k]["because"] + [b for b in g["because"] if b not in out[k]["because"]]
        else:
            out[k] = dict(g)
    return sorted(out.values(), key=lambda g: tuple(str(g[f]) for f in key))
