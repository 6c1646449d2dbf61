"""The programme pipeline: a KAM programme's stages, red flags, recommendations and plan."""

from __future__ import annotations

from kam_advisor.reasoning.inference import infer
from kam_advisor.results.assessment import build_result
from kam_advisor.results.pipelines import Pipeline


def _facts(evidence, kb, base):
    return evidence  # reasoning.inference builds the programme's facts (cells, facets, roll-ups) as it runs


def _shape(evidence, facts, run, kb, base, gaps) -> dict:
    return build_result(evidence, kb, base, run, gaps)


def summary(result: dict) -> dict:
    o = result["overall"]
    return dict(organisation=result.get("organisation") or "", questionnaire=result["questionnaire"],
                achieved=o["achieved"] or "", current=o["current"] or "", confidence=o.get("confidence") or "",
                answered=result["coverage"]["answered"], total=result["coverage"]["total"],
                red_flags=len(result["red_flags"]),
                high_flags=sum(1 for x in result["red_flags"] if x["severity"] == "high"),
                recommendations=len(result["recommendations"]), kind="programme")


PIPELINE = Pipeline(kind="programme", title="the KAM programme: stages, red flags, recommendations and plan",
                    build_facts=_facts, run_rules=lambda evidence, kb, base: infer(evidence, kb, base),
                    shape=_shape, templates=("report.txt.j2", "report.md.j2", "report.html.j2"), summary=summary)
