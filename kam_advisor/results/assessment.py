"""Assessment: answers files in, the result (plain data, the `assess` JSON contract) out.

Turns answers into evidence, runs inference and shapes its findings into the documented
result (the `assess` JSON contract in the README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from kam_advisor import __version__
from kam_advisor.results.bases import load_bases
from kam_advisor.answers.files import Evidence
from kam_advisor.data.errors import DataError
from kam_advisor.data.vocab import OPEN_ORDER, PRIORITY_ORDER, SEVERITY_ORDER, UNANSWERED
from kam_advisor.reasoning.inference import PROGRAMME, Inference, infer

STATUS_ORDER = {s: n for n, s in enumerate(OPEN_ORDER)}
PROGRAMME_NAME = "KAM programme"


def evidence_from_files(paths: Sequence[str | Path], kb, fact_specs) -> tuple[Evidence, list[dict]]:
    from kam_advisor.answers import evidence as evidence_mod
    for p in paths:
        if not Path(p).is_file():
            raise DataError("answers file not found", p)
    return evidence_mod.load_evidence([str(p) for p in paths], kb, fact_specs)


def assess_files(paths: Sequence[str | Path], kb_dir=None, rules_dir=None) -> dict:
    """Assess one answers file, or several respondents' files of one questionnaire."""
    kb, base = load_bases(kb_dir, rules_dir)
    evidence, gaps = evidence_from_files(paths, kb, base.facts)
    return assess_evidence(evidence, kb, base, perception_gaps=gaps)


def assess_answers(answer_files: Sequence, kb_dir=None, rules_dir=None) -> dict:
    """Assess answers already read (AnswerFile objects, one per respondent, one questionnaire)."""
    from kam_advisor.answers import evidence as evidence_mod
    kb, base = load_bases(kb_dir, rules_dir)
    evidence, gaps = evidence_mod.evidence_of([(af, None) for af in answer_files], kb, base.facts)
    return assess_evidence(evidence, kb, base, perception_gaps=gaps)


def assess_evidence(evidence: Evidence, kb=None, base=None, perception_gaps=None) -> dict:
    if kb is None or base is None:
        kb, base = load_bases()
    run = infer(evidence, kb, base)
    return build_result(evidence, kb, base, run, perception_gaps or [])


# --- shaping the result ---------------------------------------------------------------------

def _state(run: Inference, unit: str) -> dict:
    f = run.findings.get(f"state:{unit}")
    if f is None:  # every unit gets a state when the rules are complete; say so if not
        raise DataError(f"the rules gave no stage for '{unit}' (check rules/stages.yaml)")
    return {"achieved": f.fields.get("achieved"), "current": f.fields.get("current"),
            "rule": f.rule, "because": list(f.because), "reason": f.text}


def _cells(kb, run: Inference, topic: str) -> tuple[dict, dict]:
    completion, cells = {}, {}
    for stage in kb.stage_ids:
        c = run.facts[f"cell:{topic}:{stage}"].fields
        met = run.findings.get(f"met:{topic}:{stage}")
        completion[stage] = None if c["applicable"] == 0 else round(c["ratio"], 4)
        cells[stage] = {k: c[k] for k in ("total", "done", "partial", "not_started", "na", "dont_know", "unanswered")}
        cells[stage]["met"] = bool(met and met.fields.get("met"))
    return completion, cells


def _score(kb, run: Inference, unit_topics: list[str]) -> int | None:
    pts = known = 0.0
    for t in unit_topics:
        for stage in kb.stage_ids:
            c = run.facts[f"cell:{t}:{stage}"].fields
            pts += c["points"]
            known += c["known"]
    return round(100 * pts / known) if known else None


def build_result(evidence: Evidence, kb, base, run: Inference, gaps: list[dict]) -> dict:
    stage_name = {s.id: s.name for s in kb.stages}
    overall = {**_state(run, PROGRAMME), "id": PROGRAMME, "name": PROGRAMME_NAME}
    conf = run.findings.get("confidence")
    overall["confidence"] = conf.fields["level"] if conf else None

    dimensions = []
    for d in kb.dimensions.values():
        topics = [t.id for t in kb.topics.values() if t.dimension == d.id]
        dimensions.append({"id": d.id, "name": d.name, **_state(run, d.id), "score": _score(kb, run, topics)})
    areas = []
    for a in kb.areas.values():
        topics = [t.id for t in kb.topics.values() if t.area == a.id]
        areas.append({"id": a.id, "name": a.name, "dimension": a.dimension, **_state(run, a.id),
                      "score": _score(kb, run, topics)})
    topics_out = []
    for t in kb.topics.values():
        completion, cells = _cells(kb, run, t.id)
        topics_out.append({"id": t.id, "name": t.name, "area": t.area, "dimension": t.dimension,
                           **_state(run, t.id), "completion": completion, "cells": cells})

    facets = []
    for f in kb.facets.values():
        fact = run.facts[f"facet:{f.id}"].fields
        band = run.findings.get(f"band:{f.id}")
        facets.append({"id": f.id, "name": f.name, "score": fact["score"] if fact["known"] else None,
                       "band": band.fields["band"] if band else None,
                       "rule": band.rule if band else None,
                       "because": (list(band.because) if band else []) + [f"facet:{f.id}"],
                       "reason": band.text if band else f"{f.id}: no known answer among its {fact['total']} actions"})

    order = {iid: n for n, iid in enumerate(kb.items)}
    stage_rank = {s: n for n, s in enumerate(kb.stage_ids)}

    def status(iid):
        return run.statuses.get(iid, UNANSWERED)

    recs = []
    for f in run.findings.values():
        if f.type != "recommendation":
            continue
        iid = f.fields["item"]
        recs.append({"id": f.id, "item": iid, "text": kb.items[iid].text, "topic": f.fields["topic"],
                     "stage": f.fields["stage"], "status": status(iid), "priority": f.meta.get("priority"),
                     "rule": f.rule, "because": [f"{b}={status(b)}" if b == iid else b for b in f.because],
                     "reason": f.text})
    recs.sort(key=lambda r: (PRIORITY_ORDER.get(r["priority"], 9), stage_rank[r["stage"]],
                             STATUS_ORDER.get(r["status"], 9), order[r["item"]]))
    for n, r in enumerate(recs, 1):
        r["rank"] = n

    steps: dict[str, list] = {}
    for f in sorted((f for f in run.findings.values() if f.type == "roadmap"),
                    key=lambda f: (stage_rank[f.fields["stage"]], order[f.fields["item"]])):
        iid = f.fields["item"]
        steps.setdefault(f.fields["stage"], []).append(
            {"item": iid, "text": kb.items[iid].text, "topic": f.fields["topic"], "status": status(iid),
             "rule": f.rule, "because": list(f.because)})
    roadmap = {"from": overall["achieved"],
               "to": None if overall["achieved"] == overall["current"] else overall["current"],
               "steps": [{"stage": s, "name": stage_name[s], "actions": steps[s]}
                         for s in kb.stage_ids if s in steps]}

    flags = []
    for f in run.findings.values():
        if f.type != "flag":
            continue
        spec = base.rules[f.rule]
        flags.append({"id": f.id, "severity": f.meta.get("severity"), "title": spec.title, "message": f.text,
                      "advice": f.meta.get("advice"), "source": spec.source, "kb_ref": spec.kb_ref,
                      "rule": f.rule, "because": list(f.because)})
    flags.sort(key=lambda x: (SEVERITY_ORDER.get(x["severity"], 9), x["id"]))

    cov = run.facts["coverage"].fields
    coverage = {"answered": cov["answered"], "total": cov["total"], "dont_know": cov["dont_know"], "na": cov["na"],
                "ratio": round(cov["ratio"], 4), "confidence": overall["confidence"],
                "rule": conf.rule if conf else None, "reason": conf.text if conf else None}

    answers = [{"item": i.id, "topic": i.topic, "stage": i.stage, "text": i.text, "status": status(i.id),
                "note": evidence.notes.get(i.id)} for i in kb.items.values()]

    answer = {i: f"{i}={status(i)}" for i in kb.items}  # an item id among the reasons gets its status
    trace = [{"id": f.id, "type": f.type, "rule": f.rule, "because": [answer.get(b, b) for b in f.because],
              "text": f.text}
             for f in sorted(list(run.findings.values()) + list(run.facts.values()), key=lambda f: f.id)]

    return {
        "tool": {"name": "kam-advisor", "version": __version__},
        "kb_version": kb.version,
        "questionnaire": evidence.questionnaire,
        "organisation": evidence.organisation,
        "assessor": evidence.assessor,
        "date": evidence.date,
        "respondents": list(evidence.respondents),
        "stages": [{"id": s.id, "name": s.name, "description": s.description} for s in kb.stages],
        "overall": overall,
        "dimensions": dimensions,
        "areas": areas,
        "topics": topics_out,
        "facets": facets,
        "recommendations": recs,
        "roadmap": roadmap,
        "red_flags": flags,
        "coverage": coverage,
        "answers": answers,
        "facts": {k: evidence.facts[k] for k in sorted(evidence.facts)},
        "perception_gaps": gaps,
        "method": method_text(base),
        "trace": trace,
    }


def method_text(base) -> list[str]:
    """The paragraphs of the report's Method page: the rules files' `method`, parameters filled."""
    return list(base.method)


def dumps(result: dict) -> str:
    """The result as JSON: stable key order as built, UTF-8, trailing newline."""
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
