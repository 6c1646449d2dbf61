"""The types of the rules' fact fields (rules/types.yaml): resolved once, and the values rules test
and emit checked against them.

A field has a base type (text, number, integer, boolean, list, any), maybe closed to a set of
values; a domain of the types file names such a type, its values listed or taken from the data
(knowledge-base stages, topics, ... records of a kind; the named facts of rules/facts.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import LineDict

BASE_TYPES = ("text", "number", "integer", "boolean", "list", "any")
_NUMERIC = ("number", "integer")
_LISTED = 8  # allowed values shown in a message; more are counted instead


@dataclass(frozen=True)
class FieldType:
    name: str  # the declared type: a base type or a domain
    base: str
    values: tuple | None = None  # the allowed values in declared order; None when open
    nullable: bool = False

    def describe(self) -> str:
        if self.values is None:
            return self.name
        if len(self.values) <= _LISTED:
            return f"one of {', '.join(str(v) for v in self.values)}"
        return f"one of the {len(self.values)} values of {self.name}"


def _sources(kb, facts) -> dict[str, Callable[[], list] | None]:
    """Where a domain's values come from; None when the data to read them is not loaded."""
    def from_kb(get):
        return None if kb is None else (lambda: list(get(kb)))
    return {"stages": from_kb(lambda k: k.stage_ids), "topics": from_kb(lambda k: k.topics),
            "areas": from_kb(lambda k: k.areas), "dimensions": from_kb(lambda k: k.dimensions),
            "facets": from_kb(lambda k: k.facets), "items": from_kb(lambda k: k.items),
            "facts": lambda: list(facts)}


def _records(kb, kind: str) -> list | None:
    return None if kb is None else [r.id for r in kb.records.values() if r.kind == kind]


def resolve(doc: LineDict | None, path, kb, facts: Mapping[str, Any]) -> tuple[dict, list[DataError]]:
    """{(type id, field): FieldType} for every declared field of the types file ``doc``."""
    errors: list[DataError] = []
    if doc is None:
        return {}, errors
    sources = _sources(kb, facts)
    domains: dict[str, FieldType] = {}
    raw_domains = doc.get("domains") or {}
    for name, spec in raw_domains.items():
        values: list | None = []
        froms = spec.get("from")
        for source in ([froms] if isinstance(froms, str) else froms or []):
            if source not in sources and not source.startswith("records:"):
                errors.append(DataError(f"domain '{name}': unknown source '{source}'{did_you_mean(source, sources)} "
                                        f"(sources: {', '.join(sources)} or records:KIND)", path,
                                        spec.line_of("from") if isinstance(spec, LineDict) else None))
                values = None
                break
            got = _records(kb, source.split(":", 1)[1]) if source.startswith("records:") else \
                (sources[source]() if sources[source] is not None else None)
            if got is None:
                values = None  # the data is not loaded: the domain stays open
                break
            if kb is not None and not got:
                kinds = sorted({f"records:{r.kind}" for r in kb.records.values()})
                errors.append(DataError(f"domain '{name}': '{source}' gives no values"
                                        f"{did_you_mean(source, kinds) if source.startswith('records:') else ''}",
                                        path, spec.line_of("from") if isinstance(spec, LineDict) else None))
                values = None  # reported here once; the domain stays open
                break
            prefix = spec.get("prefix", "")
            values.extend(v[len(prefix):] if prefix and str(v).startswith(prefix) else v for v in got)
        if values is not None:
            values.extend(spec.get("values") or [])  # listed after the data's: `none`, `programme`
        closed = values is not None and ("values" in spec or froms)
        domains[name] = FieldType(name, spec["type"], tuple(values) if closed else None)
    out: dict[tuple[str, str], FieldType] = {}
    for t in doc.get("types") or []:
        for fname, spec in (t.get("fields") or {}).items():
            where = t["fields"].line_of(fname) if isinstance(t["fields"], LineDict) else None
            tname = spec["type"]
            if tname in BASE_TYPES:
                ftype = FieldType(tname, tname)
            elif tname in domains:
                ftype = domains[tname]
            else:
                errors.append(DataError(f"type '{t['id']}', field '{fname}': unknown type '{tname}'"
                                        f"{did_you_mean(tname, list(BASE_TYPES) + list(domains))} (types: "
                                        f"{', '.join(BASE_TYPES)} or a domain: {', '.join(domains)})", path, where))
                continue
            if "values" in spec:
                values = tuple(spec["values"])
                outside = [v for v in values if ftype.values is not None and v not in ftype.values]
                if outside:  # reported here once; the field keeps its type's values
                    errors.append(DataError(f"type '{t['id']}', field '{fname}': value '{outside[0]}' is not "
                                            f"{ftype.describe()}{did_you_mean(str(outside[0]), map(str, ftype.values))}",
                                            path, where))
                else:
                    ftype = FieldType(tname, ftype.base, values)
            if spec.get("nullable"):
                ftype = FieldType(ftype.name, ftype.base, ftype.values, True)
            out[(t["id"], fname)] = ftype
    return out, errors


_FACT_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean", "string": "text"}


def of_fact(name: str, spec: Mapping[str, Any]) -> FieldType:
    """The type of a named fact's value, as rules/facts.yaml declares it."""
    choices = spec.get("choices")
    base = _FACT_TYPES.get(spec.get("type"), "any")
    return FieldType(base, base, tuple(choices) if choices else None)


def never(op: str, bound, spec: Mapping[str, Any]) -> str | None:
    """Why comparing a named fact's value ``op`` ``bound`` never holds within its declared range."""
    if isinstance(bound, bool) or not isinstance(bound, (int, float)):
        return None
    low, high = spec.get("minimum"), spec.get("maximum")
    if high is not None and ((op == "gt" and bound >= high) or (op == "gte" and bound > high)):
        return f"never holds: the fact is at most {high:g} (rules/facts.yaml)"
    if low is not None and ((op == "lt" and bound <= low) or (op == "lte" and bound < low)):
        return f"never holds: the fact is at least {low:g} (rules/facts.yaml)"
    return None


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def show(value) -> str:
    """A value as the rules file spells it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"'{value}'" if isinstance(value, str) else repr(value)


def a_kind(value) -> str:
    kind = _kind(value)
    return {"text": "text", "integer": "an integer", "number": "a number", "boolean": "a boolean",
            "list": "a list"}.get(kind, kind)


def misfit(value, ftype: FieldType) -> str | None:
    """Why ``value`` is never a value of a field of type ``ftype``, to follow the value shown (None
    when it may be one)."""
    if value is None:
        return None if ftype.nullable or ftype.base == "any" else "but the field is never null"
    if ftype.base == "any":
        return None
    kind = _kind(value)
    if not (kind == ftype.base or (ftype.base == "number" and kind == "integer")):
        return f"{a_kind(value)}, but the field is {base_phrase(ftype)}"
    if ftype.values is not None and value not in ftype.values:
        return f"which is not {ftype.describe()}{did_you_mean(str(value), [str(v) for v in ftype.values])}"
    return None


def base_phrase(ftype: FieldType) -> str:
    base = {"text": "text", "number": "a number", "integer": "an integer", "boolean": "a boolean (true or false)",
            "list": "a list", "any": "anything"}[ftype.base]
    return base if ftype.name == ftype.base else f"{ftype.name} ({base})"


def numeric(ftype: FieldType) -> bool:
    return ftype.base in _NUMERIC or ftype.base == "any"


def compatible(src: FieldType, dst: FieldType, every: bool = True) -> str | None:
    """Why a value of type ``src`` is not always (``every``) or never (not ``every``) a value of
    ``dst``; None when it fits."""
    if "any" in (src.base, dst.base):
        return None
    if src.base != dst.base and not (src.base in _NUMERIC and dst.base in _NUMERIC):
        return f"which is {base_phrase(src)}, but the field is {base_phrase(dst)}"
    if src.values is not None and dst.values is not None:
        outside = [v for v in src.values if v not in dst.values]
        if not every and len(outside) == len(src.values):
            return f"which is {src.describe()}, never {dst.describe()}"
        if every and outside:
            return f"which may be {show(outside[0])}, not {dst.describe()}"
    return None
