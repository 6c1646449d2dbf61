"""A new assessment against the organisation's history: its earlier audits and its target.

What the diagnostic report shows with ``report --progress``: the audits of the organisation (or
of one unit) saved before this assessment's date, and, when a target stage is recorded
(``kam-advisor target``), progress towards it measured from the first of those audits to this
assessment (:func:`kam_advisor.results.target.progress`), and what changed since the latest of
them, regressions first (:func:`kam_advisor.results.compare.change_summary`: the executive
summary of a re-audit opens with it). Plain data; rendering is the report's.
"""

from __future__ import annotations

from typing import Any, Mapping

from kam_advisor.results.documents.versions import VERSIONS
from kam_advisor.results.compare import change_summary, compare
from kam_advisor.results.target import progress
from kam_advisor.store.audits import Store


def report_progress(store: Store, organisation: str, result: Mapping[str, Any], unit: str | None = None,
                    this_audit: str | None = None, by_date: bool = True) -> dict | None:
    """``{organisation, unit, earlier[], target, change}`` for ``result``; None when the store holds
    neither an earlier audit nor a target of that organisation (or unit).

    Earlier audits are all but ``this_audit`` (the id this very assessment is saved under, if it
    is) and, with ``by_date``, those dated before the assessment: an audit saved with the same
    date is taken for this assessment itself (``report`` after ``assess --save``)."""
    date = str(result["date"]) if result.get("date") else None
    rows = [a for a in store.audits(organisation, unit or "", summaries=False)
            if a.id != this_audit and (not by_date or date is None or a.date < date)]
    target = store.target(organisation, unit)
    if not rows and target is None:
        return None
    earlier = [{"id": a.id, "date": a.date, "unit": a.unit, "assessor": a.assessor, "achieved": a.stage_achieved,
                "current": a.stage_current, "coverage": a.coverage, "red_flags": a.red_flags} for a in rows]
    wanted = {rows[0].id, rows[-1].id} if rows else set()
    results = store.results(wanted) if wanted else {}
    towards = None
    if target is not None:
        first = results[rows[0].id] if rows else result
        towards = progress(first, result, target["stage"], target["by"], rows[0].date if rows else date, date)
    change = None
    if rows:
        last = rows[-1]
        old = results[last.id]
        aliases = None
        if old.get("kb_version") != result.get("kb_version"):     # answers follow renamed actions
            from kam_advisor.data import knowledge
            aliases = knowledge.load_cached(None).aliases
        label = {"id": last.id, "date": last.date, "unit": last.unit, "assessor": last.assessor}
        change = change_summary(compare(old, result, label, {"id": this_audit, "date": date, "unit": unit}, aliases),
                                old, result)
    return {"schema_version": VERSIONS["progress"], "organisation": organisation, "unit": unit, "earlier": earlier,
            "target": towards, "change": change}
