"""The plan pipeline: a key-account plan's health check (findings and plan score)."""

from __future__ import annotations

from kam_advisor.data.cells import spreadsheet_cell
from kam_advisor.results.plan import plan_document, plan_facts, plan_findings, plan_source
from kam_advisor.results.pipelines import Pipeline


def _shape(evidence, fact, findings, kb, base, gaps) -> dict:
    return plan_document(fact, findings, kb, base, plan_source(evidence, gaps))


def summary(result: dict) -> dict:
    return {"kind": "plan", "questionnaire": result.get("questionnaire") or "", "organisation": spreadsheet_cell(result.get("organisation") or ""),
            "account": spreadsheet_cell(result["customer"]), "plan_score": result["score"]["value"], "red_flags": len(result["findings"]),
            "high_flags": sum(1 for f in result["findings"] if f["severity"] == "high")}


PIPELINE = Pipeline(kind="plan", title="a key-account plan: findings and plan score",
                    build_facts=lambda evidence, kb, base: plan_facts(evidence, base), run_rules=lambda fact, kb, base: plan_findings(fact, base), shape=_shape,
                    templates=("plans.html.j2",), summary=summary)
