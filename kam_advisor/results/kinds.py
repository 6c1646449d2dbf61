"""Questionnaires that do not assess the programme give results of their own.

An ``account`` answers file gives an account result (its name, scores, quadrant and advice);
a ``ka-plan`` answers file gives a plan result (findings and plan score). Every result names
its ``kind``: "programme", "account", "plan" (and "portfolio" for `accounts score`).
"""

from __future__ import annotations

from kam_advisor.answers.files import Evidence
from kam_advisor.data.cells import spreadsheet_cell

OWN_RESULTS = ("account", "ka-plan")


def result_for(evidence: Evidence, kb, base, perception_gaps=None) -> dict | None:
    """The result of a questionnaire with a result of its own; None for a programme questionnaire."""
    if evidence.questionnaire == "account":
        from kam_advisor.results.account import account_result
        return account_result(evidence, kb, base, perception_gaps)
    if evidence.questionnaire == "ka-plan":
        from kam_advisor.results.plan import plan_result
        return plan_result(evidence, kb, base, perception_gaps=perception_gaps)
    return None


def summary_columns(result: dict) -> dict:
    """The `batch` summary.csv columns of an account or plan result."""
    if result["kind"] == "account":
        return {"kind": "account", "questionnaire": result["questionnaire"], "organisation": spreadsheet_cell(result.get("organisation") or ""),
                "account": spreadsheet_cell(result["name"]), "customer_attractiveness": _blank(result["customer_attractiveness"]["score"]),
                "supplier_attractiveness": _blank(result["supplier_attractiveness"]["score"]),
                "quadrant": result["quadrant"]["name"], "advice": result["advice"]["title"],
                "red_flags": len(result["flags"]), "high_flags": sum(1 for f in result["flags"] if f["severity"] == "high")}
    return {"kind": "plan", "questionnaire": result.get("questionnaire") or "", "organisation": spreadsheet_cell(result.get("organisation") or ""),
            "account": spreadsheet_cell(result["customer"]), "plan_score": result["score"]["value"], "red_flags": len(result["findings"]),
            "high_flags": sum(1 for f in result["findings"] if f["severity"] == "high")}


def _blank(v):
    return "" if v is None else v
