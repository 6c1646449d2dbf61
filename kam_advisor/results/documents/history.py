"""The history's documents: `history` (an organisation's audits listed), `compare` and `target`
(comparison, trend, target progress and the units roll-up) and the report's progress page."""

from __future__ import annotations

from typing import Any

from kam_advisor.results.documents.base import Doc


class SincePrevious(Doc):
    id: str
    date: str
    stage: str
    actions_done: int
    checklist_done: float | None


class ListedAudit(Doc):
    id: str
    organisation: str
    unit: str | None
    date: str
    assessor: str | None
    saved_at: str
    questionnaire: str | None
    questionnaire_version: str | None
    kb_version: str | None
    tool_version: str | None
    respondents: list[str]
    achieved: str | None
    current: str | None
    confidence: str | None
    coverage: float | None
    red_flags: int
    actions_done: int
    actions_applicable: int
    checklist_done: float | None
    since_previous: SincePrevious | None


class History(Doc):
    schema_version: int
    organisation: str
    audits: list[ListedAudit]


class StageName(Doc):
    id: str
    name: str | None


class Compare(Doc):
    """``comparison`` is the two audits compared (results/compare.py), ``trend`` every audit of
    the scope, ``target`` the progress towards the stage aimed at (results/target.py), ``units``
    the organisation view of its units (results/units.py); each null when it does not apply."""
    schema_version: int
    organisation: str
    unit: str | None
    stages: list[StageName]
    comparison: dict[str, Any] | None
    trend: dict[str, Any] | list[Any] | None
    target: dict[str, Any] | None
    units: dict[str, Any] | None


class EarlierAudit(Doc):
    id: str
    date: str
    unit: str | None
    assessor: str | None
    achieved: str | None
    current: str | None
    coverage: float | None
    red_flags: int


class Progress(Doc):
    schema_version: int
    organisation: str
    unit: str | None
    earlier: list[EarlierAudit]
    target: dict[str, Any] | None
    change: dict[str, Any] | None
