"""An account's result (``kind: "account"``, an ``account`` answers file) and one account of a
portfolio: scores, quadrant on the mutual-attractiveness matrix, advice, moves, flags."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from kam_advisor.results.documents.base import UNSET, Doc, Facts, Flag, Tool, TraceEntry, UnsetType


class RatingLeftOut(Doc):
    """A rating cell that did not hold (e.g. 6 on a 1-5 scale): the account is scored without it."""
    row: int | None
    column: str
    value: Any
    expected: str
    where: str
    message: str
    account: str | UnsetType = UNSET


class CustomerAttractiveness(Doc):
    score: int | float | None
    attractive: bool | None
    ratings: dict[str, float]
    reason: str


class SupplierAttractiveness(Doc):
    score: int | float | None
    attractive: bool | None
    buysell_level: str | None
    treats_us_as_key: bool | None
    price_only: bool | None
    reason: str


class Quadrant(Doc):
    id: str
    name: str
    rule: str
    because: list[str]
    reason: str


class Advice(Doc):
    action: str
    title: str
    text: str | None
    rule: str


class Move(Doc):
    direction: str
    rule: str
    because: list[str]
    reason: str


class Moved(Doc):
    from_: str | None = msgspec.field(name="from")
    to: str
    from_name: str | None
    to_name: str
    rule: str
    reason: str


class Review(Doc):
    id: str
    rule: str
    reason: str
    because: list[str]


class Criterion(Doc):
    name: str
    weight: int | float


class Scoring(Doc):
    criteria: dict[str, Criterion]
    criteria_min: int | float
    rated_share_min: int | float
    customer_attractive_min: int | float
    supplier_attractive_min: int | float
    supplier_points: dict[str, int | float]
    supplier_weights: dict[str, int | float]
    key_accounts_max: int | float
    accounts_per_kam_max: int | float


class PortfolioAccount(Doc):
    row: int
    id: str | None
    name: str
    manager: str | None
    key_account: bool | None
    revenue: int | float | None
    potential: int | float | None
    customer_attractiveness: CustomerAttractiveness
    supplier_attractiveness: SupplierAttractiveness
    quadrant: Quadrant
    advice: Advice
    move: Move | None
    moved: Moved | None
    flags: list[Flag]
    reviews: list[Review]
    key_list: str | None
    warnings: list[RatingLeftOut]


class Account(Doc):
    kind: Literal["account"]
    schema_version: int
    tool: Tool
    kb_version: str | None
    questionnaire: str | None
    organisation: str | None
    assessor: str | None
    date: str | None
    respondents: list[str]
    id: str | None
    name: str
    manager: str | None
    key_account: bool | None
    revenue: int | float | None
    potential: int | float | None
    customer_attractiveness: CustomerAttractiveness
    supplier_attractiveness: SupplierAttractiveness
    quadrant: Quadrant
    advice: Advice
    move: Move | None
    moved: Moved | None
    flags: list[Flag]
    reviews: list[Review]
    key_list: str | None
    warnings: list[RatingLeftOut]
    scoring: Scoring
    facts: Facts
    perception_gaps: list[dict[str, Any]]
    trace: list[TraceEntry]
    reassessment: dict[str, Any] | UnsetType = UNSET
