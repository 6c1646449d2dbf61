"""Rendering of the results that are not a programme diagnosis (account, plan), by their `kind`."""

from __future__ import annotations

from typing import Any, Mapping

OWN_KINDS = ("account", "plan")


def is_own(result: Mapping[str, Any]) -> bool:
    return result.get("kind") in OWN_KINDS


def render_own(result: Mapping[str, Any], fmt: str) -> str:
    if result["kind"] == "account":
        from kam_advisor.render.accounts import render_account
        return render_account(result, fmt)
    from kam_advisor.render.plan import render_plan
    return render_plan(result, fmt)
