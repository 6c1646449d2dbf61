"""The organisation view of several units audited separately (regions, business units).

Pure: the latest `assess` result of each unit in, one roll-up out. The thresholds are params of
rules/units.yaml (``unit_rollup_share``, ``tension_stage_spread``), each with its why:

- the organisation reaches a stage (programme and each dimension) when at least
  ``unit_rollup_share`` of its assessed units reach it; it works on the next one;
- a unit *holds the organisation back* when it has not reached the stage the organisation
  works on while another unit has (listed lowest first, with the dimensions where it lags);
- when the units' programme stages lie at least ``tension_stage_spread`` apart, each conflict
  of the knowledge base (knowledge/conflicts.yaml: geography, product, service) whose actions
  some units have done and others not started is named, with the units on each side.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from kam_advisor.data.vocab import DONE, NOT_STARTED
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
    if achieved is None:
        return f"fewer than {share:.0%} of the {len(ranks)} units have achieved stage {stages[0]}"
    reach = sum(1 for r in ranks.values() if r >= stage_rank(stages, achieved))
    return f"{reach} of {len(ranks)} units have achieved stage {achieved}; at least {share:.0%} must"


def _assessed(unit: Mapping[str, Any]) -> bool:
    return unit.get("assessed", True) is not False


def rollup(units: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
           conflicts: Sequence[Mapping[str, Any]] = ()) -> dict:
    """``units``: ``[{"unit": name, "date": ..., "id": audit id, "result": assess result}]``."""
    if not units:
        return {"units": [], "organisation": None, "holding_back": [], "tensions": []}
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
    tensions = []
    if len(programme_ranks) > 1 and spread >= spread_needed:
        statuses = {u["unit"]: {a["item"]: a.get("status") for a in u["result"].get("answers") or []} for u in units}
        for c in conflicts:
            items = list(c.get("items") or [])
            split = [i for i in items if any(s.get(i) == DONE for s in statuses.values())
                     and any(s.get(i) == NOT_STARTED for s in statuses.values())]
            done = {n: sum(1 for i in split if s.get(i) == DONE) for n, s in statuses.items()}
            ahead = sorted(n for n, k in done.items() if split and k == max(done.values()))
            behind = sorted(n for n, k in done.items() if split and k == min(done.values()))
            if split and max(done.values()) > min(done.values()):
                tensions.append({"id": c.get("id"), "name": c.get("name"), "party": c.get("party"),
                                 "question": c.get("example_question"), "source": c.get("source"),
                                 "items": split, "units_ahead": ahead, "units_behind": behind})

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
    }
