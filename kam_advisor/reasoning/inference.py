"""Inference: evidence + knowledge base + rules -> findings, with the reasons for each.

Python computes only what durable-rules cannot (counts and ratios per checklist cell, facet
scores, coverage, and how many topics reach each stage for the roll-up) and asserts them as
facts. The rules decide everything else: which cells are met, gating, achieved and current
stages, recommendations, roadmap, red flags, facet bands, confidence.

The engine reads four parameters of the rules data by name: ``done_weight`` and
``partial_weight`` (points per status), ``foundation_topics`` (for the roll-up counts) and
``programme_name`` (the name of the whole programme in reasons).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kam_advisor.answers.files import Evidence
from kam_advisor.data.knowledge import KnowledgeBase
from kam_advisor.data.rules import RuleBase
from kam_advisor.data.vocab import ALL as ALL_STATUSES, ANSWERED, KNOWN as _KNOWN, OPEN_ORDER, SEVERITY_ORDER, UNANSWERED
from kam_advisor.reasoning.compile import compile_rules, rules_reached

PROGRAMME = "programme"
BASE_TYPES = frozenset({"cell", "facet", "fact", "coverage", "rollup"})  # what Python asserts below
_DRIVERS = 3  # how many done and not-started actions a facet's reason names


@dataclass(slots=True)
class Finding:
    """A record derived by a rule (or a fact Python asserted), with its reasons."""

    id: str
    type: str
    rule: str
    because: list[str]
    text: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)  # shared between findings: read only


def _rank(f: "Finding") -> tuple:
    """Which of two records under one id is kept: the more severe (a flag found by a higher band
    as well), then the smallest rule id and reason set."""
    return (SEVERITY_ORDER.get(f.meta.get("severity"), len(SEVERITY_ORDER)), f.rule, f.because)


class Sink:
    """Collects what rules emit. A record emitted twice under one id (e.g. a flag found by
    several pairs of cells) keeps the union of its reasons and, whatever the firing order, the
    text of the most severe reading and then of the smallest reason set, so results do not
    depend on the engine's order."""

    def __init__(self) -> None:
        self.findings: dict[str, Finding] = {}

    def add(self, fid: str, rtype: str, rule: str, because: list[str], text: str, fields: dict,
            meta: Mapping[str, Any]) -> None:
        new = Finding(fid, rtype, rule, because, text, fields, meta)
        old = self.findings.get(fid)
        if old is None:
            self.findings[fid] = new
            return
        keep, other = (old, new) if _rank(old) <= _rank(new) else (new, old)
        keep.because = keep.because + [b for b in other.because if b not in keep.because]
        self.findings[fid] = keep


@dataclass
class Inference:
    """Everything one run produced: base facts Python asserted and findings rules derived."""

    facts: dict[str, Finding]
    findings: dict[str, Finding]
    statuses: dict[str, str]


@dataclass(frozen=True)
class _Layout:
    """The knowledge base's grid, flattened once per knowledge base for the per-run loops."""

    cells: tuple  # (topic, stage, rank, last, item ids, static fields)
    topic_items: dict[str, tuple[str, ...]]
    facets: tuple  # (facet, name, item ids)
    units: tuple  # (unit, level, topic ids, static fields)
    stages: tuple[str, ...]
    stage_fields: dict[str, dict]  # stage -> {stage_name, stage_label}
    texts: dict[str, str]  # item -> its text


_LAYOUTS: dict[tuple[int, str], tuple[KnowledgeBase, _Layout]] = {}


def _layout(kb: KnowledgeBase, programme_name: str) -> _Layout:
    cached = _LAYOUTS.get((id(kb), programme_name))
    if cached is not None and cached[0] is kb:
        return cached[1]
    stages = kb.stage_ids
    stage_fields = {s.id: {"stage_name": s.name, "stage_label": f"stage {s.id} ({s.name})"} for s in kb.stages}
    cells = tuple((t.id, stage, rank, rank == len(stages), tuple(i.id for i in kb.items_of(t.id, stage)),
                   {"name": t.label, "dimension": t.dimension, "area": t.area, **stage_fields[stage]})
                  for t in kb.topics.values() for rank, stage in enumerate(stages, 1))
    units = [(a.id, "area", tuple(t.id for t in kb.topics.values() if t.area == a.id),
              {"name": a.name, "dimension": a.dimension}) for a in kb.areas.values()]
    units += [(d.id, "dimension", tuple(t.id for t in kb.topics.values() if t.dimension == d.id),
               {"name": d.name, "dimension": d.id}) for d in kb.dimensions.values()]
    units.append((PROGRAMME, "overall", tuple(kb.topics), {"name": programme_name, "dimension": None}))
    layout = _Layout(
        cells=cells, topic_items={t: tuple(i.id for i in kb.items_of(t)) for t in kb.topics},
        facets=tuple((f.id, f.name, tuple(i.id for i in kb.items.values() if f.id in i.facets))
                     for f in kb.facets.values()),
        units=tuple(units), stages=stages, stage_fields=stage_fields,
        texts={i.id: i.label for i in kb.items.values()})
    _LAYOUTS[(id(kb), programme_name)] = (kb, layout)
    return layout


def assessed_topics(layout: _Layout, statuses: Mapping[str, str]) -> set[str]:
    """Topics with at least one known answer (done, partial or not started): only these are assessed."""
    return {t for t, items in layout.topic_items.items() if any(statuses.get(i) in _KNOWN for i in items)}


def cell_facts(layout: _Layout, statuses: Mapping[str, str], weights, scope, assessed: set[str],
               foundation: frozenset[str]) -> list[tuple[dict, list[str]]]:
    """One fact per topic x stage: the answers' counts and score, and the items by status.

    An unanswered action the questionnaire does not ask about is not open: nobody was asked."""
    out = []
    wd, wp = weights["done"], weights["partial"]
    texts = layout.texts
    for topic, stage, rank, last, items, static in layout.cells:
        by: dict[str, list[str]] = {s: [] for s in ALL_STATUSES}
        because = []
        for i in items:
            st = statuses.get(i, UNANSWERED)
            by[st].append(i)
            because.append(f"{i}={st}")
        done, partial, not_started = len(by["done"]), len(by["partial"]), len(by["not_started"])
        known = done + partial + not_started
        points = round(wd * done + wp * partial, 6)
        asked_unanswered = [i for i in by[UNANSWERED] if scope is None or i in scope]
        rest = by["not_started"] + by["dont_know"] + asked_unanswered
        out.append(({
            "t": "cell", "id": f"cell:{topic}:{stage}", "level": "topic", "unit": topic, **static,
            "stage": stage, "rank": rank, "last": last, "assessed": topic in assessed,
            "foundation": topic in foundation,
            "total": len(items), "applicable": len(items) - len(by["na"]), "known": known,
            "done": done, "partial": partial, "not_started": not_started, "na": len(by["na"]),
            "dont_know": len(by["dont_know"]), "unanswered": len(by["unanswered"]),
            "points": points, "ratio": round(points / known, 6) if known else 0.0,
            "open": [i for st in OPEN_ORDER for i in (asked_unanswered if st == UNANSWERED else by[st])],
            "open_partial": by["partial"], "open_rest": rest, "n_partial": len(by["partial"]), "n_rest": len(rest),
            "done_items": by["done"], "not_started_items": by["not_started"],
            "done_texts": [texts[i] for i in by["done"]],
            "not_started_texts": [texts[i] for i in by["not_started"]],
        }, because))
    return out


def facet_facts(layout: _Layout, statuses: Mapping[str, str], weights) -> list[tuple[dict, list[str]]]:
    out = []
    texts = layout.texts
    for facet, name, items in layout.facets:
        known = [(i, statuses[i]) for i in items if statuses.get(i) in _KNOWN]
        points = sum(weights.get(st, 0.0) for _, st in known)
        # what drives the score: its done actions and its not-started ones, in checklist order
        strong = [texts[i] for i, st in known if st == "done"]
        weak = [texts[i] for i, st in known if st == "not_started"]
        out.append(({"t": "facet", "id": f"facet:{facet}", "facet": facet, "name": name, "total": len(items),
                     "known": len(known), "score": round(100 * points / len(known)) if known else 0,
                     "done": len(strong), "not_started": len(weak),
                     "strongest": strong[:_DRIVERS] or ["none"], "weakest": weak[:_DRIVERS] or ["none"]},
                    [f"{i}={st}" for i, st in known]))
    return out


def named_facts(evidence: Evidence) -> list[tuple[dict, list[str]]]:
    out = []
    for name in sorted(evidence.facts):
        value = evidence.facts[name]
        prov = list(evidence.provenance.get(name, (f"{name}={value}",)))
        out.append(({"t": "fact", "id": f"fact:{name}", "name": name, "value": value}, prov))
    return out


def coverage_fact(kb: KnowledgeBase, statuses: Mapping[str, str], scope) -> tuple[dict, list[str]]:
    """How much of the checklist, and of what the questionnaire asks, is answered."""
    counted = [s for i, s in statuses.items() if i in kb.items]
    answered = sum(1 for s in counted if s in ANSWERED)
    total = len(kb.items)
    asked = total if scope is None else sum(1 for i in scope if i in kb.items)
    asked_answered = answered if scope is None else sum(1 for i in scope if statuses.get(i) in ANSWERED)
    return ({"t": "coverage", "id": "coverage", "answered": answered, "total": total,
             "dont_know": sum(1 for s in counted if s == "dont_know"),
             "na": sum(1 for s in counted if s == "na"),
             "ratio": round(answered / total, 6) if total else 0.0,
             "scope": asked, "scope_answered": asked_answered,
             "scope_ratio": round(asked_answered / asked, 6) if asked else 0.0,
             "screening": asked < total},
            [f"{answered} of {total} checklist actions answered"]
            + ([f"the questionnaire asks about {asked} of them, {asked_answered} answered"] if asked < total else []))


def rollup_facts(layout: _Layout, statuses: Mapping[str, str], sink: Sink, foundation: frozenset[str],
                 assessed: set[str], cells: Mapping[str, dict]) -> list[tuple[dict, list[str]]]:
    """Per area, dimension and the programme x stage: how many assessed topics reach the stage.

    A topic counts at a stage when it is assessed and either reaches the stage (with answers to
    show it) or has actions there; a stage with no action in a topic is left out of its count."""
    reached = {(f.fields["unit"], f.fields["stage"]) for f in sink.findings.values()
               if f.type == "reach" and f.fields.get("evidence")}
    names = {topic: static["name"] for topic, _, _, _, _, static in layout.cells}
    stages = layout.stages
    out = []
    for unit, level, topics, static in layout.units:
        seen = [t for t in topics if t in assessed]
        found = [t for t in topics if t in foundation]
        found_unseen = [names[t] for t in found if t not in assessed]
        unseen = [f"{t}: not assessed" for t in topics if t not in assessed]
        for rank, stage in enumerate(stages, 1):
            required = [t for t in seen if (t, stage) in reached or cells[f"cell:{t}:{stage}"]["total"] > 0]
            hit = [t for t in required if (t, stage) in reached]
            miss = [t for t in required if (t, stage) not in reached]
            fhit = sum(1 for t in found if (t, stage) in reached)
            out.append(({
                "t": "rollup", "id": f"rollup:{unit}:{stage}", "level": level, "unit": unit, **static,
                **layout.stage_fields[stage], "stage": stage, "rank": rank, "last": rank == len(stages),
                "topics": len(topics), "assessed_topics": len(seen),
                "assessed_share": round(len(seen) / len(topics), 6) if topics else 0.0,
                "foundation_unassessed": len(found_unseen), "foundation_unassessed_names": found_unseen,
                "required": len(required), "reached": len(hit),
                "share": round(len(hit) / len(required), 6) if required else 0.0,
                "foundation_total": len(found), "foundation_reached": fhit,
                "foundation_ok": fhit == len(found),
                "foundation_missing": [names[t] for t in found if (t, stage) not in reached] or ["none"],
                "foundation_missing_n": len(found) - fhit,
                "lagging": [names[t] for t in miss] or ["none"],
            }, [f"reach:{t}:{stage}" for t in hit] + [f"{t}: stage {stage} not reached" for t in miss] + unseen))
    return out


def _split(facts: list[tuple[dict, list[str]]], base: dict[str, Finding]) -> list[dict]:
    """Keep the reasons of Python's own facts (as findings of rule `input`); return the facts."""
    out = []
    for fact, because in facts:
        out.append(fact)
        base[fact["id"]] = Finding(fact["id"], fact["t"], "input", because, "", fact, {})
    return out


def infer(evidence: Evidence, kb: KnowledgeBase, rules: RuleBase, bare: bool = False) -> Inference:
    """Run the rules over one organisation's evidence in one short-lived session (``bare``: see
    :func:`~kam_advisor.reasoning.compile.compile_rules`)."""
    weights = {"done": float(rules.param("done_weight")), "partial": float(rules.param("partial_weight")),
               "not_started": 0.0}
    layout = _layout(kb, rules.param("programme_name"))
    foundation = frozenset(rules.param("foundation_topics"))
    statuses = {i: s for i, s in evidence.statuses.items() if i in kb.items}
    assessed = assessed_topics(layout, statuses)
    base: dict[str, Finding] = {}
    cells = cell_facts(layout, statuses, weights, evidence.scope, assessed, foundation)
    phase1 = _split(cells + facet_facts(layout, statuses, weights)
                    + named_facts(evidence) + [coverage_fact(kb, statuses, evidence.scope)], base)
    by_id = {fact["id"]: fact for fact, _ in cells}
    sink = Sink()
    with compile_rules(rules_reached(rules, BASE_TYPES), bare).session(sink) as session:
        session.assert_facts(phase1)
        session.assert_facts(_split(rollup_facts(layout, statuses, sink, foundation, assessed, by_id), base))
    return Inference(facts=base, findings=sink.findings, statuses=statuses)
