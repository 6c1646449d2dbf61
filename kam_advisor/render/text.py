"""The short plain-text summary of an assessment for the terminal (`assess --format text`).

It is the text report's first part (cover lines, executive summary, first phase of the plan),
rendered by the same template, so the terminal and the report never say different things.
"""

from __future__ import annotations

from typing import Mapping

from kam_advisor.render import kinds
from kam_advisor.render.report import render


def render_text(result: Mapping, color: bool = False) -> str:
    """The terminal summary of one assessment (an account or plan result: its own text report)."""
    if kinds.is_own(result):
        return kinds.render_own(result, "text")
    return render(result, "text", color=color, summary_only=True)
