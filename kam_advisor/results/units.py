"""The organisation view of several units audited separately (regions, business units).

Pure: the latest `assess` result of each unit in, one roll-up out. The thresholds are params of
rules/units.yaml (``unit_rollup_share``, ``tension_stage_spread``), each with its why:

- the organisation reaches a stage (programme and each dimension) when at least
  ``unit_rollup_share`` of its assessed units reach it; it works on the next one;
- a unit *holds the organisation back* when it has not reached the stage the organisation
  works on while another unit has (listed lowest first, with the dimensions where it lags);
- the units' red flags of the highest severity are carried into the organisation view, each
  named by its unit;
- each conflict of the knowledge base (knowledge/conflicts.yaml: geography, product, service)
  whose actions some units have done and others not started is *present*: the audits show it;
- when the units' programme stages lie at least ``tension_stage_spread`` apart, each other
  conflict whose actions some units have started (partly done) and others not is one *to
  expect*.

Tensions are phrased for this organisation, from its units and the actions' texts; the
knowledge base's example question (the seed's Austria/Salzburg, Kamchatka lines) is kept as
``illustration`` (and ``question``), never as the client's facts.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from kam_advisor.data.vocab import DONE, NOT_STARTED, PARTIAL, SEVERITIES
from kam_advisor.results.compare import stage_ids, stage_rank


def _rolled(ranks: Sequence[int], stages: Sequence[str], share: float) -> tuple[str | None, str]:
    """(achieved, current) of the organisation from its units' achieved ranks."""
    best = 0
    for r in range(1, len(stages) + 1):
        if sum(1 for x in ranks if x >= r) >= math.ceil(share * len(ranks) - 1e-9):
            best = r
    achieved = stages[best - 1] if best else None
    current = stages[min(best, len(stages) - 1)]
    return achieved, current


def _reason(ranks: Mapping[str, int], stages: Sequence[str], achieved: str | None, share: float) -> str:
    n = len(ranks)
    units = f"{n} unit{'' if n == 1 else 's'}"
    if not n:
        return "no unit's programme is assessed"
    if achieved is None:
        if n == 1:
            return f"its one assessed unit has not achieved stage {stages[0]}"
        return f"fewer than {share:.0%} of the {units} have achieved stage {stages[0]}"
    reach = sum(1 for r in ranks.values() if r >= stage_rank(stages, achieved))
    return f"{reach} of {units} {'has' if reach == 1 else 'have'} achieved stage {achieved}; at least {share:.0%} must"


def _assessed(unit: Mapping[str, Any]) -> bool:
    return unit.get("assessed", True) is not False


def rollup(units: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
           conflicts: Sequence[Mapping[str, Any]] = ()) -> dict:
    """``units``: ``[{"unit": name, "date": ..., "id": audit id, "result": assess result}]``."""
    if not units:
        return {"units": [], "organisation": None, "holding_back": [], "tensions": [], "red_flags": []}
    share = float(params["unit_rollup_share"])
    spread_needed = int(params["tension_stage_spread"])
    stages = stage_ids(units[0]["result"])

    programme_ranks = {u["unit"]: stage_rank(stages, (u["result"].get("overall") or {}).get("achieved"))
                       for u in units if _assessed(u["result"].get("overall") or {})}
    achieved, current = _rolled(list(programme_ranks.values()), stages, share)

    dims: dict[str, dict] = {}
    for u in units:
        for d in u["result"].get("dimensions") or []:
            if _assessed(d):
                entry = dims.setdefault(d["id"], {"id": d["id"], "name": d.get("name"), "ranks": {}})
                entry["ranks"][u["unit"]] = stage_rank(stages, d.get("achieved"))
    dimensions = []
    for d in dims.values():
        a, c = _rolled(list(d["ranks"].values()), stages, share)
        goal = stage_rank(stages, c)
        dimensions.append({"id": d["id"], "name": d["name"], "achieved": a, "current": c,
                           "behind": sorted(n for n, r in d["ranks"].items() if r < goal and a != c)})

    goal = stage_rank(stages, current)
    holding = []
    top = max(programme_ranks.values(), default=0)
    if achieved != current:
        for name, rank in sorted(programme_ranks.items(), key=lambda kv: (kv[1], kv[0])):
            if rank < goal and rank < top:         # behind the stage worked on, and behind another unit
                holding.append({"unit": name, "achieved": stages[rank - 1] if rank else None,
                                "dimensions": [d["name"] for d in dimensions if name in d["behind"]]})

    spread = (max(programme_ranks.values()) - min(programme_ranks.values())) if programme_ranks else 0
    statuses = {u["unit"]: {a["item"]: a.get("status") for a in u["result"].get("answers") or []} for u in units}
    texts = {a["item"]: a.get("text") for u in units for a in u["result"].get("answers") or [] if a.get("text")}
    tensions = []
    for c in conflicts:
        item_texts = {**texts, **(c.get("item_texts") or {})}
        tension = _tension(c, statuses, item_texts, expect=len(programme_ranks) > 1 and spread >= spread_needed)
        if tension is not None:
            tensions.append(tension)
    tensions.sort(key=lambda t: t["status"] != "present")     # present first, each in the knowledge base's order

    worst = SEVERITIES[0]
    red_flags = [{"unit": u["unit"], "id": f.get("id"), "title": f.get("title"), "severity": f.get("severity"),
                  "message": f.get("message"),
                  "text": f"{u['unit']}: {f.get('title') or f.get('message')}"
                          + (f" \u2014 {f['message']}" if f.get("title") and f.get("message") else ""),
                  "rule": "units.red_flags", "because": [f"{u['unit']}: {f.get('id')} ({f.get('severity')})"]}
                 for u in units for f in u["result"].get("red_flags") or [] if f.get("severity") == worst]

    return {
        "units": [{"unit": u["unit"], "id": u.get("id"), "date": u.get("date"),
                   "achieved": (u["result"].get("overall") or {}).get("achieved"),
                   "current": (u["result"].get("overall") or {}).get("current")} for u in units],
        "organisation": {"achieved": achieved, "current": current, "dimensions": dimensions,
                         "rule": "units.unit_rollup_share",
                         "reason": _reason(programme_ranks, stages, achieved, share)},
        "holding_back": holding,
        "stage_spread": spread,
        "tensions": tensions,
        "red_flags": red_flags,
    }


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _tension(c: Mapping[str, Any], statuses: Mapping[str, Mapping[str, Any]], texts: Mapping[str, str],
             expect: bool) -> dict | None:
    """A conflict of the knowledge base as this organisation's units show it: *present* where some
    units have done an action of it and others not started it; with ``expect`` (the units' stages
    far enough apart), *to expect* where some have started (partly done) what others have not."""
    items = list(c.get("items") or [])

    def units_with(item, status):
        return sorted(n for n, s in statuses.items() if s.get(item) == status)

    split = [i for i in items if units_with(i, DONE) and units_with(i, NOT_STARTED)]
    status, ahead_status = "present", DONE
    if not split:
        if not expect:
            return None
        split = [i for i in items if units_with(i, PARTIAL) and units_with(i, NOT_STARTED)]
        status, ahead_status = "to_expect", PARTIAL
        if not split:
            return None
    counted = {n: sum(1 for i in split if s.get(i) == ahead_status) for n, s in statuses.items()}
    top, low = max(counted.values()), min(counted.values())
    ahead = sorted(n for n, k in counted.items() if k == top)
    behind = sorted(n for n, k in counted.items() if k == low) if low < top else []
    party = c.get("party") or "organisation"
    slow = sorted({n for i in split for n in units_with(i, NOT_STARTED)})
    word = "done" if status == "present" else "under way"
    sides: dict[tuple, list[str]] = {}        # actions with the same units on each side, one sentence
    for i in split:
        sides.setdefault((tuple(units_with(i, ahead_status)), tuple(units_with(i, NOT_STARTED))), []).append(i)
    facts = "; ".join(
        f"{_and(chr(0x201c) + (texts.get(i) or 'an action of this conflict') + chr(0x201d) for i in group)} "
        f"{'is' if len(group) == 1 else 'are'} {word} in {_and(done)} and not started in {_and(slow_units)}"
        for (done, slow_units), group in sides.items())
    them = "it" if len(slow) == 1 else "them"
    if status == "present":
        text = (f"The audits show it already: {facts}. Here key account management and the {party} of "
                f"{_and(slow)} pull different ways.")
    else:
        text = (f"{facts[0].upper()}{facts[1:]}. As this work goes further, expect the {party} of {_and(slow)} "
                f"to push back on what key account management asks of {them}.")
    return {"id": c.get("id"), "name": c.get("name"), "party": c.get("party"),
            "question": c.get("example_question"), "source": c.get("source"),
            "items": split, "units_ahead": ahead, "units_behind": behind,
            "status": status, "text": text, "illustration": c.get("example_question"),
            "rule": "units.tension.present" if status == "present" else "units.tension_stage_spread",
            "because": [f"{n}: {i}={statuses[n].get(i)}" for i in split for n in sorted(statuses)
                        if statuses[n].get(i) in (ahead_status, NOT_STARTED)]}
