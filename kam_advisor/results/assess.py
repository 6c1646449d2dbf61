"""Assess answers files by the pipeline of the kind of result their questionnaire produces.

Above the pipelines (the programme pipeline shapes its result in ``results.assessment``), so the
pipelines never import back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from kam_advisor.results.assessment import evidence_from_files
from kam_advisor.results.bases import load_bases
from kam_advisor.results.pipelines import for_evidence


def assess_files(paths: Sequence[str | Path], kb_dir=None, rules_dir=None, questionnaires=None) -> dict:
    """Assess one answers file, or several respondents' files of one questionnaire, by the
    pipeline of the kind of result the questionnaire produces (programme, account, plan).
    ``questionnaires``: the folder of questionnaires the answers name (default the built-in one)."""
    kb, base = load_bases(kb_dir, rules_dir)
    evidence, gaps = evidence_from_files(paths, kb, base.facts, questionnaires)
    return for_evidence(evidence).assess(evidence, kb, base, gaps)
