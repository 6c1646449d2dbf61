"""Inference: evidence + knowledge base + rules -> findings, with the reasons for each.

Python computes only what durable-rules cannot (counts and ratios per checklist cell, facet
scores, coverage, and how many topics reach each stage for the roll-up) and asserts them as
facts. The rules decide everything else: which cells are met, gating, achieved and current
stages, recommendations, roadmap, red flags, facet bands, confidence.

The engine reads four parameters of the rules data by name: ``done_weight`` and
``partial_weight`` (points per status) and ``foundation_topics`` (for the roll-up counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from kam_advisor.answers.files import Evidence
from kam_advisor.data.knowledge import KnowledgeBase
from kam_advisor.data.rules import RuleBase
from kam_advisor.data.vocab import ALL as ALL_STATUSES, ANSWERED, KNOWN as _KNOWN, OPEN_ORDER, UNANSWERED, UNKNOWN
from kam_advisor.reasoning.compile import compile_rules

PROGRAMME = "programme"


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


class Sink:
    """Collects what rules emit. A record emitted twice under one id (e.g. a flag found by
    several pairs of cells) keeps the union of its reasons and, whatever the firing order, the
    text of the smallest reason set, so results do not depend on the engine's order."""

    def __init__(self) -> None:
        self.findings: dict[str, Finding] = {}

    def add(self, fid: str, rtype: str, rule: str, because: list[str], text: str, fields: dict,
            meta: Mapping[str, Any]) -> None:
        new = Finding(fid, rtype, rule, because, text, fields, meta)
        old = self.findings.get(fid)
        if old is None:
            self.findings[fid] = new
            return
        keep, other = (old, new) if (old.rule, old.because) <= (new.rule, new.because) else (new, old)
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

    cells: tuple  # (topic, stage, rank, last, item ids)
    topic_items: dict[str, tuple[str, ...]]
    facets: tuple  # (facet, item ids)
    units: tuple  # (unit, level, topic ids)
    stages: tuple[str, ...]


_LAYOUTS: dict[int, tuple[KnowledgeBase, _Layout]] = {}


def _layout(kb: KnowledgeBase) -> _Layout:
    cached = _LAYOUTS.get(id(kb))
    if cached is not None and cached[0] is kb:
        return cached[1]
    stages = kb.stage_ids
    cells = tuple((t.id, stage, rank, rank == len(stages), tuple(i.id for i in kb.items_of(t.id, stage)))
                  for t in kb.topics.values() for rank, stage in enumerate(stages, 1))
    units = [(a.id, "area", tuple(t.id for t in kb.topics.values() if t.area == a.id)) for a in kb.areas.values()]
    units += [(d.id, "dimension", tuple(t.id for t in kb.topics.values() if t.dimension == d.id))
              for d in kb.dimensions.values()]
    units.append((PROGRAMME, "overall", tuple(kb.topics)))
    layout = _Layout(
        cells=cells, topic_items={t: tuple(i.id for i in kb.items_of(t)) for t in kb.topics},
        facets=tuple((f.id, tuple(i.id for i in kb.items.values() if f.id in i.facets)) for f in kb.facets.values()),
        units=tuple(units), stages=stages)
    _LAYOUTS[id(kb)] = (kb, layout)
    return layout


def cell_facts(kb: KnowledgeBase, statuses: Mapping[str, str], weights) -> list[tuple[dict, list[str]]]:
    """One fact per topic x stage: the answers' counts and score, and the items by status."""
    out = []
    wd, wp = weights["done"], weights["partial"]
    for topic, stage, rank, last, items in _layout(kb).cells:
        by: dict[str, list[str]] = {s: [] for s in ALL_STATUSES}
        because = []
        for i in items:
            st = statuses.get(i, UNANSWERED)
            by[st].append(i)
            because.append(f"{i}={st}")
        done, partial, not_started = len(by["done"]), len(by["partial"]), len(by["not_started"])
        known = done + partial + not_started
        points = round(wd * done + wp * partial, 6)
        out.append(({
            "t": "cell", "id": f"cell:{topic}:{stage}", "level": "topic", "unit": topic,
            "stage": stage, "rank": rank, "last": last,
            "total": len(items), "applicable": len(items) - len(by["na"]), "known": known,
            "done": done, "partial": partial, "not_started": not_started, "na": len(by["na"]),
            "dont_know": len(by["dont_know"]), "unanswered": len(by["unanswered"]),
            "points": points, "ratio": round(points / known, 6) if known else 0.0,
            "open": [i for st in OPEN_ORDER for i in by[st]],
            "done_items": by["done"], "not_started_items": by["not_started"],
        }, because))
    return out


def facet_facts(kb: KnowledgeBase, statuses: Mapping[str, str], weights) -> list[tuple[dict, list[str]]]:
    out = []
    for facet, items in _layout(kb).facets:
        known = [(i, statuses[i]) for i in items if statuses.get(i) in _KNOWN]
        points = sum(weights.get(st, 0.0) for _, st in known)
        out.append(({"t": "facet", "id": f"facet:{facet}", "facet": facet, "total": len(items),
                     "known": len(known), "score": round(100 * points / len(known)) if known else 0},
                    [f"{i}={st}" for i, st in known]))
    return out


def named_facts(evidence: Evidence) -> list[tuple[dict, list[str]]]:
    out = []
    for name in sorted(evidence.facts):
        value = evidence.facts[name]
        prov = list(evidence.provenance.get(name, (f"{name}={value}",)))
        out.append(({"t": "fact", "id": f"fact:{name}", "name": name, "value": value}, prov))
    return out


def coverage_fact(kb: KnowledgeBase, statuses: Mapping[str, str]) -> tuple[dict, list[str]]:
    counted = [s for i, s in statuses.items() if i in kb.items]
    answered = sum(1 for s in counted if s in ANSWERED)
    total = len(kb.items)
    return ({"t": "coverage", "id": "coverage", "answered": answered, "total": total,
             "dont_know": sum(1 for s in counted if s == "dont_know"),
             "na": sum(1 for s in counted if s == "na"),
             "ratio": round(answered / total, 6) if total else 0.0},
            [f"{answered} of {total} checklist actions answered"])


def rollup_facts(kb: KnowledgeBase, statuses: Mapping[str, str], sink: Sink,
                 foundation: Iterable[str]) -> list[tuple[dict, list[str]]]:
    """Per area, dimension and the programme x stage: how many assessed topics reach the stage."""
    layout = _layout(kb)
    foundation = set(foundation)
    reached = {(f.fields["unit"], f.fields["stage"]) for f in sink.findings.values() if f.type == "reach"}
    assessed = {t for t, items in layout.topic_items.items()
                if any(statuses.get(i, UNANSWERED) not in UNKNOWN for i in items)}
    stages = layout.stages
    out = []
    for unit, level, topics in layout.units:
        seen = [t for t in topics if t in assessed]
        found = [t for t in topics if t in foundation]
        unseen = [f"{t}: not assessed" for t in topics if t not in assessed]
        for rank, stage in enumerate(stages, 1):
            hit = [t for t in seen if (t, stage) in reached]
            miss = [t for t in seen if (t, stage) not in reached]
            fhit = sum(1 for t in found if (t, stage) in reached)
            out.append(({
                "t": "rollup", "id": f"rollup:{unit}:{stage}", "level": level, "unit": unit, "stage": stage,
                "rank": rank, "last": rank == len(stages), "assessed": len(seen), "reached": len(hit),
                "share": round(len(hit) / len(seen), 6) if seen else 0.0,
                "foundation_total": len(found), "foundation_reached": fhit,
                "foundation_ok": fhit == len(found),
                "lagging": miss or ["none"],
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
    statuses = {i: s for i, s in evidence.statuses.items() if i in kb.items}
    base: dict[str, Finding] = {}
    phase1 = _split(cell_facts(kb, statuses, weights) + facet_facts(kb, statuses, weights)
                    + named_facts(evidence) + [coverage_fact(kb, statuses)], base)
    sink = Sink()
    with compile_rules(rules, bare).session(sink) as session:
        session.assert_facts(phase1)
        session.assert_facts(_split(rollup_facts(kb, statuses, sink, rules.param("foundation_topics")), base))
    return Inference(facts=base, findings=sink.findings, statuses=statuses)
