"""Validation of data files against the JSON Schemas in ``kam_advisor/schemas/``.

Each data file names its ``kind``; the schema of that kind (JSON Schema 2020-12, written in
YAML) says which fields a record has, their types and allowed values. Two annotations of our
own tie records together:

- ``x-kind: NAME`` on an object schema: objects there are records of kind NAME whose ``id``
  goes into the knowledge base's id index (ids must be unique across the whole base);
- ``x-ref: NAME`` on a string schema: the value must be the id of a record of kind NAME.

Errors come out as one line each: ``file:line: <kind> '<id>': <field> <what was expected>``.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterator

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import LineDict, LineList, load_file, parse_yaml, plain


@functools.lru_cache(maxsize=None)
def load_schema(kind: str) -> dict:
    """The schema of a data kind, as plain data."""
    ref = resources.files("kam_advisor.data") / "schemas" / f"{kind}.yaml"
    if not ref.is_file():
        raise KeyError(kind)
    return plain(parse_yaml(ref.read_text(encoding="utf-8"), str(ref)))


def schema_kinds() -> list[str]:
    folder = resources.files("kam_advisor.data") / "schemas"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_documents(files, kinds: list[str] | tuple[str, ...]) -> tuple[list[tuple[Any, str, Any]], list[DataError]]:
    """Parse every file and read its kind, which must be one of `kinds`: (path, kind, data) per
    good file, and the problems, collected rather than raised."""
    docs, errors = [], []
    for path in files:
        try:
            data = load_file(path)
        except DataError as err:
            errors.append(err)
            continue
        if not isinstance(data, LineDict):
            errors.append(DataError("expected a mapping with a 'kind' field at the top", path, 1))
            continue
        kind = data.get("kind")
        if kind not in kinds:
            errors.append(DataError(f"kind must be one of {', '.join(kinds)} (got {kind!r})", path,
                                    data.line_of("kind") if "kind" in data else 1))
            continue
        docs.append((path, str(kind), data))
    return docs, errors


@dataclass
class IdEntry:
    kind: str
    path: Any
    line: int
    record: dict


@dataclass
class IdIndex:
    """Every record with an id, across all files validated with this index."""

    entries: dict[str, IdEntry] = field(default_factory=dict)
    duplicates: list[DataError] = field(default_factory=list)

    def add(self, kind: str, record: dict, path) -> None:
        rid = record.get("id")
        if not isinstance(rid, str):
            return
        line = record.line_of("id") if isinstance(record, LineDict) else 0
        previous = self.entries.get(rid)
        if previous is not None:
            self.duplicates.append(DataError(
                f"{kind} '{rid}': duplicate id (first defined at "
                f"{DataError('', previous.path, previous.line).format()[:-2]})", path, line))
            return
        self.entries[rid] = IdEntry(kind, path, line, record)

    def kind_of(self, rid: str) -> str | None:
        entry = self.entries.get(rid)
        return entry.kind if entry else None


class _State(threading.local):
    id_index: "IdIndex | None" = None
    collect = None


_STATE = _State()


def _validator_class():
    import jsonschema
    from jsonschema import validators

    def x_ref(validator, kind, instance, schema):
        index = _STATE.id_index
        if index is None or not isinstance(instance, str):
            return
        found = index.kind_of(instance)
        if found != kind:
            what = f"is a {found}, not a {kind}" if found else "does not exist"
            yield jsonschema.ValidationError(f"refers to {kind} '{instance}', which {what}")

    def x_kind(validator, kind, instance, schema):
        collect = _STATE.collect
        if collect is not None and isinstance(instance, dict):
            collect(kind, instance)
        return iter(())

    return validators.extend(jsonschema.Draft202012Validator, {"x-ref": x_ref, "x-kind": x_kind})


@functools.lru_cache(maxsize=None)
def _compiled(kind: str):
    cls = _validator_class()
    schema = load_schema(kind)
    cls.check_schema(schema)
    return cls(schema)


def collect_ids(kind: str, data: Any, path, index: IdIndex) -> None:
    """First pass: register every record of the file in the id index."""
    validator = _compiled(kind)
    found: list[tuple[str, dict]] = []
    _STATE.collect = lambda k, inst: found.append((k, inst))
    try:
        for _ in validator.iter_errors(data):
            pass
    finally:
        _STATE.collect = None
    for record_kind, record in found:
        index.add(record_kind, record, path)


def validate(kind: str, data: Any, path, index: IdIndex | None = None) -> list[DataError]:
    """Second pass: schema and references. Returns the problems, sorted by line."""
    validator = _compiled(kind)
    _STATE.id_index = index
    kinds: dict[int, str] = {}
    _STATE.collect = lambda k, inst: kinds.setdefault(id(inst), k)
    try:
        raw = list(validator.iter_errors(data))
    finally:
        _STATE.id_index = None
        _STATE.collect = None
    errors = [_format(err, data, path, kinds) for err in raw]
    unique = {(e.line or 0, e.message): e for e in errors}
    return [unique[k] for k in sorted(unique)]


def _walk(data: Any, path_elems) -> Iterator[tuple[Any, Any, int]]:
    """Yield (container, key, line) for each step of a jsonschema path."""
    node = data
    for key in path_elems:
        if isinstance(node, LineDict) and key in node:
            yield node, key, node.line_of(key)
        elif isinstance(node, LineList) and isinstance(key, int) and key < len(node):
            yield node, key, node.line_of(key)
        else:
            return
        node = node[key]


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if value is None:
        return "nothing"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number",
               "boolean": "true or false", "object": "a mapping", "array": "a list", "null": "empty"}


def _format(err, data, path, kinds: dict[int, str]) -> DataError:
    steps = list(_walk(data, list(err.absolute_path)))
    line = steps[-1][2] if steps else getattr(data, "line", 0)
    node = steps[-1][0][steps[-1][1]] if steps else data
    if isinstance(node, (LineDict, LineList)) and not steps:
        line = node.line
    # nearest enclosing record with an id names the record
    record_label = None
    containers = [data] + [c[k] for c, k, _ in steps]
    for container in reversed(containers):
        if isinstance(container, dict) and isinstance(container.get("id"), str):
            record_label = f"{kinds.get(id(container), 'record')} '{container['id']}'"
            break
    field_name = next((str(k) for k in reversed(list(err.absolute_path)) if isinstance(k, str)), None)
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        message = f"missing required field '{missing}'"
        field_name = None
        if isinstance(node, LineDict):
            line = node.line
    elif v == "additionalProperties":
        extras = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        message = f"unknown field '{extras[0]}'" if extras else err.message
        if extras and isinstance(node, LineDict):
            line = node.line_of(extras[0])
        field_name = None
    elif v == "enum":
        allowed = ", ".join(str(x) for x in err.validator_value)
        message = f"must be one of {allowed} (got {_describe(err.instance)})"
        if err.schema.get("x-suggest") and isinstance(err.instance, str):
            message += did_you_mean(err.instance, [str(x) for x in err.validator_value])
    elif v == "const":
        message = f"must be {err.validator_value!r} (got {_describe(err.instance)})"
    elif v == "type":
        types = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        message = "must be " + " or ".join(_TYPE_NAMES.get(t, t) for t in types) + f" (got {_describe(err.instance)})"
    elif v == "pattern":
        hint = err.schema.get("x-pattern-hint", f"match {err.validator_value}")
        message = f"must be {hint} (got {_describe(err.instance)})"
    elif v in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum"):
        word = {"minItems": "at least {} entries", "maxItems": "at most {} entries",
                "minLength": "at least {} characters", "maxLength": "at most {} characters",
                "minimum": "at least {}", "maximum": "at most {}"}[v].format(err.validator_value)
        message = f"must be {word} (got {_describe(err.instance) if v in ('minimum', 'maximum') else len(err.instance)})"
    elif v == "uniqueItems":
        message = "must not repeat entries"
    else:
        message = err.message
    prefix = f"{record_label}: " if record_label else ""
    if field_name:
        message = f"{field_name} {message}"
    return DataError(f"{prefix}{message}", path, line)
