"""Rules data compiled for durable-rules: conditions in its JSON syntax, actions that build records.

Knows nothing about KAM: a rule says *when* (facts to join, each a pattern of field tests) and
*then* (the record it produces), and this module turns that into the engine's terms.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from kam_advisor.data.rules import RuleBase, RuleSpec
from kam_advisor.data.template import Template, fill_params
from kam_advisor.reasoning.engine import SEQ, CompiledRule, Ruleset

_OPS = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte", "ne": "$neq"}
_RULESETS: dict[tuple[str, bool], Ruleset] = {}


_REACHED: dict = {}


def rules_reached(base: RuleBase, asserted: frozenset[str]) -> RuleBase:
    """The rules that can fire in a session given facts of the ``asserted`` types: those whose
    every condition reads a type asserted or derived by another such rule (conditions are joins
    of facts that must exist, so no other rule can fire). A programme's session then carries none
    of the account and plan rules, and a portfolio's none of the programme's. Made once per base
    and set of types."""
    key = (id(base), asserted)
    cached = _REACHED.get(key)
    if cached is not None and cached[0] is base:
        return cached[1]
    types, chosen = set(asserted), set()
    grown = True
    while grown:
        grown = False
        for rid, spec in base.rules.items():
            if rid not in chosen and all(str(pattern["type"]) in types for _, pattern in spec.when):
                chosen.add(rid)
                types.add(spec.then["emit"])
                grown = True
    rules = {rid: spec for rid, spec in base.rules.items() if rid in chosen}
    consumed = frozenset(str(pattern["type"]) for spec in rules.values() for _, pattern in spec.when)
    subset = dataclasses.replace(base, rules=rules, consumed_types=consumed,
                                 fingerprint=f"{base.fingerprint}|{'+'.join(sorted(asserted))}")
    _REACHED[key] = (base, subset)
    return subset


def compile_rules(base: RuleBase, bare: bool = False) -> Ruleset:
    """The engine ruleset of a rule base, compiled once per process for the same rules.

    ``bare`` rules have the same conditions and derive the same records (ids and fields) but no
    reasons, texts or advice: the benchmark's bound on what the explanations cost."""
    key = (base.fingerprint, bare)
    ruleset = _RULESETS.get(key)
    if ruleset is None:
        ruleset = Ruleset([compile_rule(spec, base, bare) for spec in base.rules.values()],
                          label="bare" if bare else "kam", fingerprint=base.fingerprint)
        _RULESETS[key] = ruleset
    return ruleset


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
            term = value["add"]
            out = {"$add": {"$l": out, "$r": params[term["param"]] if isinstance(term, dict) else term}}
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


def _refs(node) -> list[str]:
    """The aliases a pattern's tests refer to, in order."""
    if isinstance(node, dict):
        if "ref" in node:
            return [str(node["ref"]).split(".")[0]]
        return [a for v in node.values() for a in _refs(v)]
    if isinstance(node, list):
        return [a for v in node for a in _refs(v)]
    return []


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
    refs = [a for fname, test in pattern.items() if fname != "type" for a in _refs(test) if a != "each"]
    if refs:
        # durable-rules 2.0.28 reads past the end of a join's tests when the last one is false
        # (reduceExpressionSequence; jruizgit/rules#381, fixed upstream after the release): a
        # crash whenever the memory after them holds no end marker. A last test that always
        # holds (two matched facts are never the same fact) keeps it inside.
        parts.append({"$neq": {SEQ: {refs[0]: SEQ}}})
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
    if isinstance(add, dict):
        add = params[add["param"]]
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


def compile_rule(spec: RuleSpec, base: RuleBase, bare: bool = False) -> CompiledRule:
    params = base.params
    condition = {"all": [{alias: compile_pattern(pattern, params)} for alias, pattern in spec.when]}
    then = spec.then
    rtype = then["emit"]
    reassert = rtype in base.consumed_types
    getters = [(name, _getter(v, params)) for name, v in (then.get("fields") or {}).items()]
    for_each = tuple(then["for_each"].split(".")) if then.get("for_each") else None
    if bare:
        return CompiledRule(id=spec.id, condition=condition, priority=1,
                            action=_bare_action(spec.id, rtype, reassert, Template(then["id"]), getters, for_each))
    id_tpl = Template(then["id"])
    text_tpl = Template(fill_params(then["text"], params)) if "text" in then else None
    meta_tpls = [(key, Template(fill_params(then[key], params))) for key in ("advice", "action") if key in then]
    # each entry: ("each",) | ("alias", name) | ("tpl", Template)
    because_spec = [("each", None) if b == "each" else ("alias", b) if "{" not in b else ("tpl", Template(b))
                    for b in then["because"]]
    static_meta = {k: then[k] for k in ("severity", "priority", "phase") if k in then}
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
            if meta_tpls:
                meta = {**static_meta, **{key: tpl.fill(frame, each) for key, tpl in meta_tpls}}
            add(fid, rtype, rule_id, because, text_tpl.fill(frame, each) if text_tpl is not None else "",
                fields, meta)
            if reassert:
                run.assert_fact({"t": rtype, "id": fid, **fields})

    return CompiledRule(id=spec.id, condition=condition, priority=1, action=action)


def _bare_action(rule_id, rtype, reassert, id_tpl, getters, for_each):
    def action(frame, run):
        elements = (None,) if for_each is None else (frame[for_each[0]].get(for_each[1]) or ())
        for each in elements:
            fid = id_tpl.fill(frame, each)
            fields = {name: get(frame, each) for name, get in getters}
            run.sink.add(fid, rtype, rule_id, [], "", fields, {})
            if reassert:
                run.assert_fact({"t": rtype, "id": fid, **fields})
    return action
