"""Rules as data: loading, validation and compilation of ``rules/*.yaml`` for the engine.

A rule says *when* (facts to join, each a pattern of field tests) and *then* (the record it
produces: type, id, fields, the facts it rests on, a readable reason). Thresholds and weights
are ``params`` of the rules file. This module turns that into durable-rules' JSON condition
syntax and a Python action that builds the record; it knows nothing about KAM.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from kam_advisor import schema
from kam_advisor.engine import CompiledRule, Ruleset
from kam_advisor.errors import DataError, DataErrors
from kam_advisor.paths import data_dir
from kam_advisor.yamlio import LineDict, LineList, load_file, plain

_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte", "ne": "$neq"}
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?(?::([^}]*))?\}")


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
    """All rules, params and fact declarations, plus the compiled ruleset."""

    rules: dict[str, RuleSpec]
    params: dict[str, Any]
    param_docs: dict[str, Mapping[str, Any]]
    facts: dict[str, Mapping[str, Any]]
    consumed_types: frozenset[str]
    ruleset: Ruleset | None = None
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
    docs, errors = schema.read_documents(files, ("rules", "facts"))
    index = schema.IdIndex()
    for path, kind, data in docs:
        schema.collect_ids(kind, data, path, index)
    for path, kind, data in docs:
        errors.extend(schema.validate(kind, data, path, index))
    errors.extend(index.duplicates)
    if errors:
        raise DataErrors(errors)

    params, param_docs, param_lines, facts, specs = {}, {}, {}, {}, {}
    method_parts: list[tuple] = []
    for path, kind, data in docs:
        if kind == "facts":
            for f in data["facts"]:
                facts[f["id"]] = plain(f)
            continue
        for name, p in (data.get("params") or {}).items():
            if name in params:
                errors.append(DataError(f"param '{name}' is defined twice (also in {param_lines[name]})",
                                        path, data["params"].line_of(name)))
            params[name] = plain(p["value"])
            param_docs[name] = {**plain(p), "file": path.name}
            param_lines[name] = path.name
        if "method" in data:
            method_parts.append((data["method"]["position"], path.name, path, data["method"]))
        for r in data["rules"]:
            specs[r["id"]] = RuleSpec(
                id=r["id"], title=r["title"], source=r["source"], description=r.get("description", ""),
                file=str(path), line=r.line, when=tuple((next(iter(w)), w[next(iter(w))]) for w in r["when"]),
                then=r["then"], kb_ref=r.get("kb_ref"))
    consumed = frozenset(str(pattern["type"]) for spec in specs.values() for _, pattern in spec.when)
    for spec in specs.values():
        errors.extend(_check_rule(spec, params, kb))
    method = _method(sorted(method_parts, key=lambda m: m[:2]), params, errors)
    if errors:
        raise DataErrors(errors)
    base = RuleBase(rules=specs, params=params, param_docs=param_docs, facts=facts, consumed_types=consumed,
                    files=[str(p) for p in files], method=method)
    fingerprint = json.dumps([[plain(s.then), s.id] for s in specs.values()] + [params], sort_keys=True, default=str)
    base.ruleset = Ruleset([_compile(spec, base) for spec in specs.values()], label="kam", fingerprint=fingerprint)
    return base


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
        factor = value.get("mul") if isinstance(value, dict) else None
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
    for key in ("id", "text", "advice"):
        for m in _PLACEHOLDER.finditer(str(then.get(key, ""))):
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


# --- compilation -----------------------------------------------------------------------------

def _value(value, params):
    if isinstance(value, dict):
        if "param" in value:
            return params[value["param"]]
        alias, fname = value["ref"].split(".")
        out: Any = {alias: fname}
        if "mul" in value:
            factor = value["mul"]
            out = {"$mul": {"$l": out, "$r": params[factor["param"]] if isinstance(factor, dict) else factor}}
        if "add" in value:
            out = {"$add": {"$l": out, "$r": value["add"]}}
        return out
    return value


def _tests(fname: str, test, params) -> list[dict]:
    if not isinstance(test, dict) or {"param", "ref"} & set(test):
        return [{fname: _value(test, params)}]
    out = []
    for op, v in test.items():
        if op == "eq":
            out.append({fname: _value(v, params)})
        elif op in _OPS:
            out.append({_OPS[op]: {fname: _value(v, params)}})
        elif op == "in":
            values = _value(v, params) if isinstance(v, dict) else v
            ors = [{fname: x} for x in values]
            out.append(ors[0] if len(ors) == 1 else {"$or": ors})
        elif op == "exists":
            out.append({"$ex" if v else "$nex": {fname: 1}})
    return out


def compile_pattern(pattern: Mapping[str, Any], params) -> dict:
    parts = [{"t": pattern["type"]}]
    for fname, test in pattern.items():
        if fname == "type":
            continue
        if fname == "any_of":
            alternatives = []
            for group in test:
                tests = [t for g, gt in group.items() for t in _tests(g, gt, params)]
                alternatives.append(tests[0] if len(tests) == 1 else {"$and": tests})
            parts.append({"$or": alternatives})
        else:
            parts.extend(_tests(fname, test, params))
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _getter(value, params):
    """A function (frame, each) -> value for a `fields` entry, resolved once at compile time."""
    if not isinstance(value, dict):
        return lambda frame, each, v=value: v
    if "param" in value:
        const = params[value["param"]]
        return lambda frame, each: const
    alias, fname = value["ref"].split(".")
    factor = value.get("mul")
    if isinstance(factor, dict):
        factor = params[factor["param"]]
    add = value.get("add")
    if factor is None and add is None:
        if alias == "each":
            return lambda frame, each: each
        return lambda frame, each: frame[alias].get(fname)

    def get(frame, each):
        got = each if alias == "each" else frame[alias].get(fname)
        if isinstance(got, (int, float)) and not isinstance(got, bool):
            if factor is not None:
                got = got * factor
            if add is not None:
                got = got + add
        return got
    return get


def _format(got, fmt):
    if got is None:
        return "none"
    if fmt:
        try:
            return format(got, fmt)
        except (ValueError, TypeError):
            return str(got)
    if isinstance(got, list):
        return ", ".join(str(x) for x in got)
    return str(got)


class Template:
    """A text with {alias.field}, {alias.field:fmt}, {alias} (its id) and {each} placeholders,
    parsed once into str.format patterns with positional fields and the references to fill them:
    `pattern` applies the format specs itself (the fast path); `plain` takes values already
    converted by `_format` (None as "none", lists joined, a spec that does not fit ignored)."""

    __slots__ = ("pattern", "plain", "refs", "text")

    def __init__(self, text: str):
        pattern: list[str] = []
        plain: list[str] = []
        refs: list[tuple] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            literal = text[pos:m.start()].replace("{", "{{").replace("}", "}}")
            alias, fname, fmt = m.group(1), m.group(2), m.group(3)
            pattern += [literal, "{%d%s}" % (len(refs), ":" + fmt if fmt else "")]
            plain += [literal, "{%d}" % len(refs)]
            each = alias == "each" and fname is None
            refs.append((None if each else alias, fname or "id", fmt or None))
            pos = m.end()
        tail = text[pos:].replace("{", "{{").replace("}", "}}")
        self.pattern = "".join(pattern) + tail
        self.plain = "".join(plain) + tail
        self.refs = tuple(refs)
        self.text = text

    def fill(self, frame: Mapping[str, Mapping[str, Any]], each=None) -> str:
        if not self.refs:
            return self.text
        values = []
        simple = True
        for alias, key, _ in self.refs:
            if alias is None:
                got = each
            else:
                fact = frame.get(alias)
                got = fact.get(key) if fact is not None else None
            if got is None or got.__class__ is list:
                simple = False
            values.append(got)
        if simple:
            try:
                return self.pattern.format(*values)
            except (ValueError, TypeError):
                pass
        return self.plain.format(*[_format(v, ref[2]) for v, ref in zip(values, self.refs)])


def fill(template: str, frame: Mapping[str, Mapping[str, Any]], each=None) -> str:
    """Fill {alias.field}, {alias.field:fmt} and {each} placeholders."""
    return Template(template).fill(frame, each)


def _compile(spec: RuleSpec, base: RuleBase) -> CompiledRule:
    params = base.params
    condition = {"all": [{alias: compile_pattern(pattern, params)} for alias, pattern in spec.when]}
    then = spec.then
    rtype = then["emit"]
    reassert = rtype in base.consumed_types
    getters = [(name, _getter(v, params)) for name, v in (then.get("fields") or {}).items()]
    for_each = tuple(then["for_each"].split(".")) if then.get("for_each") else None
    id_tpl = Template(then["id"])
    text_tpl = Template(then["text"]) if "text" in then else None
    advice_tpl = Template(then["advice"]) if "advice" in then else None
    # each entry: ("each",) | ("alias", name) | ("tpl", Template)
    because_spec = [("each", None) if b == "each" else ("alias", b) if "{" not in b else ("tpl", Template(b))
                    for b in then["because"]]
    static_meta = {k: then[k] for k in ("severity", "priority") if k in then}
    rule_id = spec.id
    single = (None,)

    def action(frame, run):
        elements = single if for_each is None else (frame[for_each[0]].get(for_each[1]) or ())
        add = run.sink.add
        for each in elements:
            fid = id_tpl.fill(frame, each)
            fields = {name: get(frame, each) for name, get in getters}
            because = [str(each) if kind == "each" else (frame[b]["id"] if b in frame else b) if kind == "alias"
                       else b.fill(frame, each) for kind, b in because_spec]
            meta = static_meta
            if advice_tpl is not None:
                meta = {**static_meta, "advice": advice_tpl.fill(frame, each)}
            add(fid, rtype, rule_id, because, text_tpl.fill(frame, each) if text_tpl is not None else "",
                fields, meta)
            if reassert:
                run.assert_fact({"t": rtype, "id": fid, **fields})

    return CompiledRule(id=spec.id, condition=condition, priority=1, action=action)


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
