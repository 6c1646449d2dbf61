"""The ``audit_scores`` rows of a result: what the peer benchmark compares, written with each save.

Apart from the benchmark's queries so that saving (``store.audits``) and benchmarking
(``store.benchmark``, which reads saved audits) import each other one way only."""

from __future__ import annotations

from typing import Any, Mapping


def score_rows(audit_id: str, result: Mapping[str, Any]) -> list[dict]:
    """The ``audit_scores`` rows of one result: the programme, each dimension and each topic that
    was assessed, with its checklist score and the stage it achieved (None: no stage yet)."""
    topics = [t for t in result.get("topics") or [] if isinstance(t, dict) and t.get("assessed", True)]
    rows, seen = [], set()

    def add(scope, ref, unit, members):
        value = _score(members)
        stage = unit.get("achieved")
        if value is not None and unit.get("assessed", True) is not False and isinstance(ref, str) \
                and (stage is None or isinstance(stage, str) and len(stage) <= 8) and (scope, ref) not in seen:
            seen.add((scope, ref))          # a result this tool did not write may name a unit twice
            rows.append({"audit_id": audit_id, "scope": scope, "ref": ref, "value": value, "stage": stage})
    overall = result.get("overall") if isinstance(result.get("overall"), dict) else {}
    add("programme", "programme", overall, topics)
    for d in result.get("dimensions") or []:
        if isinstance(d, dict):
            add("dimension", d.get("id"), d, [t for t in topics if t.get("dimension") == d.get("id")])
    for t in topics:
        add("topic", t.get("id"), t, [t])
    return rows


def _score(topics) -> float | None:
    points = known = 0.0
    for t in topics:
        cells = t.get("cells")
        for c in cells.values() if isinstance(cells, dict) else ():
            counts = [c.get(k) if isinstance(c, dict) else None for k in ("done", "partial", "not_started")]
            if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in counts):
                continue                      # a result this tool did not write: that cell counts for nothing
            points += counts[0] + 0.5 * counts[1]
            known += sum(counts)
    return round(100 * points / known, 2) if known else None
