"""The `assess` result of a programme questionnaire (``kind: "programme"``): the README's
"JSON contract of `assess`" as types."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from kam_advisor.results.documents.base import UNSET, Doc, Facts, Flag, Stage, Tool, TraceEntry, UnsetType


class StageInfo(Doc):
    id: Stage
    name: str
    description: str


class State(Doc):
    achieved: Stage | None
    current: Stage | None
    assessed: bool
    rule: str | None
    because: list[str]
    reason: str | None


class Overall(State):
    id: str
    name: str
    confidence: str | None
    indicative: bool


class Dimension(Doc):
    id: str
    name: str
    achieved: Stage | None
    current: Stage | None
    assessed: bool
    rule: str | None
    because: list[str]
    reason: str | None
    score: int | None


class Area(Doc):
    id: str
    name: str
    dimension: str
    achieved: Stage | None
    current: Stage | None
    assessed: bool
    rule: str | None
    because: list[str]
    reason: str | None
    score: int | None


class Cell(Doc):
    total: int
    done: int
    partial: int
    not_started: int
    na: int
    dont_know: int
    unanswered: int
    met: bool
    status: str | None


class Topic(Doc):
    id: str
    name: str
    label: str
    area: str
    dimension: str
    achieved: Stage | None
    current: Stage | None
    assessed: bool
    rule: str | None
    because: list[str]
    reason: str | None
    completion: dict[Stage, float | None]
    cells: dict[Stage, Cell]


class Facet(Doc):
    id: str
    name: str
    score: int | None
    band: str | None
    rule: str | None
    because: list[str]
    reason: str
    strongest: list[str]
    weakest: list[str]


class Recommendation(Doc):
    id: str
    item: str
    text: str
    topic: str
    stage: Stage
    status: str
    priority: str | None
    rank: int
    rule: str
    because: list[str]
    reason: str
    phase: str | None
    topic_name: str


class PlanAction(Doc):
    kind: Literal["flag", "action", "assess"]
    id: str
    item: str | None
    text: str
    topic: str | None
    stage: Stage | None
    status: str | None
    priority: str | None
    reason: str
    rule: str
    because: list[str]


class Phase(Doc, kw_only=True):
    """A phase as rules/plan.yaml declares it (``capacity`` where it caps the phase), what the
    phase before had no room for (``carried``) and the plan's word on it (``note``), its actions."""
    id: str
    name: str
    months: int
    capacity: int | UnsetType = UNSET
    carried: int | UnsetType = UNSET
    note: str | UnsetType = UNSET
    actions: list[PlanAction]


class Plan(Doc):
    phases: list[Phase]


class RoadmapAction(Doc):
    item: str
    text: str
    topic: str
    status: str
    rule: str
    because: list[str]
    phase: str | None
    reason: str
    topic_name: str
    priority: str


class RoadmapStep(Doc):
    stage: Stage
    name: str
    actions: list[RoadmapAction]


class Roadmap(Doc):
    from_: Stage | None = msgspec.field(name="from")
    to: Stage | None
    steps: list[RoadmapStep]


class RedFlag(Flag):
    because: list[str]
    action: str | None
    phase: str | None
    source_title: str | None
    topic: str | None
    topic_name: str | None


class Coverage(Doc):
    answered: int
    total: int
    dont_know: int
    na: int
    ratio: float
    confidence: str | None
    rule: str | None
    reason: str | None
    scope: int
    scope_answered: int
    scope_ratio: float
    screening: bool


class Answer(Doc):
    item: str
    topic: str
    stage: Stage
    text: str
    status: str
    note: str | None


class Headline(Doc):
    text: str
    rule: str
    because: list[str]


class Ahead(Doc):
    unit: str
    name: str
    achieved: Stage | None


class Lagging(Doc):
    unit: str
    level: str
    name: str
    achieved: Stage | None
    text: str
    held_back_by: list[str]
    rule: str
    because: list[str]
    ahead: list[Ahead]
    risk: str | None


class StageSkipping(Doc):
    text: str
    topics: list[str]
    flags: list[str]
    rule: str
    because: list[str]


class Hallmark(Doc):
    text: str
    topic: str
    topic_name: str


class LaterHallmark(Hallmark):
    stage: Stage


class StageSummary(Doc):
    stage: Stage
    name: str
    description: str
    in_place: list[Hallmark]
    not_in_place: list[Hallmark]
    not_shown: list[Hallmark]
    under_way: list[Hallmark]
    beyond: list[LaterHallmark]


class Screening(Doc):
    text: str
    scope: int
    total: int
    not_covered: list[str]
    rule: str
    because: list[str]


class LargestGap(Doc):
    item: str
    text: str
    topic_name: str
    view: str
    audit: str
    questionnaire_title: str | None
    respondents: list[str]


class PerceptionFact(Doc):
    fact: str
    text: str
    view: Any
    audit: Any
    rosier: bool
    questionnaire_title: str | None
    respondents: list[str]


class BetweenRespondents(Doc):
    questions: int
    respondents: list[str]
    largest: list[str]


class ByRespondent(Doc):
    respondent: str
    higher: int
    lower: int
    rosier: bool


class Perception(Doc):
    rosier: bool
    higher: int
    lower: int
    largest: list[LargestGap]
    facts: list[PerceptionFact]
    between_respondents: BetweenRespondents | None
    by_respondent: list[ByRespondent]
    rule: str
    because: list[str]


class HeldBack(Doc):
    text: str
    stage: Stage | None
    topics: list[str]
    rule: str
    because: list[str]


class Summary(Doc):
    headline: Headline
    lagging: list[Lagging]
    stage_skipping: StageSkipping | None
    achieved_stage: StageSummary | None
    current_stage: StageSummary | None
    screening: Screening | None
    not_assessed: list[str]
    perception: Perception | None
    held_back: HeldBack | None


class GapAnswer(Doc):
    respondent: str
    file: str | None
    answer: Any


class PerceptionGap(Doc):
    """Respondents of one questionnaire who disagree on a question (or a fact given directly)."""
    question: str
    text: str
    spread: int | float
    answers: list[GapAnswer]
    questionnaire: str | UnsetType = UNSET
    questionnaire_title: str | None | UnsetType = UNSET


class ViewGap(Doc):
    item: str
    questionnaire: str
    questionnaire_title: str | None
    respondents: list[str]
    view: str
    audit: str
    spread: int
    because: list[str]
    text: str
    topic: str
    topic_name: str


class ViewFactGap(Doc):
    fact: str
    text: str
    questionnaire: str
    questionnaire_title: str | None
    respondents: list[str]
    view: Any
    audit: Any
    rosier: bool
    because: list[str]


class View(Doc):
    questionnaire: str
    questionnaire_title: str | None
    respondents: list[str]


class Term(Doc):
    term: str
    meaning: str


class Source(Doc):
    id: str
    title: str


class Assessment(Doc):
    kind: Literal["programme"]
    schema_version: int
    tool: Tool
    kb_version: str | None
    questionnaire: str | None
    questionnaire_title: str | None
    organisation: str | None
    assessor: str | None
    date: str | None
    respondents: list[str]
    stages: list[StageInfo]
    overall: Overall
    summary: Summary
    dimensions: list[Dimension]
    areas: list[Area]
    topics: list[Topic]
    facets: list[Facet]
    recommendations: list[Recommendation]
    plan: Plan
    roadmap: Roadmap
    red_flags: list[RedFlag]
    coverage: Coverage
    answers: list[Answer]
    facts: Facts
    perception_gaps: list[PerceptionGap]
    view_gaps: list[ViewGap]
    view_fact_gaps: list[ViewFactGap]
    views: list[View]
    method: list[str]
    parameters: dict[str, Any]
    glossary: list[Term]
    sources: list[Source]
    trace: list[TraceEntry]
    reassessment: dict[str, Any] | UnsetType = UNSET
