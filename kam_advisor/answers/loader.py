"""Loading questionnaires: finding the files, the schema, and the checks a schema cannot make.

After the schema (``kam_advisor/schemas/questionnaire.yaml``): conditions refer only to
earlier questions, no cycles, answer mappings fit the question type, and references to the
knowledge base and to ``rules/facts.yaml`` exist. Each problem is ``file:line: message``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from kam_advisor.answers import conditions
from kam_advisor.data import cache, schema
from kam_advisor.answers.coerce import coerce_answer
from kam_advisor.answers.files import check_fact
from kam_advisor.data.errors import DataError, DataErrors
from kam_advisor.data.paths import data_dir
from kam_advisor.answers.questionnaire import TYPES, Choice, Question, Questionnaire, Section, Target
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.vocab import SPECIAL, STATUSES
from kam_advisor.data.yamlio import LineDict, load_file, plain, word_for_boolean


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
        hint = did_you_mean(text, known) or f" (available: {', '.join(known) or 'none'})"
        raise DataError(f"unknown questionnaire '{text}'{hint}")
    return path


def builtin(qid: str, root: str | Path | None = None) -> Path:
    """A questionnaire named by id in an answers file: only the built-in folder's files, never a path."""
    folder = Path(root) if root else questionnaire_dir()
    known = names(root)
    if qid not in known:
        hint = did_you_mean(qid, known) or f" (available: {', '.join(known) or 'none'})"
        raise DataError(f"unknown questionnaire '{qid}'{hint}")
    return folder / f"{qid}.yaml"


def list_questionnaires(root: str | Path | None = None, kb=None, fact_specs=None) -> list[Questionnaire]:
    """Every built-in questionnaire, loaded and checked, sorted by id."""
    folder = Path(root) if root else questionnaire_dir()
    return [load(folder / f"{n}.yaml", kb=kb, fact_specs=fact_specs, root=folder) for n in names(folder)]


_LOADED: dict[tuple, Questionnaire] = {}


def load_cached(name_or_path: str | Path, root: str | Path | None = None) -> Questionnaire:
    """:func:`load` (without the reference checks) once per process for an unchanged file, and
    from the on-disk cache when the same file was checked before."""
    path = resolve(name_or_path, root)
    try:
        st = path.stat()
    except OSError:
        return load(path, root=root)  # reports the problem
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, str(root))
    if key not in _LOADED:
        _LOADED[key] = cache.cached("questionnaire", [path], lambda: load(path, root=root), extra=str(root))
    return _LOADED[key]


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
    if data.get("kind") != "questionnaire":
        raise DataError(f"not a questionnaire: expected 'kind: questionnaire' (got {data.get('kind')!r})"[:200],
                        path, data.line_of("kind") if "kind" in data else data.line)
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
                      id_line=data.line_of("id"), produces=data.get("produces", "programme"))
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
                    arg[1][:] = [word_for_boolean(v) for v in arg[1]]
                else:
                    arg[1] = word_for_boolean(arg[1])
            else:
                _words_for_booleans(arg)
    elif isinstance(tree, list):
        for sub in tree:
            _words_for_booleans(sub)


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
                key = word_for_boolean(key)
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
                key = word_for_boolean(key)
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
                                    f"{did_you_mean(unknown[0], order)}", path, line))
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
                errors.append(DataError(f"question '{question.id}': not a checklist action id{did_you_mean(question.id, kb.items)}",
                                        path, question.line))
        for target in question.maps_to:
            prefix = f"question '{question.id}': maps_to"
            if target.kind == "items" and kb is not None:
                for item in target.ids:
                    if item not in kb.items:
                        errors.append(DataError(f"{prefix}: unknown checklist action '{item}'{did_you_mean(item, kb.items)}",
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
                                            f"{did_you_mean(cid, considerations)}", path, target.line))
            elif target.kind == "fact" and fact_specs is not None:
                errors.extend(_check_fact_target(question, target, fact_specs, path))
    return errors


def _check_fact_target(question: Question, target: Target, fact_specs, path) -> list[DataError]:
    name = target.ids[0]
    prefix = f"question '{question.id}': maps_to fact '{name}'"
    spec = fact_specs.get(name)
    if spec is None:
        return [DataError(f"question '{question.id}': maps_to: unknown fact '{name}'{did_you_mean(name, fact_specs)}",
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
