"""Questionnaires as data: loading and checking them, reading answers against them, evidence out.

A questionnaire (``questionnaires/<id>.yaml``, format in docs/questionnaires.md and
``kam_advisor/schemas/questionnaire.yaml``) is sections of typed questions with optional
conditions (``when``) and mappings (``maps_to``) saying which checklist actions, facet
considerations or named facts an answer evidences. This module owns:

- loading: schema, then the checks a schema cannot make (conditions refer only to earlier
  questions, no cycles, answer mappings fit the question type, references to the knowledge
  base and to ``rules/facts.yaml`` exist), each problem as ``file:line: message``;
- answers: turning raw values (from a file or typed at a prompt) into canonical answers,
  validation rules, which questions are visible;
- the fillable template and the answers-file writer;
- evidence: one answers file, or several respondents combined by the documented rule, into
  the :class:`~kam_advisor.answers.Evidence` the rules read, plus perception gaps.

The rules, not the questionnaire, decide stages: nothing here scores anything.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from kam_advisor import conditions, schema
from kam_advisor.answers import STATUSES, AnswerFile, Evidence, check_fact, normalise_status, read_answer_file
from kam_advisor.errors import DataError, DataErrors, display_path
from kam_advisor.paths import data_dir
from kam_advisor.yamlio import LineDict, load_file, plain

TYPES = ("status", "single_choice", "multi_choice", "yes_no", "scale", "number", "text")
SPECIAL = ("dont_know", "na")
STATUS_LEVELS = conditions.STATUS_LEVELS
STATUS_LABELS = {"done": "done", "partial": "partial", "not_started": "not started",
                 "na": "not applicable", "dont_know": "don't know"}
_SPECIAL_ALIASES = {"dont_know": "dont_know", "don't know": "dont_know", "dont know": "dont_know",
                    "unknown": "dont_know", "na": "na", "n/a": "na", "not applicable": "na",
                    "not_applicable": "na"}


# ---------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    help: str | None = None


@dataclass(frozen=True)
class Target:
    """One ``maps_to`` entry: what the answer evidences and how."""

    kind: str  # items, consideration or fact
    ids: tuple[str, ...]
    status: Mapping[Any, str | None] | None = None
    value: Mapping[Any, Any] | None = None
    if_selected: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    help: str
    source: str
    section: str
    line: int
    guidance: str | None = None
    required: bool = False
    allow_na: bool = False
    note: bool = False
    choices: tuple[Choice, ...] = ()
    ordered: bool = False
    scale_min: int = 1
    scale_max: int = 5
    labels: Mapping[int, str] = field(default_factory=dict)
    integer: bool = False
    unit: str | None = None
    validation: Mapping[str, Any] = field(default_factory=dict)
    when: Any = None
    maps_to: tuple[Target, ...] = ()
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    @property
    def has_levels(self) -> bool:
        """Whether answers are levels on one scale (perception gaps and median combination)."""
        return self.type in ("status", "scale") or (self.type == "single_choice" and self.ordered)

    def level(self, value: Any) -> int | None:
        """The answer's level on the question's own scale, or None (special or no level)."""
        if value is None or value in SPECIAL:
            return None
        if self.type == "status":
            return STATUS_LEVELS.get(value)
        if self.type == "scale":
            return value
        if self.type == "single_choice" and self.ordered:
            return self.choice_values.index(value)
        if self.type == "yes_no":
            return 1 if value == "yes" else 0
        return None

    def from_level(self, level: int) -> Any:
        if self.type == "status":
            return next(s for s, n in STATUS_LEVELS.items() if n == level)
        if self.type == "single_choice":
            return self.choice_values[level]
        return level

    def offers(self, special: str) -> bool:
        """Whether ``dont_know`` / ``na`` is an acceptable answer here."""
        if special == "na":
            return self.type == "status" or self.allow_na
        return not self.required

    def operand(self) -> conditions.Operand:
        values: tuple | None = None
        if self.type == "status":
            values = STATUSES
        elif self.type in ("single_choice", "multi_choice"):
            values = self.choice_values
        elif self.type == "yes_no":
            values = ("yes", "no")
        elif self.type == "scale":
            values = tuple(range(self.scale_min, self.scale_max + 1))
        return conditions.Operand(self.type, values, ordered=self.type in ("status", "scale", "number"))


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str | None
    when: Any
    questions: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Questionnaire:
    id: str
    version: str
    audience: str
    title: str
    intro: str
    minutes: int
    sections: tuple[Section, ...]
    questions: Mapping[str, Question]  # in order
    path: str
    keyed_by: str | None = None
    id_line: int = 1

    def __len__(self) -> int:
        return len(self.questions)

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)


# ---------------------------------------------------------------------------- loading

def questionnaire_dir() -> Path:
    return data_dir("questionnaires")


def names(root: str | Path | None = None) -> list[str]:
    """Ids of the built-in questionnaires (file names without .yaml), sorted."""
    folder = Path(root) if root else questionnaire_dir()
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve(name_or_path: str | Path, root: str | Path | None = None) -> Path:
    """A built-in questionnaire's file, or the given path when it names a file."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or "/" in text or candidate.is_file():
        return candidate
    folder = Path(root) if root else questionnaire_dir()
    path = folder / f"{text}.yaml"
    if not path.is_file():
        known = names(root)
        near = difflib.get_close_matches(text, known, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else f" (available: {', '.join(known) or 'none'})"
        raise DataError(f"unknown questionnaire '{text}'{hint}")
    return path


def list_questionnaires(root: str | Path | None = None, kb=None, fact_specs=None) -> list[Questionnaire]:
    """Every built-in questionnaire, loaded and checked, sorted by id."""
    folder = Path(root) if root else questionnaire_dir()
    return [load(folder / f"{n}.yaml", kb=kb, fact_specs=fact_specs, root=folder) for n in names(folder)]


def load(name_or_path: str | Path, kb=None, fact_specs=None, root: str | Path | None = None) -> Questionnaire:
    """Load and check a questionnaire by id or path.

    With ``kb`` and ``fact_specs`` the mapped actions, considerations and facts are checked too.
    Raises DataError (one problem) or DataErrors (several), each with file and line.
    """
    path = resolve(name_or_path, root)
    data = load_file(path)
    q = build(data, path)
    in_builtin = path.resolve().parent == (Path(root) if root else questionnaire_dir()).resolve()
    if in_builtin and q.id != path.stem:
        raise DataError(f"questionnaire id '{q.id}' does not match the file name '{path.name}'", path, q.id_line)
    if kb is not None or fact_specs is not None:
        errors = check_references(q, kb, fact_specs)
        if errors:
            raise errors[0] if len(errors) == 1 else DataErrors(errors)
    return q


def build(data: Any, path) -> Questionnaire:
    """Check a parsed questionnaire document and build the model (no knowledge-base checks)."""
    if not isinstance(data, LineDict):
        raise DataError("expected a questionnaire: a mapping with kind, id, version, sections ...", path,
                        getattr(data, "line", 1))
    index = schema.IdIndex()
    schema.collect_ids("questionnaire", data, path, index)
    errors = schema.validate("questionnaire", data, path, index) + list(index.duplicates)
    if errors:
        raise errors[0] if len(errors) == 1 else DataErrors(sorted(errors, key=lambda e: e.line or 0))
    errors = []
    sections, questions = [], {}
    for sec in data["sections"]:
        _words_for_booleans(sec.get("when"))
        for raw in sec["questions"]:
            _words_for_booleans(raw.get("when"))
        qids = []
        for raw in sec["questions"]:
            try:
                question = _question(raw, sec["id"], path)
            except DataError as err:
                errors.append(err)
                continue
            questions[question.id] = question
            qids.append(question.id)
        sections.append(Section(id=sec["id"], title=sec["title"], intro=sec.get("intro"), when=sec.get("when"),
                                questions=tuple(qids), line=sec.line))
    q = Questionnaire(id=data["id"], version=data["version"], audience=data["audience"], title=data["title"],
                      intro=data["intro"], minutes=data["minutes"], sections=tuple(sections),
                      questions=questions, path=str(path), keyed_by=data.get("keyed_by"),
                      id_line=data.line_of("id"))
    if not errors:
        errors.extend(_check_conditions(q, data, path))
    if errors:
        raise errors[0] if len(errors) == 1 else DataErrors(sorted(errors, key=lambda e: e.line or 0))
    return q


def _words_for_booleans(tree: Any) -> None:
    """In place: a condition's unquoted yes / no (read by YAML as booleans) become the words."""
    if isinstance(tree, dict):
        for key, arg in tree.items():
            if key in conditions.COMPARISONS and isinstance(arg, list) and len(arg) == 2:
                if isinstance(arg[1], list):
                    arg[1][:] = [_norm_key(v) for v in arg[1]]
                else:
                    arg[1] = _norm_key(arg[1])
            else:
                _words_for_booleans(arg)
    elif isinstance(tree, list):
        for sub in tree:
            _words_for_booleans(sub)


def _norm_key(key: Any) -> Any:
    """YAML 1.1 reads yes / no as booleans; answers and mapping keys use the words."""
    if key is True:
        return "yes"
    if key is False:
        return "no"
    return key


def _question(raw: LineDict, section_id: str, path) -> Question:
    qid, kind = raw["id"], raw["type"]
    label = f"question '{qid}'"

    def err(message: str, key: str | None = None) -> DataError:
        return DataError(f"{label}: {message}", path, raw.line_of(key) if key else raw.line)

    def only_for(key: str, types: Sequence[str]):
        if key in raw and kind not in types:
            raise err(f"'{key}' is only for {' / '.join(types)} questions (this one is {kind})", key)

    for key, types in (("choices", ("single_choice", "multi_choice")), ("ordered", ("single_choice",)),
                       ("scale", ("scale",)), ("labels", ("scale",)), ("integer", ("number",)),
                       ("unit", ("number",)), ("allow_na", [t for t in TYPES if t != "status"]),
                       ("note", [t for t in TYPES if t != "text"])):
        only_for(key, types)
    choices: list[Choice] = []
    if kind in ("single_choice", "multi_choice"):
        if "choices" not in raw:
            raise err(f"a {kind} question needs 'choices'")
        for c in raw["choices"]:
            if isinstance(c, str):
                value = c.strip().lower().replace(" ", "-")
                choices.append(Choice(value=value, label=c))
            else:
                choices.append(Choice(value=c["value"], label=c.get("label", c["value"]), help=c.get("help")))
        values = [c.value for c in choices]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise err(f"choice '{dupes[0]}' appears twice", "choices")
        clash = [v for v in values if v in SPECIAL]
        if clash:
            raise err(f"choice '{clash[0]}' is reserved (dont_know and na are offered by the questionnaire)",
                      "choices")
    scale_min, scale_max = 1, 5
    if "scale" in raw:
        scale_min, scale_max = raw["scale"]["min"], raw["scale"]["max"]
        if scale_max <= scale_min:
            raise err(f"scale max ({scale_max}) must be above min ({scale_min})", "scale")
    labels = {}
    for key, text in (raw.get("labels") or {}).items():
        if isinstance(key, bool) or not isinstance(key, int) or not scale_min <= key <= scale_max:
            raise err(f"label key {key!r} is not a point of the scale {scale_min} to {scale_max}", "labels")
        labels[key] = text
    validation = dict(raw.get("validation") or {})
    allowed_rules = {"number": ("min", "max"), "multi_choice": ("min_choices", "max_choices"),
                     "text": ("min_length", "max_length")}.get(kind, ())
    for key in validation:
        if key != "message" and key not in allowed_rules:
            raise err(f"validation '{key}' does not apply to a {kind} question", "validation")
    for low, high in (("min", "max"), ("min_choices", "max_choices"), ("min_length", "max_length")):
        if low in validation and high in validation and validation[low] > validation[high]:
            raise err(f"validation {low} ({validation[low]}) is above {high} ({validation[high]})", "validation")
    if kind == "multi_choice" and validation.get("max_choices", 0) > len(choices):
        raise err(f"validation max_choices ({validation['max_choices']}) exceeds the {len(choices)} choices",
                  "validation")
    question = Question(
        id=qid, type=kind, text=raw["text"], help=raw["help"], source=raw["source"], section=section_id,
        line=raw.line, guidance=raw.get("guidance"), required=bool(raw.get("required", False)),
        allow_na=bool(raw.get("allow_na", False)), note=bool(raw.get("note", False)), choices=tuple(choices),
        ordered=bool(raw.get("ordered", False)), scale_min=scale_min, scale_max=scale_max, labels=labels,
        integer=bool(raw.get("integer", False)), unit=raw.get("unit"), validation=validation,
        when=plain(raw["when"]) if "when" in raw else None, maps_to=(), key_lines=dict(raw.key_lines))
    targets = tuple(_target(question, m, raw["maps_to"].line_of(i), path)
                    for i, m in enumerate(raw.get("maps_to") or []))
    return Question(**{**question.__dict__, "maps_to": targets})


def _target(question: Question, m: Mapping[str, Any], line: int, path) -> Target:
    def fail(message):
        return DataError(f"question '{question.id}': maps_to: {message}", path, line)

    kinds = [k for k in ("items", "consideration", "fact") if k in m]
    if len(kinds) != 1:
        raise fail("each entry needs exactly one of items, consideration or fact")

    kind = kinds[0]
    ids = tuple(m["items"]) if kind == "items" else (m[kind],)
    if_selected = m.get("if_selected")
    if if_selected is not None:
        if question.type != "multi_choice":
            raise fail("'if_selected' is only for multi_choice questions")
        if if_selected not in question.choice_values:
            raise fail(f"if_selected '{if_selected}' is not one of the choices ({', '.join(question.choice_values)})")
    elif question.type == "multi_choice":
        raise fail("a multi_choice question maps through 'if_selected: CHOICE'")
    status = value = None
    if kind == "fact":
        if "status" in m:
            raise fail("a fact takes 'value', not 'status'")
        if "value" in m:
            if if_selected is not None:
                raise fail("use either 'value' or 'if_selected', not both")
            value = {}
            for key, v in m["value"].items():
                key = _norm_key(key)
                _check_answer_key(question, key, fail)
                value[key] = plain(v)
        elif question.type == "status":
            raise fail("a status question sets a fact only through a 'value' mapping")
    else:
        if "value" in m:
            raise fail(f"{kind} take 'status', not 'value'")
        if "status" in m:
            if if_selected is not None:
                raise fail("use either 'status' or 'if_selected', not both")
            status = {}
            for key, v in m["status"].items():
                key = _norm_key(key)
                _check_answer_key(question, key, fail)
                status[key] = v
        elif question.type not in ("status", "multi_choice"):
            raise fail(f"a {question.type} question needs a 'status' mapping (answer -> status)")
    return Target(kind=kind, ids=ids, status=status, value=value, if_selected=if_selected, line=line)


def _check_answer_key(question: Question, key: Any, fail) -> None:
    if key in SPECIAL:
        return
    try:
        coerce_answer(question, key, check_rules=False)
    except ValueError as exc:
        raise fail(f"{key!r} is not an answer of this question: {exc}") from None


def _check_conditions(q: Questionnaire, data: LineDict, path) -> list[DataError]:
    """Conditions: well-formed, referring to known, earlier questions, no cycles, values that fit."""
    order = {qid: n for n, qid in enumerate(q.questions)}
    errors: list[DataError] = []
    depends: dict[str, set[str]] = {qid: set() for qid in q.questions}
    # (label, tree, line, index of the first question it governs, the questions it governs)
    checked: list[tuple[str, Any, int, int, tuple[str, ...]]] = []
    for sec_raw, sec in zip(data["sections"], q.sections):
        if sec.when is not None and sec.questions:
            checked.append((f"section '{sec.id}'", sec_raw["when"], sec_raw.line_of("when"),
                            order[sec.questions[0]], sec.questions))
        for raw in sec_raw["questions"]:
            if "when" in raw:
                checked.append((f"question '{raw['id']}'", raw["when"], raw.line_of("when"), order[raw["id"]],
                                (raw["id"],)))
    shaped = []
    for label, tree, line, first, governed in checked:
        try:
            conditions.check_shape(tree, line)
        except conditions.ConditionError as exc:
            errors.append(DataError(f"{label}: when: {exc.message}", path, exc.line or line))
            continue
        refs = conditions.references(tree)
        unknown = [r for r in refs if r not in order]
        if unknown:
            errors.append(DataError(f"{label}: when: refers to unknown question '{unknown[0]}'"
                                    f"{_near(unknown[0], order)}", path, line))
            continue
        shaped.append((label, tree, line, first, refs))
        for qid in governed:
            depends[qid].update(refs)
    if errors:
        return errors
    cycle = conditions.find_cycle(depends)
    if cycle:
        owner = cycle[0]
        return [DataError(f"question '{owner}': when: condition cycle {' -> '.join(cycle)}", path,
                          q.questions[owner].line_of("when"))]
    for label, tree, line, first, refs in shaped:
        later = [r for r in refs if order[r] >= first]
        if later:
            errors.append(DataError(f"{label}: when: refers to '{later[0]}', which is not asked before it "
                                    "(conditions may refer only to earlier questions)", path, line))
            continue
        try:
            conditions.check_operands(tree, lambda qid: q.questions[qid].operand(), line)
        except conditions.ConditionError as exc:
            errors.append(DataError(f"{label}: when: {exc.message}", path, exc.line or line))
    return errors


def check_references(q: Questionnaire, kb=None, fact_specs=None) -> list[DataError]:
    """Cross-checks against the knowledge base and the fact declarations."""
    errors: list[DataError] = []
    path = q.path
    for question in q.questions.values():
        if q.keyed_by == "checklist":
            if question.type != "status" or question.maps_to:
                errors.append(DataError(f"question '{question.id}': a questionnaire keyed by checklist has only "
                                        "status questions without maps_to", path, question.line))
            if kb is not None and question.id not in kb.items:
                errors.append(DataError(f"question '{question.id}': not a checklist action id{_near(question.id, kb.items)}",
                                        path, question.line))
        for target in question.maps_to:
            prefix = f"question '{question.id}': maps_to"
            if target.kind == "items" and kb is not None:
                for item in target.ids:
                    if item not in kb.items:
                        errors.append(DataError(f"{prefix}: unknown checklist action '{item}'{_near(item, kb.items)}",
                                                path, target.line))
                for key, status in (target.status or {}).items():
                    if status is not None and status not in STATUSES:
                        errors.append(DataError(f"{prefix}: status '{status}' is not one of {', '.join(STATUSES)}",
                                                path, target.line))
            elif target.kind == "consideration" and kb is not None:
                cid = target.ids[0]
                record = kb.records.get(cid)
                if record is None or record.kind != "consideration":
                    considerations = [r for r, rec in kb.records.items() if rec.kind == "consideration"]
                    errors.append(DataError(f"{prefix}: unknown facet consideration '{cid}'"
                                            f"{_near(cid, considerations)}", path, target.line))
            elif target.kind == "fact" and fact_specs is not None:
                errors.extend(_check_fact_target(question, target, fact_specs, path))
    return errors


def _near(word: str, known: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean '{found[0]}'?" if found else ""


def _check_fact_target(question: Question, target: Target, fact_specs, path) -> list[DataError]:
    name = target.ids[0]
    prefix = f"question '{question.id}': maps_to fact '{name}'"
    spec = fact_specs.get(name)
    if spec is None:
        return [DataError(f"question '{question.id}': maps_to: unknown fact '{name}'{_near(name, fact_specs)}",
                          path, target.line)]
    kind = spec["type"]
    if target.value is not None:
        out = []
        for key, value in target.value.items():
            try:
                check_fact(spec, name, value, path, target.line)
            except DataError as err:
                out.append(DataError(f"{prefix}: value for answer {key!r}: {err.message}", path, target.line))
        return out
    fits = {
        "yes_no": kind == "boolean",
        "multi_choice": kind == "boolean",
        "number": kind == "number" or (kind == "integer" and question.integer),
        "scale": kind in ("integer", "number"),
        "single_choice": kind == "string",
        "text": kind == "string" and not spec.get("choices"),
    }.get(question.type, False)
    if not fits:
        return [DataError(f"{prefix}: a {question.type}{' (decimal)' if question.type == 'number' and not question.integer else ''} "
                          f"answer cannot be a {kind} fact; add a 'value' mapping", path, target.line)]
    if question.type == "single_choice" and spec.get("choices"):
        bad = [v for v in question.choice_values if v not in spec["choices"]]
        if bad:
            return [DataError(f"{prefix}: choice '{bad[0]}' is not a value of the fact "
                              f"({', '.join(spec['choices'])})", path, target.line)]
    low = question.scale_min if question.type == "scale" else question.validation.get("min")
    high = question.scale_max if question.type == "scale" else question.validation.get("max")
    if "minimum" in spec and (low is None or low < spec["minimum"]):
        return [DataError(f"{prefix}: the fact is at least {spec['minimum']}; the question must not allow less "
                          f"(set validation min)", path, target.line)]
    if "maximum" in spec and (high is None or high > spec["maximum"]):
        return [DataError(f"{prefix}: the fact is at most {spec['maximum']}; the question must not allow more "
                          f"(set validation max)", path, target.line)]
    return []


# ---------------------------------------------------------------------------- answers

def _fmt_num(x: Any) -> str:
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
            raise ValueError(f"expected one of {', '.join(STATUSES)}")
        return status
    if kind == "yes_no":
        raw = _norm_key(raw)
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
        value = str(_norm_key(raw)) if not isinstance(raw, str) else raw
        if not value.strip():
            return None
    if check_rules:
        problem = rule_problem(question, value)
        if problem:
            raise ValueError(problem)
    return value


def _choice(question: Question, raw: Any) -> str | None:
    if isinstance(raw, bool) or raw is None:
        raw = _norm_key(raw)
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
            problem = f"must be at least {_fmt_num(v['min'])}"
        elif "max" in v and value > v["max"]:
            problem = f"must be at most {_fmt_num(v['max'])}"
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
                             + ", ".join(STATUS_LABELS[s] for s in STATUSES))
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


def read_answers(path: str | Path) -> tuple[AnswerFile, LineDict]:
    """An answers file and its parsed document (for header lines and rewriting)."""
    data = load_file(path)
    return read_answer_file(path, data), data


def _header_line(data: Any, key: str) -> int:
    return data.line_of(key) if isinstance(data, LineDict) and key in data else 1


def canonical_answers(q: Questionnaire, af: AnswerFile) -> tuple[dict[str, Any], list[DataError]]:
    """Every answer of the file made canonical, in questionnaire order, and the problems found."""
    out, errors = {}, []
    for qid, raw in af.answers.items():
        if qid not in q.questions:
            errors.append(DataError(f"answer '{qid}': no such question in '{q.id}'{_near(qid, q.questions)}",
                                    af.path, af.line_of(qid)))
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
    errors = []
    if af.questionnaire != q.id:
        errors.append(DataError(f"these answers are for questionnaire '{af.questionnaire}', not '{q.id}'",
                                af.path, _header_line(data, "questionnaire")))
        return errors
    answers, problems = canonical_answers(q, af)
    errors.extend(problems)
    if fact_specs is not None:
        for name, value in af.facts.items():
            line = af.fact_lines.get(name)
            if name not in fact_specs:
                errors.append(DataError(f"unknown fact '{name}'{_near(name, fact_specs)}", af.path, line))
            elif value is not None:
                try:
                    check_fact(fact_specs[name], name, value, af.path, line)
                except DataError as err:
                    errors.append(err)
    if complete:
        for question in visible_questions(q, answers):
            if question.required and answers.get(question.id) in (None, "dont_know"):
                errors.append(DataError(f"question '{question.id}' is required and not answered",
                                        af.path, af.line_of(question.id) or _header_line(data, "answers")))
    return sorted(errors, key=lambda e: e.line or 0)


# ---------------------------------------------------------------------------- writing files

def _comment(text: str, indent: str, inner: str = "", width: int = 92) -> list[str]:
    """Text as comment lines at ``indent``, wrapped, each line's text starting after ``inner``."""
    lines = []
    for para in str(text).strip().split("\n"):
        wrapped = textwrap.wrap(para, width - len(indent) - 2 - len(inner)) or [""]
        lines.extend(f"{indent}# {inner}{w}".rstrip() for w in wrapped)
    return lines


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
        bounds = [f"at least {_fmt_num(question.validation['min'])}"] if "min" in question.validation else []
        bounds += [f"at most {_fmt_num(question.validation['max'])}"] if "max" in question.validation else []
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


# ---------------------------------------------------------------------------- evidence

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


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "+".join(value) if value else "none"
    return _fmt_num(value) if isinstance(value, float) else str(value)


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
            return (f"{qid}={_show(answers[qid])}",)
        return tuple(f"{qid}={_show(r.answers[qid])} ({r.file})" for r in respondents if qid in r.answers)

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
            f"facts.{name}={_show(r.facts[name])}" + (f" ({r.file})" if several else "")
            for r in respondents if name in r.facts)
        if value in SPECIAL:  # respondents split evenly on a yes/no or text fact
            if name not in facts:
                unknown_facts[name] = value
            continue
        if name in fact_question and facts[name] != value:
            holder = next(r for r in respondents if name in r.facts)
            raise DataError(f"fact '{name}' is given here ({_show(value)}) and by question "
                            f"'{fact_question[name]}' ({_show(facts[name])}); keep one",
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
    docs = [read_answers(p) for p in paths]
    first, first_data = docs[0]
    for af, data in docs[1:]:
        if af.questionnaire != first.questionnaire:
            raise DataError(f"answers are for questionnaire '{af.questionnaire}', but {display_path(first.path)} "
                            f"answers '{first.questionnaire}'; combine answers of one questionnaire only",
                            af.path, _header_line(data, "questionnaire"))
    labels = [af.respondent or Path(af.path).stem for af, _ in docs]
    dupes = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dupes and len(docs) > 1:
        af, data = docs[labels.index(dupes[0], labels.index(dupes[0]) + 1)]
        raise DataError(f"respondent '{dupes[0]}' appears in two answers files; give each file its own "
                        "'respondent:'", af.path, _header_line(data, "respondent"))
    if questionnaire is None:
        try:
            questionnaire = load(first.questionnaire, root=root)
        except DataError as err:
            if err.path is None:
                raise DataError(err.message, first.path, _header_line(first_data, "questionnaire")) from None
            raise
    errors = check_references(questionnaire, kb, fact_specs)
    if errors:
        raise errors[0]
    respondents = [_respondent(questionnaire, af, fact_specs, data) for af, data in docs]
    evidence = _evidence(questionnaire, respondents, fact_specs)
    gaps = perception_gaps(questionnaire, respondents) if len(respondents) > 1 else []
    return evidence, gaps
