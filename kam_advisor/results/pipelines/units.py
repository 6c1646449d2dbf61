"""The units pipeline: the organisation view of units audited separately (from stored audits,
not from a questionnaire's answers)."""

from __future__ import annotations

from kam_advisor.results.pipelines import Pipeline
from kam_advisor.results.units import rollup


def _facts(units, kb, base) -> tuple[list, list]:
    """The units' latest results, and the knowledge base's conflicts with their actions' texts."""
    conflicts = [{**r.data, "item_texts": {i: kb.items[i].text for i in r.data.get("items") or [] if i in kb.items}}
                 for r in kb.records.values() if r.kind == "conflict"]
    return list(units), conflicts


PIPELINE = Pipeline(kind="units", title="the organisation view of its units",
                    build_facts=_facts, run_rules=lambda facts, kb, base: rollup(facts[0], base.params, facts[1]),
                    shape=lambda units, facts, found, kb, base, gaps: found,
                    templates=("history.html.j2",), from_answers=False)
