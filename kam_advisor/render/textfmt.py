"""Small plain-text renderers shared by CLI commands: tables and key/value blocks."""

from __future__ import annotations

import textwrap
from typing import Any, Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A fixed-width table; ``align`` is one letter per column, 'l' or 'r'."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" * len(headers)

    def fmt(row):
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, widths, align)]
        return "  ".join(parts).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells[1:]]
    return "\n".join(lines)


def block(data: dict, width: int = 80, indent: int = 0) -> str:
    """A readable key: value rendering of nested plain data."""
    pad = " " * indent
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{pad}{key}:")
            out.append(block(value, width, indent + 2))
        elif isinstance(value, list):
            out.append(f"{pad}{key}:")
            for v in value:
                text = v if not isinstance(v, dict) else ", ".join(f"{k}={w}" for k, w in v.items())
                out.append(textwrap.fill(str(text), width, initial_indent=pad + "  - ",
                                         subsequent_indent=pad + "    "))
        else:
            out.append(textwrap.fill(f"{key}: {value}", width, initial_indent=pad, subsequent_indent=pad + "  "))
    return "\n".join(out)


def md_cell(text: Any) -> str:
    """A value made inert in Markdown, one line (a table cell, a heading): no markup, no HTML."""
    return str(text).replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|") \
        .replace("*", "\\*").replace("_", "\\_").replace("\n", " ")
