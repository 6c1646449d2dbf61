"""Rules as data: loading and validation of ``rules/*.yaml`` (compiled for the engine in reasoning).

A rule says *when* (facts to join, each a pattern of field tests) and *then* (the record it
produces: type, id, fields, the facts it rests on, a readable reason). Thresholds and weights
are ``params`` of the rules file. Every fact type and field a rule reads or writes must be
declared in the folder's ``kind: types`` file (rules/types.yaml), every value it tests or emits
of the field's declared type (:mod:`kam_advisor.data.ruletypes`), and every named fact it tests
in the ``kind: facts`` file. This module checks all of it on load (file:line errors);
:mod:`kam_advisor.reasoning.compile` turns it into durable-rules' conditions and actions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kam_advisor.data import cache, ruletypes, schema
from kam_advisor.data.template import PLACEHOLDER as _PLACEHOLDER, Template
from kam_advisor.data.errors import DataError, DataErrors
from kam_advisor.data.paths import data_dir
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import LineDict, LineList, load_file, plain

RULES_KINDS = ("rules", "facts", "types")  # the kinds of file a rules folder holds


@dataclass(frozen=True)
class RuleSpec:
    id: str
    title: str
    source: str
    description: str
    file: str
    line: int
    when: tuple
    then: Mapping[str, Any]
    kb_ref: str | None = None


@dataclass
class RuleBase:
    """All rules, params, named-fact and fact-type declarations."""

    rules: dict[str, RuleSpec]
    params: dict[str, Any]
    facts: dict[str, Mapping[str, Any]]
    types: dict[str, Mapping[str, Any]]
    consumed_types: frozenset[str]
    field_types: dict = field(default_factory=dict)  # {(type, field): ruletypes.FieldType}
    fingerprint: str = ""  # a hash of everything that changes what the rules do
    files: list[str] = field(default_factory=list)
    method: list[str] = field(default_factory=list)  # paragraphs, parameters filled in

    def param(self, name: str) -> Any:
        return self.params[name]


def default_root() -> Path:
    return data_dir("rules")


def load(root: str | Path | None = None, kb=None) -> RuleBase:
    """Load, validate and compile every rules file in ``root``."""
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        raise DataError("rules folder not found", root)
    files = sorted(p for p in root.glob("*.yaml"))
    docs, errors = schema.read_documents(files, RULES_KINDS)
    index = schema.IdIndex()
    for path, kind, data in docs:
        schema.collect_ids(kind, data, path, index)
    for path, kind, data in docs:
        errors.extend(schema.validate(kind, data, path, index))
    errors.extend(index.duplicates)
    if errors:
        raise DataErrors(errors)

    params, param_lines, facts, types, specs = {}, {}, {}, {}, {}
    method_parts: list[tuple] = []
    types_doc = None
    for path, kind, data in docs:
        if kind == "facts":
            for f in data["facts"]:
                facts[f["id"]] = plain(f)
            continue
        if kind == "types":
            types_doc = (data, path)
            for t in data["types"]:
                types[t["id"]] = plain(t)
            continue
        for name, p in (data.get("params") or {}).items():
            if name in params:
                errors.append(DataError(f"param '{name}' is defined twice (also in {param_lines[name]})",
                                        path, data["params"].line_of(name)))
            params[name] = plain(p["value"])
            param_lines[name] = path.name
        if "method" in data:
            method_parts.append((data["method"]["position"], path.name, path, data["method"]))
        for r in data["rules"]:
            specs[r["id"]] = RuleSpec(
                id=r["id"], title=r["title"], source=r["source"], description=r.get("description", ""),
                file=str(path), line=r.line, when=tuple((next(iter(w)), w[next(iter(w))]) for w in r["when"]),
                then=r["then"], kb_ref=r.get("kb_ref"))
    consumed = frozenset(str(pattern["type"]) for spec in specs.values() for _, pattern in spec.when)
    if not types:
        errors.append(DataError("no fact types declared: expected a 'kind: types' file (rules/types.yaml)", root))
    field_types, type_errors = ruletypes.resolve(*(types_doc or (None, None)), kb, facts)
    errors.extend(type_errors)
    for spec in specs.values():
        errors.extend(_check_rule(spec, params, kb))
        if types:
            errors.extend(check_contract(spec, types, facts, field_types, params))
    method = _method(sorted(method_parts, key=lambda m: m[:2]), params, errors)
    if errors:
        raise DataErrors(errors)
    fingerprint = json.dumps([[plain(s.when), plain(s.then), s.id] for s in specs.values()] + [params],
                             sort_keys=True, default=str)
    return RuleBase(rules=specs, params=params, facts=facts, types=types, consumed_types=consumed,
                    field_types=field_types, files=[str(p) for p in files], method=method, fingerprint=fingerprint)


def load_cached(root: str | Path | None = None, kb=None) -> RuleBase:
    """:func:`load`, from the on-disk cache when the same rules were validated before against the
    same knowledge base."""
    root = Path(root) if root is not None else default_root()
    files = sorted(root.glob("*.yaml")) if root.is_dir() else []
    context = f"{root.resolve()}\0{kb.root if kb is not None else ''}\0{kb.digest if kb is not None else ''}"
    return cache.cached("rules", files, lambda: load(root, kb), extra=context)


def _method(parts, params: Mapping[str, Any], errors: list[DataError]) -> list[str]:
    """The method paragraphs of every rules file in order, with the parameters filled in."""
    frame = {name: {"id": value} for name, value in params.items()}
    out = []
    for _, _, path, method in parts:
        node = method["paragraphs"]
        for n, text in enumerate(node):
            unknown = [m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1) not in params or m.group(2)]
            if unknown:
                errors.append(DataError(f"method paragraph {n + 1}: unknown param '{unknown[0]}' "
                                        "(placeholders name a parameter: {name} or {name:format})",
                                        path, node.line_of(n) if isinstance(node, LineList) else method.line))
                continue
            out.append(Template(text).fill(frame))
    return out


def _check_rule(spec: RuleSpec, params: Mapping[str, Any], kb) -> list[DataError]:
    """Cross-checks the schema cannot express: params exist, refs name earlier aliases."""
    errors = []
    seen: list[str] = []

    def where(node, key=None):
        return node.line_of(key) if isinstance(node, LineDict) and key is not None else getattr(node, "line", spec.line)

    def check_value(value, node, key):
        if isinstance(value, dict) and "param" in value and value["param"] not in params:
            errors.append(DataError(f"rule '{spec.id}': unknown param '{value['param']}'", spec.file, where(node, key)))
        for op in ("mul", "add"):
            factor = value.get(op) if isinstance(value, dict) else None
            if isinstance(factor, dict) and factor.get("param") not in params:
                errors.append(DataError(f"rule '{spec.id}': unknown param '{factor.get('param')}'", spec.file,
                                        where(node, key)))
        if isinstance(value, dict) and "ref" in value:
            alias = value["ref"].split(".")[0]
            if alias not in seen and alias != "each":
                errors.append(DataError(f"rule '{spec.id}': ref '{value['ref']}' must name an alias matched "
                                        f"earlier in `when` (have: {', '.join(seen) or 'none'})",
                                        spec.file, where(node, key)))

    for alias, pattern in spec.when:
        refs = [f for f, t in pattern.items() if isinstance(t, dict) and ("ref" in t or any(
            isinstance(v, dict) and "ref" in v for v in t.values()))]
        ors = [f for f, t in pattern.items() if f == "any_of" or (isinstance(t, dict) and isinstance(t.get("in"), list))]
        if refs and ors:
            # durable-rules evaluates such a pattern wrongly (the reference test is lost): seen in
            # lag rules that fired for units level with the programme
            errors.append(DataError(f"rule '{spec.id}': pattern '{alias}' mixes alternatives ({ors[0]}) with a "
                                    f"reference to another fact ({refs[0]}), which durable-rules evaluates "
                                    "wrongly; write one rule per alternative", spec.file, where(pattern, ors[0])))
        if alias in seen:
            errors.append(DataError(f"rule '{spec.id}': alias '{alias}' used twice", spec.file, spec.line))
        for fname, test in pattern.items():
            groups = test if fname == "any_of" else [{fname: test}]
            for group in groups:
                for gname, gtest in group.items():
                    tests = gtest.items() if isinstance(gtest, dict) and not ({"param", "ref"} & set(gtest)) \
                        else [("eq", gtest)]
                    for _, v in tests:
                        check_value(v, group, gname)
        seen.append(alias)
    then = spec.then
    aliases = set(seen) | ({"each"} if then.get("for_each") else set())
    for name, v in (then.get("fields") or {}).items():
        check_value(v, then["fields"], name)
    if then.get("for_each") and then["for_each"].split(".")[0] not in seen:
        errors.append(DataError(f"rule '{spec.id}': for_each '{then['for_each']}' must name a matched alias",
                                spec.file, where(then, "for_each")))
    for key in ("id", "text", "advice", "action"):
        for m in _PLACEHOLDER.finditer(str(then.get(key, ""))):
            if m.group(1) == "param" and m.group(2) not in params:
                errors.append(DataError(f"rule '{spec.id}': unknown param '{m.group(2)}' in {key}", spec.file,
                                        where(then, key)))
            if m.group(1) not in aliases and m.group(1) not in ("param",):
                errors.append(DataError(f"rule '{spec.id}': placeholder '{{{m.group(0)[1:-1]}}}' in {key} names "
                                        f"no alias", spec.file, where(then, key)))
    for b in then["because"]:
        if "{" not in b and b not in aliases:
            errors.append(DataError(f"rule '{spec.id}': because entry '{b}' is not an alias of this rule",
                                    spec.file, where(then, "because")))
    if kb is not None and spec.kb_ref and spec.kb_ref not in kb.records:
        errors.append(DataError(f"rule '{spec.id}': kb_ref '{spec.kb_ref}' is not a knowledge-base record",
                                spec.file, spec.line))
    return errors


def _record_id_pattern(shape: str) -> re.Pattern:
    """A declared `record_id` as a regex over rule id templates: {x} is one placeholder, * any text."""
    out = []
    for part in re.split(r"(\{[^}]*\}|\*)", shape):
        out.append(r"\{[^}]+\}" if part.startswith("{") else ".*" if part == "*" else re.escape(part))
    return re.compile("".join(out) + r"\Z")


def check_contract(spec: RuleSpec, types: Mapping[str, Mapping[str, Any]], facts: Mapping[str, Any],
                   field_types: Mapping[tuple[str, str], ruletypes.FieldType] | None = None,
                   params: Mapping[str, Any] | None = None) -> list[DataError]:
    """Every fact type and field the rule reads or writes is declared in the `kind: types` file,
    every named fact it tests is declared in the `kind: facts` file, and every value it tests a
    field against or emits is of the field's declared type (``field_types``)."""
    errors: list[DataError] = []
    alias_type: dict[str, str] = {}
    field_types = field_types or {}
    params = params or {}

    narrowed: dict[tuple[str, str], tuple] = {}  # (alias, field) -> the values its pattern lets through

    def type_of_ref(ref: str) -> ruletypes.FieldType | None:
        alias, _, fname = ref.partition(".")
        if fname == "id" and alias in alias_type:
            return ruletypes.FieldType("text", "text")
        ftype = field_types.get((alias_type.get(alias, ""), fname))
        if ftype is not None and (alias, fname) in narrowed:
            ftype = ruletypes.FieldType(ftype.name, ftype.base, narrowed[(alias, fname)], False)
        return ftype

    def narrow(alias: str, rtype: str, fname: str, test) -> None:
        if not isinstance(test, dict):
            values = [test]
        elif isinstance(test.get("eq"), (str, int, float, bool)):
            values = [test["eq"]]
        elif isinstance(test.get("in"), list):
            values = test["in"]
        else:
            return
        ftype = field_types.get((rtype, fname))
        values = [v for v in values if ftype is not None and ruletypes.misfit(v, ftype) is None]
        if values:  # a value outside the type is reported once, where it is tested
            narrowed[(alias, fname)] = tuple(values)

    def fits(value, ftype, what: str, node, key, every: bool = True) -> None:
        """``what`` ('cell.level is tested against', 'emits cell_met.status') takes ``value``."""
        if isinstance(value, dict) and "ref" in value:
            src = type_of_ref(str(value["ref"]))
            if src is None:
                return
            if ("mul" in value or "add" in value) and not ruletypes.numeric(src):
                fail(f"{what} ref '{value['ref']}' with add/mul, but '{value['ref']}' is "
                     f"{ruletypes.base_phrase(src)}, not a number", node, key)
                return
            reason = ruletypes.compatible(src, ftype, every)
            if reason:
                fail(f"{what} ref '{value['ref']}', {reason}", node, key)
        elif isinstance(value, dict) and "param" in value:
            if value["param"] in params:
                reason = ruletypes.misfit(params[value["param"]], ftype)
                if reason:
                    fail(f"{what} param '{value['param']}' ({ruletypes.show(params[value['param']])}), {reason}",
                         node, key)
        else:
            reason = ruletypes.misfit(value, ftype)
            if reason:
                fail(f"{what} {ruletypes.show(value)}, {reason}", node, key)

    def compared(value, ftype, label: str, op: str, node, key) -> None:
        """A gt/gte/lt/lte test: the field and the value are numbers."""
        if not ruletypes.numeric(ftype):
            fail(f"{label} is compared ({op}), but it is {ruletypes.base_phrase(ftype)}, not a number", node, key)
            return
        fits(value, ruletypes.FieldType("number", "number"), f"{label} is compared ({op}) with", node, key)

    def check_test(rtype: str, fname: str, test, node, fact: str | None = None) -> None:
        """``fact``: the named fact whose value ``fname`` holds (typed by rules/facts.yaml)."""
        ftype = ruletypes.of_fact(fact, facts[fact]) if fact else field_types.get((rtype, fname))
        if ftype is None:
            return
        label = f"{rtype}.{fname}" + (f" of fact '{fact}'" if fact else "")
        plain_test = not isinstance(test, dict) or bool({"param", "ref"} & set(test))
        for op, value in ([("eq", test)] if plain_test else list(test.items())):
            if op in ("gt", "gte", "lt", "lte"):
                compared(value, ftype, label, op, node, fname)
                bound = params.get(value["param"]) if isinstance(value, dict) and "param" in value else value
                reason = ruletypes.never(op, bound, facts[fact]) if fact else None
                if reason:
                    fail(f"{label} {op} {ruletypes.show(bound)} {reason}", node, fname)
            elif op == "in":
                if isinstance(value, list):
                    for v in value:
                        fits(v, ftype, f"{label} is tested against", node, fname)
                elif isinstance(value, dict) and "param" in value and isinstance(params.get(value["param"]), list):
                    for v in params[value["param"]]:
                        fits(v, ftype, f"{label} is tested against (param '{value['param']}')", node, fname)
            elif op in ("eq", "ne"):
                fits(value, ftype, f"{label} is tested against", node, fname, every=False)

    def fail(message, node=None, key=None):
        line = node.line_of(key) if isinstance(node, LineDict) and key is not None else getattr(node, "line", spec.line)
        errors.append(DataError(f"rule '{spec.id}': {message}", spec.file, line))

    def field_of(alias: str, fname: str, what: str, node, key) -> None:
        rtype = alias_type.get(alias)
        if rtype is None or fname == "id":
            return  # `each`, or an alias the other checks report
        declared = types[rtype]["fields"]
        if fname not in declared:
            fail(f"{what}: fact type '{rtype}' has no field '{fname}'{did_you_mean(fname, list(declared) + ['id'])}"
                 " (fields are declared in rules/types.yaml)", node, key)

    def refs_in(value, node, key) -> None:
        if isinstance(value, dict):
            if "ref" in value and isinstance(value["ref"], str) and "." in value["ref"]:
                alias, fname = value["ref"].split(".", 1)
                field_of(alias, fname, f"ref '{value['ref']}'", node, key)
            for sub in value.values():
                if isinstance(sub, (dict, list)):
                    refs_in(sub, node, key)
        elif isinstance(value, list):
            for sub in value:
                refs_in(sub, node, key)

    for alias, pattern in spec.when:
        rtype = pattern.get("type")
        if rtype not in types:
            fail(f"unknown fact type '{rtype}'{did_you_mean(str(rtype), types)} (declared types: "
                 f"{', '.join(types)})", pattern, "type")
            continue
        declared = types[rtype]["fields"]
        named_test = pattern.get(types[rtype].get("names_facts") or "", None)
        named_test = named_test.get("eq") if isinstance(named_test, dict) else named_test
        fact = named_test if isinstance(named_test, str) and named_test in facts else None
        fact_value = types[rtype].get("fact_value") if fact else None
        groups = [(pattern, {k: v for k, v in pattern.items() if k not in ("type", "any_of")})]
        groups += [(g, g) for g in pattern.get("any_of") or []]
        for node, tests in groups:
            for fname, test in tests.items():
                if fname != "id" and fname not in declared:
                    fail(f"fact type '{rtype}' has no field '{fname}'{did_you_mean(fname, list(declared) + ['id'])}"
                         " (fields are declared in rules/types.yaml)", node, fname)
                refs_in(test, node, fname)
                named = types[rtype].get("names_facts")
                if fname != named and fname in declared:  # a named fact has its own message below
                    check_test(rtype, fname, test, node, fact if fname == fact_value else None)
                    if node is pattern:
                        narrow(alias, rtype, fname, test)
                if fname == named:
                    values = test.get("in", test.get("eq")) if isinstance(test, dict) else test
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, str) and value not in facts:
                            fail(f"unknown fact '{value}'{did_you_mean(value, facts)} (named facts are declared "
                                 "in rules/facts.yaml)", node, fname)
        alias_type[alias] = rtype

    then = spec.then
    emitted = then.get("emit")
    declared_type = types.get(emitted)
    if declared_type is None:
        fail(f"emits unknown fact type '{emitted}'{did_you_mean(str(emitted), types)} (declared types: "
             f"{', '.join(types)})", then, "emit")
    elif declared_type["origin"] != "derived":
        fail(f"emits '{emitted}', a base fact type asserted by Python; rules emit derived types", then, "emit")
    else:
        given = then.get("fields") or {}
        for fname in given:
            if fname not in declared_type["fields"]:
                fail(f"emits '{emitted}' with field '{fname}', which the type does not declare"
                     f"{did_you_mean(fname, declared_type['fields'])}", then["fields"], fname)
        optional = set(declared_type.get("optional", ()))
        missing = [f for f in declared_type["fields"] if f not in given and f not in optional]
        if missing:
            fail(f"emits '{emitted}' without field '{missing[0]}' (every declared field must be given)", then,
                 "fields" if "fields" in then else "emit")
        for key in declared_type.get("requires", ()):
            if key not in then:
                fail(f"emits '{emitted}' without '{key}' (the result reads it)", then, "emit")
        shape = declared_type.get("record_id")
        if shape and not _record_id_pattern(shape).match(str(then.get("id", ""))):
            fail(f"id '{then.get('id')}' does not have the shape of a '{emitted}' id ('{shape}'; the result "
                 "finds these records by id)", then, "id")
    for fname, value in (then.get("fields") or {}).items():
        refs_in(value, then["fields"], fname)
        ftype = field_types.get((emitted, fname))
        if ftype is not None:
            fits(value, ftype, f"emits {emitted}.{fname}", then["fields"], fname)
    phases = [p.get("id") for p in params.get("phases") or [] if isinstance(p, Mapping)]
    if "phase" in then and phases and then["phase"] not in phases:
        fail(f"phase '{then['phase']}' is not a phase of the plan ({', '.join(map(str, phases))})"
             f"{did_you_mean(str(then['phase']), map(str, phases))}", then, "phase")
    if then.get("for_each") and "." in str(then["for_each"]):
        alias, fname = str(then["for_each"]).split(".", 1)
        field_of(alias, fname, f"for_each '{then['for_each']}'", then, "for_each")
    texts = [(key, str(then[key])) for key in ("id", "text", "advice", "action") if key in then]
    texts += [("because", str(b)) for b in then.get("because") or []]
    for key, text in texts:
        for m in _PLACEHOLDER.finditer(text):
            if m.group(2):
                field_of(m.group(1), m.group(2), f"placeholder '{m.group(0)}' in {key}", then, key)
    return errors


def load_fact_specs(root: str | Path | None = None) -> dict[str, Mapping[str, Any]]:
    """The named-fact declarations (``rules/facts.yaml``) alone, validated: {name: spec}."""
    root = Path(root) if root is not None else default_root()
    path = root / "facts.yaml"
    data = load_file(path)
    index = schema.IdIndex()
    schema.collect_ids("facts", data, path, index)
    errors = schema.validate("facts", data, path, index) + list(index.duplicates)
    if errors:
        raise DataErrors(errors)
    return {f["id"]: plain(f) for f in data["facts"]}
