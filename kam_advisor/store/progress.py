"""A new assessment against the organisation's history: its earlier audits and its target.

What the diagnostic report shows with ``report --progress``: the audits of the organisation (or
of one unit) saved before this assessment's date, and, when a target stage is recorded
(``kam-advisor target``), progress towards it measured from the first of those audits to this
assessment (:func:`kam_advisor.results.target.progress`). Plain data; rendering is the report's.
"""

from __future__ import annotations

from typing import Any, Mapping

from kam_advisor.results.target import progress
from kam_advisor.store.audits import Store


def report_progress(store: Store, organisation: str, result: Mapping[str, Any], unit: str | None = None,
                    this_audit: str | None = None, by_date: bool = True) -> dict | None:
    """``{organisation, unit, earlier[], target}`` for ``result``; None when the store holds
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
    towards = None
    if target is not None:
        first = store.results([rows[0].id])[rows[0].id] if rows else result
        towards = progress(first, result, target["stage"], target["by"], rows[0].date if rows else date, date)
    return {"organisation": organisation, "unit": unit, "earlier": earlier, "target": towards}
