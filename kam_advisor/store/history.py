"""An organisation's history as one plain document: two audits compared, the trend over all of
them, progress towards its target stage and the roll-up of its units (what ``compare`` and
``target`` render), and the listing ``history`` prints, with the movement within a stage from
one audit to the next. Reads the store; the comparison, trend, target and unit measures are the
results layer's.
"""

from __future__ import annotations

from kam_advisor.results.documents.versions import VERSIONS
from kam_advisor.data.errors import DataError
from kam_advisor.results.compare import checklist_done, compare, stage_rank, trend
from kam_advisor.results.target import progress
from kam_advisor.store.audits import Store


def _scope(store, organisation: str, unit: str | None, every=None):
    """The audits compared and charted: the unit's, else the whole organisation's (no unit)."""
    every = store.audits(organisation, summaries=False) if every is None else every
    rows = [a for a in every if a.unit == unit]
    if not every:
        from kam_advisor.data.suggest import did_you_mean
        known = [name for name, _ in store.organisations()]
        raise DataError(f"no audits of '{organisation}' in {store.url}{did_you_mean(organisation, known)}")
    return rows


def _label(a) -> dict:
    return {"id": a.id, "date": a.date, "unit": a.unit, "assessor": a.assessor}


def _rollup(store, every, rules_dir, kb_dir):
    """The organisation view of its units (latest audit of each), when it has two or more; read
    from the stored summaries (stages, dimensions, action statuses), not the full results."""
    latest = {}
    for a in every:
        if a.unit is not None:
            latest[a.unit] = a
    if len(latest) < 2:
        return None
    from kam_advisor.results.bases import load_bases
    from kam_advisor.results.pipelines import pipeline
    kb, base = load_bases(kb_dir, rules_dir)
    units = []
    summaries = store.summaries(a.id for a in latest.values())
    older = [i for i, s in summaries.items() if "statuses" not in s or "stages" not in s or "red_flags" not in s]
    results = store.results(older) if older else {}    # summaries saved before they held statuses, flags
    for name, a in sorted(latest.items()):
        s = summaries[a.id]
        view = results.get(a.id) or {
            "stages": s["stages"], "overall": s["overall"], "dimensions": s["dimensions"], "red_flags": s["red_flags"],
            "answers": [{"item": i, "status": st} for i, st in s["statuses"].items()]}
        units.append({"unit": name, "id": a.id, "date": a.date, "result": view})
    return pipeline("units").assess(units, kb, base)


def history_document(store, organisation: str, unit: str | None = None, from_id: str | None = None,
                     to_id: str | None = None, kb_dir=None, rules_dir=None) -> dict:
    """Comparison, trend, target progress and units of an organisation, as one plain document."""
    every = store.audits(organisation, summaries=False)
    rows = _scope(store, organisation, unit, every)
    by_id = {a.id: a for a in every}
    pair = []
    for given in (from_id, to_id):
        if given:
            full = store.resolve(given)
            if full not in by_id:
                raise DataError(f"audit {full} is not an audit of '{organisation}'")
            pair.append(by_id[full])
    if len(pair) < 2:
        others = [a for a in rows if a not in pair]
        if not pair:
            pair = others[-2:]
        elif from_id:
            later = [a for a in others if (a.date, a.saved_at) > (pair[0].date, pair[0].saved_at)]
            pair = pair + (later[-1:] or others[-1:])
        else:
            earlier = [a for a in others if (a.date, a.saved_at) < (pair[0].date, pair[0].saved_at)]
            pair = (earlier[-1:] or others[:1]) + pair
    target = store.target(organisation, unit)
    wanted = [a.id for a in pair] + ([rows[0].id, rows[-1].id] if target and rows else [])
    results = store.results(set(wanted))
    doc = {"schema_version": VERSIONS["compare"], "organisation": organisation, "unit": unit, "stages": [],
           "comparison": None,
           "trend": None,
           "target": None, "units": _rollup(store, every, rules_dir, kb_dir) if unit is None else None}
    latest = results.get(rows[-1].id) if rows and rows[-1].id in results else (results[pair[-1].id] if pair else None)
    if latest is not None:
        doc["stages"] = [{"id": s["id"], "name": s.get("name")} for s in latest.get("stages") or []]
    if rows:
        summaries = store.summaries(a.id for a in rows)
        doc["trend"] = trend([{"id": a.id, "date": a.date, "unit": a.unit, "summary": summaries[a.id]} for a in rows])
    if len(pair) == 2:
        old, new = results[pair[0].id], results[pair[1].id]
        aliases = None
        if old.get("kb_version") != new.get("kb_version"):     # answers follow renamed actions
            from kam_advisor.data import knowledge
            aliases = knowledge.load_cached(str(kb_dir) if kb_dir else None).aliases
        doc["comparison"] = compare(old, new, _label(pair[0]), _label(pair[1]), aliases)
    if target and rows:
        doc["target"] = progress(results[rows[0].id], results[rows[-1].id], target["stage"], target["by"],
                                 rows[0].date, rows[-1].date)
    if doc["comparison"] is None and doc["units"] is None and doc["target"] is None:
        scope = f"unit '{unit}' of '{organisation}'" if unit else f"'{organisation}' as a whole"
        units = sorted({a.unit for a in by_id.values() if a.unit})
        hint = f" (units: {', '.join(units)}; give --unit NAME)" if units and not unit else ""
        raise DataError(f"{scope} has {len(rows)} audit{'s' if len(rows) != 1 else ''}: nothing to compare{hint}")
    return doc


def set_target(store: Store, organisation: str, stage: str, by_date: str | None = None,
               unit: str | None = None) -> dict:
    """Record the stage the organisation (or unit) aims at, and its progress towards it as a
    history document: percent-to-target, progress since the first audit, the actions phased."""
    rows = _scope(store, organisation, unit)
    if not rows:
        raise DataError(f"no audits of {('unit ' + repr(unit) + ' of ') if unit else ''}'{organisation}'"
                        f"{'' if unit else ' as a whole'} to measure a target against")
    results = store.results({rows[0].id, rows[-1].id})
    stages = [s["id"] for s in results[rows[-1].id].get("stages") or []]
    if stage not in stages:
        raise DataError(f"--stage: expected one of {', '.join(stages)} (got {stage!r})")
    store.set_target(organisation, stage, by_date, unit)
    return {"schema_version": VERSIONS["compare"], "organisation": organisation, "unit": unit,
            "stages": [{"id": s["id"], "name": s.get("name")} for s in results[rows[-1].id]["stages"]],
            "comparison": None, "trend": None, "units": None,
            "target": progress(results[rows[0].id], results[rows[-1].id], stage, by_date, rows[0].date,
                               rows[-1].date)}


def history_listing(store: Store, organisation: str, unit: str | None = None) -> dict:
    """``history``'s document: ``{organisation, audits[]}``, oldest first, each audit the stored
    summary (:meth:`AuditSummary.as_json`) with how much of the checklist it found done
    (``actions_done``, ``actions_applicable``, ``checklist_done``: done over applicable) and, from
    the audit before it of the same unit, ``since_previous {id, date, stage (up, down or same),
    actions_done, checklist_done}``: the movement within a stage, so that two audits at one stage
    a year apart do not read the same."""
    rows = store.audits(organisation, unit)
    if not rows:
        from kam_advisor.data.suggest import did_you_mean
        units = sorted({a.unit for a in store.audits(organisation, summaries=False) if a.unit})
        if unit is not None and (units or store.audits(organisation, "", summaries=False)):
            raise DataError(f"no audits of unit '{unit}' of '{organisation}' (units: {', '.join(units) or 'none'})")
        known = [name for name, _ in store.organisations()]
        raise DataError(f"no audits of '{organisation}' in {store.url}{did_you_mean(organisation, known)}")
    older = [a.id for a in rows if "statuses" not in a.summary]
    results = store.results(older) if older else {}      # summaries saved before they held statuses
    audits, previous = [], {}
    for a in rows:
        statuses = a.summary.get("statuses")
        if statuses is None:
            statuses = {x["item"]: x.get("status") for x in results[a.id].get("answers") or []}
        counts = checklist_done(statuses)
        stages = [s.get("id") for s in a.summary.get("stages") or []] or ["A", "B", "C", "D"]
        entry = {**a.as_json(), "actions_done": counts["done"], "actions_applicable": counts["applicable"],
                 "checklist_done": counts["share"], "since_previous": None}
        before = previous.get(a.unit)
        if before is not None:
            r0, r1 = stage_rank(stages, before["achieved"]), stage_rank(stages, entry["achieved"])
            entry["since_previous"] = {
                "id": before["id"], "date": before["date"], "stage": "up" if r1 > r0 else "down" if r1 < r0 else "same",
                "actions_done": entry["actions_done"] - before["actions_done"],
                "checklist_done": None if entry["checklist_done"] is None or before["checklist_done"] is None
                else round(entry["checklist_done"] - before["checklist_done"], 4)}
        previous[a.unit] = entry
        audits.append(entry)
    return {"schema_version": VERSIONS["history"], "organisation": organisation, "audits": audits}
