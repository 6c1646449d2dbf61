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

from kam_advisor.answers import Evidence
from kam_advisor.knowledge import KnowledgeBase
from kam_advisor.rules import RuleBase

PROGRAMME = "programme"
# status order used for open actions: what to start before what to finish, then the unknown
OPEN_ORDER = ("not_started", "partial", "dont_know", "unanswered")


@dataclass
class Finding:
    """A record derived by a rule (or a fact Python asserted), with its reasons."""

    id: str
    type: str
    rule: str
    because: list[str]
    text: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


class Sink:
    """Collects what rules emit. A record emitted twice under one id (e.g. a flag found by
    several pairs of cells) keeps the union of its reasons and, whatever the firing order, the
    text of the smallest reason set, so results do not depend on the engine's order."""

    def __init__(self) -> None:
        self.findings: dict[str, Finding] = {}

    def record(self, record: dict, meta: dict) -> None:
        fid = record["id"]
        fields = {k: v for k, v in record.items() if k not in ("id", "t", "sid")}
        new = Finding(id=fid, type=record["t"], rule=meta["rule"], because=list(meta["because"]),
                      text=meta.get("text", ""), fields=fields,
                      meta={k: v for k, v in meta.items() if k not in ("rule", "because", "text")})
        old = self.findings.get(fid)
        if old is None:
            self.findings[fid] = new
            return
        keep, other = (old, new) if (old.rule, old.because) <= (new.rule, new.because) else (new, old)
        keep.because = keep.because + [b for b in other.because if b not in keep.because]
        self.findings[fid] = keep

    def of_type(self, rtype: str) -> list[Finding]:
        return sorted((f for f in self.findings.values() if f.type == rtype), key=lambda f: f.id)


@dataclass
class Inference:
    """Everything one run produced: base facts Python asserted and findings rules derived."""

    facts: dict[str, Finding]
    findings: dict[str, Finding]
    statuses: dict[str, str]

    def get(self, fid: str) -> Finding | None:
        return self.findings.get(fid) or self.facts.get(fid)


def item_status(evidence: Evidence, item_id: str) -> str:
    return evidence.statuses.get(item_id, "unanswered")


def _points(status: str, weights: Mapping[str, float]) -> float:
    return weights.get(status, 0.0)


def cell_facts(kb: KnowledgeBase, statuses: Mapping[str, str], weights) -> list[dict]:
    stages = kb.stage_ids
    out = []
    for topic in kb.topics.values():
        for rank, stage in enumerate(stages, 1):
            items = kb.items_of(topic.id, stage)
            counts = {s: 0 for s in ("done", "partial", "not_started", "na", "dont_know", "unanswered")}
            by_status: dict[str, list[str]] = {s: [] for s in counts}
            for item in items:
                st = statuses.get(item.id, "unanswered")
                counts[st] += 1
                by_status[st].append(item.id)
            known = counts["done"] + counts["partial"] + counts["not_started"]
            points = sum(_points(s, weights) * counts[s] for s in ("done", "partial", "not_started"))
            out.append({
                "t": "cell", "id": f"cell:{topic.id}:{stage}", "level": "topic", "unit": topic.id,
                "stage": stage, "rank": rank, "last": rank == len(stages),
                "total": len(items), "applicable": len(items) - counts["na"], "known": known, **counts,
                "points": round(points, 6), "ratio": round(points / known, 6) if known else 0.0,
                "open": [i for s in OPEN_ORDER for i in by_status[s]],
                "done_items": by_status["done"], "not_started_items": by_status["not_started"],
                "$because": [f"{i.id}={statuses.get(i.id, 'unanswered')}" for i in items],
            })
    return out


def facet_facts(kb: KnowledgeBase, statuses: Mapping[str, str], weights) -> list[dict]:
    out = []
    for facet in kb.facets.values():
        items = [i for i in kb.items.values() if facet.id in i.facets]
        known = [i for i in items if statuses.get(i.id) in ("done", "partial", "not_started")]
        points = sum(_points(statuses[i.id], weights) for i in known)
        out.append({"t": "facet", "id": f"facet:{facet.id}", "facet": facet.id, "total": len(items),
                    "known": len(known), "score": round(100 * points / len(known)) if known else 0,
                    "$because": [f"{i.id}={statuses[i.id]}" for i in known]})
    return out


def named_facts(evidence: Evidence) -> list[dict]:
    out = []
    for name in sorted(evidence.facts):
        value = evidence.facts[name]
        prov = list(evidence.provenance.get(name, (f"{name}={value}",)))
        out.append({"t": "fact", "id": f"fact:{name}", "name": name, "value": value, "$because": prov})
    return out


def coverage_fact(kb: KnowledgeBase, statuses: Mapping[str, str]) -> dict:
    counted = [s for i, s in statuses.items() if i in kb.items]
    answered = sum(1 for s in counted if s in ("done", "partial", "not_started", "na"))
    total = len(kb.items)
    return {"t": "coverage", "id": "coverage", "answered": answered, "total": total,
            "dont_know": sum(1 for s in counted if s == "dont_know"),
            "na": sum(1 for s in counted if s == "na"),
            "ratio": round(answered / total, 6) if total else 0.0,
            "$because": [f"{answered} of {total} checklist actions answered"]}


def rollup_facts(kb: KnowledgeBase, statuses: Mapping[str, str], sink: Sink, foundation: Iterable[str]) -> list[dict]:
    """Per area, dimension and the programme x stage: how many assessed topics reach the stage."""
    foundation = set(foundation)
    reached = {(f.fields["unit"], f.fields["stage"]) for f in sink.of_type("reach")}
    assessed = {t for t in kb.topics if any(statuses.get(i.id, "unanswered") not in ("dont_know", "unanswered")
                                            for i in kb.items_of(t))}
    units = [(a.id, "area", [t.id for t in kb.topics.values() if t.area == a.id]) for a in kb.areas.values()]
    units += [(d.id, "dimension", [t.id for t in kb.topics.values() if t.dimension == d.id])
              for d in kb.dimensions.values()]
    units.append((PROGRAMME, "overall", list(kb.topics)))
    stages = kb.stage_ids
    out = []
    for unit, level, topics in units:
        seen = [t for t in topics if t in assessed]
        found = [t for t in topics if t in foundation]
        for rank, stage in enumerate(stages, 1):
            hit = [t for t in seen if (t, stage) in reached]
            fhit = [t for t in found if (t, stage) in reached]
            out.append({
                "t": "rollup", "id": f"rollup:{unit}:{stage}", "level": level, "unit": unit, "stage": stage,
                "rank": rank, "last": rank == len(stages), "assessed": len(seen), "reached": len(hit),
                "share": round(len(hit) / len(seen), 6) if seen else 0.0,
                "foundation_total": len(found), "foundation_reached": len(fhit),
                "foundation_ok": len(fhit) == len(found),
                "lagging": [t for t in seen if t not in hit] or ["none"],
                "$because": [f"reach:{t}:{stage}" for t in hit]
                + [f"{t}: stage {stage} not reached" for t in seen if t not in hit]
                + [f"{t}: not assessed" for t in topics if t not in assessed],
            })
    return out


def _strip(facts: list[dict]) -> tuple[list[dict], dict[str, Finding]]:
    """Split the reasons Python keeps for its own facts from what goes to the engine."""
    engine, base = [], {}
    for f in facts:
        because = f.pop("$because")
        engine.append(f)
        base[f["id"]] = Finding(id=f["id"], type=f["t"], rule="input", because=because,
                                fields={k: v for k, v in f.items() if k not in ("id", "t")})
    return engine, base


def infer(evidence: Evidence, kb: KnowledgeBase, rules: RuleBase) -> Inference:
    """Run the rules over one organisation's evidence in one short-lived session."""
    weights = {"done": float(rules.param("done_weight")), "partial": float(rules.param("partial_weight")),
               "not_started": 0.0}
    statuses = {i: s for i, s in evidence.statuses.items() if i in kb.items}
    phase1, base = _strip(cell_facts(kb, statuses, weights) + facet_facts(kb, statuses, weights)
                          + named_facts(evidence) + [coverage_fact(kb, statuses)])
    sink = Sink()
    with rules.ruleset.session(sink) as session:
        session.assert_facts(phase1)
        phase2, base2 = _strip(rollup_facts(kb, statuses, sink, rules.param("foundation_topics")))
        session.assert_facts(phase2)
    base.update(base2)
    return Inference(facts=base, findings=sink.findings, statuses=statuses)
