"""Files written from a questionnaire: the fillable answers template and the answers-file writer."""

from __future__ import annotations

import textwrap
from typing import Any, Mapping

import yaml

from kam_advisor.answers import conditions
from kam_advisor.answers.coerce import answer_hint
from kam_advisor.answers.questionnaire import Questionnaire
from kam_advisor.data.yamlio import plain


def _comment(text: str, indent: str, inner: str = "", width: int = 92) -> list[str]:
    """Text as comment lines at ``indent``, wrapped, each line's text starting after ``inner``."""
    lines = []
    for para in str(text).strip().split("\n"):
        wrapped = textwrap.wrap(para, width - len(indent) - 2 - len(inner)) or [""]
        lines.extend(f"{indent}# {inner}{w}".rstrip() for w in wrapped)
    return lines


def template(q: Questionnaire) -> str:
    """A fillable answers file: every question a commented entry with its text, choices and help."""
    out = [f"# {q.title}",
           f"# Questionnaire '{q.id}' version {q.version}, for {q.audience}s, about {q.minutes} minutes.",
           "#"]
    out += _comment(q.intro, "")
    out += ["#",
            "# How to fill in this file: every question below is a commented entry. To answer one,",
            "# remove the '# ' in front of its id and write the answer after the colon, e.g.",
            "#     some_question: partial",
            "# Leave a question commented out if you do not answer it. dont_know (don't know) and na",
            "# (not applicable, where offered) are answers too, and stay distinct from each other.",
            "# To add a note: some_question: {value: partial, note: \"what shows it\"}",
            "# Questions marked 'Only if' count only when their condition holds.",
            f"# Check the file:  kam-advisor questionnaire validate {q.id} FILE",
            "# Assess it:       kam-advisor assess --answers FILE",
            f"questionnaire: {q.id}",
            f"questionnaire_version: {yaml.safe_dump(q.version).splitlines()[0]}",
            "respondent:      # your name and role (optional)",
            "organisation:    # optional",
            "date:            # optional, e.g. 2026-11-01",
            "answers:"]
    number = 0
    for section in q.sections:
        out.append("")
        out.append(f"  # == {section.title} ==")
        if section.intro:
            out += _comment(section.intro, "  ")
        if section.when is not None:
            out.append(f"  # (This section only if: {conditions.describe(section.when)})")
        for qid in section.questions:
            question = q.questions[qid]
            number += 1
            out.append("  #")
            out += _comment(f"{number}. {question.text}", "  ")
            out += _comment(question.help, "  ", "   ")
            if question.type in ("single_choice", "multi_choice"):
                out.append("  #    Choices:")
                for c in question.choices:
                    out += _comment(f"{c.value}: {c.label}" if c.label != c.value else c.value, "  ", "     - ")
            if question.type == "scale" and question.labels:
                out += _comment("Scale: " + "; ".join(f"{k} = {v}" for k, v in sorted(question.labels.items())),
                                "  ", "   ")
            out += _comment(f"Answer: {answer_hint(question)}" + (" (required)" if question.required else ""),
                            "  ", "   ")
            if question.when is not None:
                out += _comment(f"Only if: {conditions.describe(question.when)}", "  ", "   ")
            out.append(f"  # {qid}:")
    return "\n".join(out) + "\n"


def answers_document(q: Questionnaire, answers: Mapping[str, Any], notes: Mapping[str, str],
                     header: Mapping[str, Any]) -> str:
    """The text of an answers file (answers.py format): header fields kept, answers in order."""
    doc: dict[str, Any] = {"questionnaire": q.id, "questionnaire_version": q.version}
    for key, value in header.items():
        if key not in ("questionnaire", "questionnaire_version", "answers", "notes") and value is not None:
            doc[key] = plain(value)
    body = {}
    for qid in list(q.questions) + [k for k in answers if k not in q.questions]:
        if qid in answers and answers[qid] is not None:
            body[qid] = {"value": answers[qid], "note": notes[qid]} if notes.get(qid) else answers[qid]
    doc["answers"] = body
    loose = {k: v for k, v in notes.items() if k not in body and v}
    if loose:
        doc["notes"] = loose
    head = (f"# Answers to the kam-advisor questionnaire '{q.id}' ({q.title}).\n"
            f"# Written by `kam-advisor run {q.id}`; safe to edit. Check: "
            f"kam-advisor questionnaire validate {q.id} FILE\n")
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
