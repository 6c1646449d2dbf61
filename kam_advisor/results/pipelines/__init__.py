"""One pipeline per kind of assessment, in one registry keyed by the kind.

A questionnaire declares the kind of result its answers give (``produces:`` in its YAML:
programme, account or plan); :func:`for_evidence` looks the pipeline up by that declaration,
never by the questionnaire's id. Every pipeline has the same four parts: build the facts from
its input, run the rules over them, shape the result document, and name the render layer's
templates of its kind (``kam_advisor.render.kinds`` keys its renderers by the result's ``kind``).
A new kind is one module here with a ``PIPELINE``, one line in ``MODULES``, its value in the
questionnaire schema's ``produces`` enum and its renderer in ``render/kinds.py``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean

# kind -> the module holding its PIPELINE (imported when first used: `assess` loads one of them)
MODULES = {"programme": "kam_advisor.results.pipelines.programme",
           "account": "kam_advisor.results.pipelines.account",
           "plan": "kam_advisor.results.pipelines.plan",
           "units": "kam_advisor.results.pipelines.units"}
KINDS = tuple(MODULES)


@dataclass(frozen=True)
class Pipeline:
    """One kind of assessment: facts from its input, the rules over them, the result document."""

    kind: str  # the result's `kind`, and the value a questionnaire's `produces:` names
    title: str
    build_facts: Callable[[Any, Any, Any], Any]  # (input, kb, base) -> facts
    run_rules: Callable[[Any, Any, Any], Any]  # (facts, kb, base) -> what the rules found
    shape: Callable[..., dict]  # (input, facts, found, kb, base, perception gaps) -> result
    templates: tuple[str, ...]  # the render layer's templates for results of this kind
    summary: Callable[[dict], dict] | None = None  # its `batch` summary.csv columns
    from_answers: bool = True  # a questionnaire may produce it (units come from stored audits)

    def assess(self, source: Any, kb, base, perception_gaps=None) -> dict:
        facts = self.build_facts(source, kb, base)
        return self.shape(source, facts, self.run_rules(facts, kb, base), kb, base, list(perception_gaps or []))


def pipeline(kind: str) -> Pipeline:
    """The pipeline of a kind of result."""
    if kind not in MODULES:
        hint = did_you_mean(kind, KINDS) or f" (known: {', '.join(KINDS)})"
        raise DataError(f"unknown kind of result '{kind}'{hint}")
    return importlib.import_module(MODULES[kind]).PIPELINE


def for_evidence(evidence) -> Pipeline:
    """The pipeline that assesses answers: the one their questionnaire's `produces:` declares."""
    found = pipeline(evidence.produces)
    if not found.from_answers:
        raise DataError(f"questionnaire '{evidence.questionnaire}': a {found.kind} result does not come from answers")
    return found
