"""The renderer of each kind of result, keyed by the result's `kind` (never by questionnaire).

A programme result is rendered by the report itself (``report.render``); the other kinds have
reports of their own. The results layer's pipelines (``kam_advisor.results.pipelines``) name
the templates each kind uses.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

# kind -> (module, function) of its renderer: function(result, fmt) -> text
RENDERERS = {"programme": ("kam_advisor.render.report", "render"),
             "account": ("kam_advisor.render.accounts", "render_account"),
             "plan": ("kam_advisor.render.plan", "render_plan"),
             # a units roll-up is shown inside the history document (`history`), under `units`
             "units": ("kam_advisor.render.history", "render")}


def renderer(kind: str) -> Callable[[Mapping[str, Any], str], str]:
    module, name = RENDERERS[kind]
    return getattr(importlib.import_module(module), name)


def is_own(result: Mapping[str, Any]) -> bool:
    """Whether a result has a report of its own (any kind but the programme's)."""
    return result.get("kind", "programme") in RENDERERS and result.get("kind", "programme") != "programme"


def render_own(result: Mapping[str, Any], fmt: str) -> str:
    return renderer(result["kind"])(result, fmt)
