"""Answers files in, evidence out.

An answers file (YAML or JSON) says which questionnaire it answers and holds the answers::

    questionnaire: full-audit
    respondent: Jane Smith, Sales Director      # optional
    organisation: Acme Components Ltd           # optional
    date: 2026-11-01                            # optional
    answers:
      sp.goals.positioning.a1: done
      sp.goals.positioning.a2: {status: partial, note: "Problem agreed, need not yet quantified"}
    facts:
      ka_count: 12

`Evidence` is what inference reads: a status per checklist action and the named facts, each
remembering which answer it came from.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kam_advisor.data.errors import DataError
from kam_advisor.data.yamlio import LineDict, load_file, plain

@dataclass(frozen=True)
class AnswerFile:
    """An answers file as written: questionnaire id, raw answers by question id, notes, facts."""

    path: str
    questionnaire: str
    answers: Mapping[str, Any]
    notes: Mapping[str, str]
    facts: Mapping[str, Any]
    respondent: str | None = None
    organisation: str | None = None
    date: str | None = None
    assessor: str | None = None
    lines: Mapping[str, int] = field(default_factory=dict)
    fact_lines: Mapping[str, int] = field(default_factory=dict)
    note_lines: Mapping[str, int] = field(default_factory=dict)  # the `notes:` block's entries
    no_answers: bool = False  # `answers:` missing or left empty (an untouched template)
    problems: tuple = ()      # DataErrors of cells a workbook reader left out (each names Sheet!Cell)

    def line_of(self, qid: str) -> int | None:
        return self.lines.get(qid)


@dataclass(frozen=True)
class Evidence:
    """What the rules reason over: checklist statuses and named facts, with their provenance."""

    questionnaire: str
    statuses: Mapping[str, str]
    facts: Mapping[str, Any]
    provenance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    respondents: tuple[str, ...] = ()
    organisation: str | None = None
    date: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    assessor: str | None = None
    # the checklist actions the questionnaire asks about (None: the whole checklist)
    scope: frozenset[str] | None = None
    # the kind of result the questionnaire produces (its `produces:`), which chooses the pipeline
    produces: str = "programme"


_TOP_FIELDS = ("questionnaire", "answers", "facts", "respondent", "organisation", "date", "notes", "kind",
               "questionnaire_version", "started", "updated", "assessor")


# A questionnaire is named by id: a path here would let a shared answers file open any file.
QUESTIONNAIRE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _as_text(value, what: str, path, line) -> str | None:
    """A header field or note as text: text, a number or a date are fine; a list or mapping is not."""
    if value is None:
        return None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list, set, bytes)):
        raise DataError(f"{what}: expected text (got a {'mapping' if isinstance(value, dict) else 'list'})",
                        path, line)
    return str(value)


def read_answer_file(path: str | Path, data: Any = None) -> AnswerFile:
    """Read and shape-check an answers file. Content is checked against a questionnaire later."""
    if data is None:
        data = load_file(path)
    if not isinstance(data, LineDict):
        raise DataError("expected a mapping with 'questionnaire' and 'answers'", path, getattr(data, "line", 1))
    for key in data:
        if key not in _TOP_FIELDS:
            raise DataError(f"unknown field '{key}' (expected one of {', '.join(_TOP_FIELDS[:6])})",
                            path, data.line_of(key))
    questionnaire = data.get("questionnaire")
    if not isinstance(questionnaire, str) or not questionnaire:
        raise DataError("missing 'questionnaire': the id of the questionnaire these answers belong to",
                        path, data.line_of("questionnaire") if "questionnaire" in data else 1)
    if not QUESTIONNAIRE_ID.match(questionnaire) or questionnaire.lower().endswith((".yaml", ".yml", ".json")):
        raise DataError("'questionnaire' must be the id of a questionnaire (e.g. full-audit), not a path",
                        path, data.line_of("questionnaire"))
    no_answers = data.get("answers") is None
    raw = data.get("answers") or LineDict()
    if not isinstance(raw, dict):
        raise DataError("'answers' must be a mapping of question id to answer", path, data.line_of("answers"))
    answers, notes, lines = {}, {}, {}
    for qid, value in raw.items():
        qid_text = str(qid)
        lines[qid_text] = raw.line_of(qid) if isinstance(raw, LineDict) else None
        if isinstance(value, dict):
            unknown = [k for k in value if k not in ("status", "value", "note", "evidence", "verified")]
            if unknown:
                raise DataError(f"answer '{qid_text}': unknown field '{unknown[0]}' "
                                "(expected value or status, and optionally note)", path, lines[qid_text])
            note = _as_text(value.get("note", value.get("evidence")), f"answer '{qid_text}': note", path,
                            lines[qid_text])
            if note is not None:
                notes[qid_text] = note
            value = value.get("status", value.get("value"))
        answers[qid_text] = plain(value)
    extra_notes = data.get("notes") or {}
    if not isinstance(extra_notes, dict):
        raise DataError("'notes' must be a mapping of question id to text", path, data.line_of("notes"))
    note_lines = {}
    for qid, note in extra_notes.items():
        line = extra_notes.line_of(qid) if isinstance(extra_notes, LineDict) else None
        text = _as_text(note, f"note '{qid}'", path, line)
        if text is not None:
            notes.setdefault(str(qid), text)
            note_lines[str(qid)] = line
    facts = data.get("facts") or LineDict()
    if not isinstance(facts, dict):
        raise DataError("'facts' must be a mapping of fact name to value", path, data.line_of("facts"))
    fact_lines = {str(k): facts.line_of(k) for k in facts} if isinstance(facts, LineDict) else {}
    return AnswerFile(path=str(path), questionnaire=questionnaire, answers=answers, notes=notes,
                      facts={str(k): plain(v) for k, v in facts.items()},
                      lines=lines, fact_lines=fact_lines, note_lines=note_lines, no_answers=no_answers,
                      **{key: _as_text(data.get(key), key, path, data.line_of(key))
                         for key in ("respondent", "organisation", "date", "assessor")})


def check_fact(spec: Mapping[str, Any], name: str, value: Any, path, line) -> Any:
    """Validate one named fact against its declaration in rules/facts.yaml."""
    kind = spec["type"]
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("yes", "no", "true", "false"):
            value = value.lower() in ("yes", "true")
        if not isinstance(value, bool):
            raise DataError(f"fact '{name}': expected true or false (got {value!r})", path, line)
    elif kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError(f"fact '{name}': expected a {'whole ' if kind == 'integer' else ''}number "
                            f"(got {value!r})", path, line)
        if kind == "integer" and isinstance(value, float):
            if not value.is_integer():
                raise DataError(f"fact '{name}': expected a whole number (got {value!r})", path, line)
            value = int(value)
        if "minimum" in spec and value < spec["minimum"]:
            raise DataError(f"fact '{name}': must be at least {spec['minimum']} (got {value})", path, line)
        if "maximum" in spec and value > spec["maximum"]:
            raise DataError(f"fact '{name}': must be at most {spec['maximum']} (got {value})", path, line)
    elif kind == "string":
        if not isinstance(value, str):
            raise DataError(f"fact '{name}': expected text (got {value!r})", path, line)
        if spec.get("choices") and value not in spec["choices"]:
            raise DataError(f"fact '{name}': must be one of {', '.join(spec['choices'])} (got {value!r})", path, line)
    return value

