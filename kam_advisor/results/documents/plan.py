"""A key-account plan's health check (``kind: "plan"``): findings, score, elements assessed."""

from __future__ import annotations

from typing import Any, Literal

from kam_advisor.results.documents.base import UNSET, Doc, Facts, Tool, TraceEntry, UnsetType


class Score(Doc):
    value: int
    reason: str
    rule: str
    because: list[str]


class Finding(Doc):
    id: str
    element: str | None
    element_name: str | None
    severity: str | None
    title: str
    message: str
    advice: str | None
    source: str | None
    kb_ref: str | None
    rule: str
    penalty: int | float


class Element(Doc):
    id: str
    name: str
    assessed: bool
    findings: int


class Plan(Doc, kw_only=True):
    """From a plan file, ``file`` names it; from ``ka-plan`` answers, the questionnaire, who and
    when, and the respondents' disagreements take its place."""
    kind: Literal["plan"]
    schema_version: int
    tool: Tool
    kb_version: str | None
    file: str | UnsetType = UNSET
    questionnaire: str | None | UnsetType = UNSET
    organisation: str | None | UnsetType = UNSET
    assessor: str | None | UnsetType = UNSET
    date: str | None | UnsetType = UNSET
    respondents: list[str] | UnsetType = UNSET
    perception_gaps: list[dict[str, Any]] | UnsetType = UNSET
    customer: str
    as_of: str
    score: Score
    findings: list[Finding]
    elements: list[Element]
    facts: Facts
    trace: list[TraceEntry]
