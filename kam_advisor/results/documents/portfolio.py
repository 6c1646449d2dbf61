"""A portfolio scored (``kind: "portfolio"``, `accounts score --format json`): every account
placed and advised, the summary, the portfolio's findings and the rows skipped."""

from __future__ import annotations

from typing import Any, Literal

from kam_advisor.results.documents.account import PortfolioAccount, RatingLeftOut, Scoring
from kam_advisor.results.documents.base import Doc, Tool


class Skipped(Doc):
    row: int
    error: str


class Portfolio(Doc):
    kind: Literal["portfolio"]
    schema_version: int
    tool: Tool
    kb_version: str | None
    source: str
    scoring: Scoring
    ignored_columns: list[str]
    accounts: list[PortfolioAccount]
    summary: dict[str, Any]
    findings: list[dict[str, Any]]
    skipped: list[Skipped]
    warnings: list[RatingLeftOut]
