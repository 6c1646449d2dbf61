"""The account pipeline: one account's attractiveness, quadrant and advice."""

from __future__ import annotations

from kam_advisor.data.cells import spreadsheet_cell
from kam_advisor.results.account import account_document, account_facts, account_rules
from kam_advisor.results.pipelines import Pipeline


def summary(result: dict) -> dict:
    return {"kind": "account", "questionnaire": result["questionnaire"], "organisation": spreadsheet_cell(result.get("organisation") or ""),
            "account": spreadsheet_cell(result["name"]), "customer_attractiveness": _blank(result["customer_attractiveness"]["score"]),
            "supplier_attractiveness": _blank(result["supplier_attractiveness"]["score"]),
            "quadrant": result["quadrant"]["name"], "advice": result["advice"]["title"],
            "red_flags": len(result["flags"]), "high_flags": sum(1 for f in result["flags"] if f["severity"] == "high")}


def _blank(v):
    return "" if v is None else v


PIPELINE = Pipeline(kind="account", title="one account: attractiveness, quadrant and advice",
                    build_facts=account_facts, run_rules=account_rules, shape=account_document,
                    templates=("account.html.j2",), summary=summary)
