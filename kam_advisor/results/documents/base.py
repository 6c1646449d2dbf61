"""What every result document shares: the base struct, the tool record, a trace entry."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType  # noqa: F401  (re-exported for the document modules)

Stage = str          # "A".."D" (the knowledge base's stage ids)
Facts = dict[str, Any]


class Doc(msgspec.Struct):
    """A part of a result document: fields in the document's key order; a field that may be
    absent is ``UNSET`` and stays absent in JSON."""


class Tool(Doc):
    name: str
    version: str


class TraceEntry(Doc):
    id: str
    type: str
    rule: str | None
    because: list[str]
    text: str | None


def present(value: Any) -> Any:
    """An optional field's value, or None where the document leaves it out (``UNSET``)."""
    return None if value is UNSET else value


class Flag(Doc):
    """A red flag as every kind of result states it (a programme's flag adds its plan fields)."""
    id: str
    severity: str | None
    title: str
    message: str
    advice: str | None
    source: str | None
    kb_ref: str | None
    rule: str
