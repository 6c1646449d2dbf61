"""The optional parts of kam-advisor (pyproject extras) and the one line a command says when the
part it needs is not installed."""

from __future__ import annotations

PDF = "pdf"            # Playwright: `report --format pdf`
POSTGRES = "postgres"  # psycopg 3: a postgresql:// history database


def missing(what: str, extra: str) -> str:
    """``PDF reports need the pdf extra: pip install 'kam-advisor[pdf]'``."""
    return f"{what} needs the {extra} extra: pip install 'kam-advisor[{extra}]'"
