"""Progress towards a target stage: percent-to-target, progress since the first audit, and the
actions that stand between the latest audit and the target, phased.

Pure, over `assess` result documents. The measures are Open SAMMY's (OWASP SAMM's web tool;
see docs in /work/shared/notes/maturity-models.md), applied to the checklist's topics:

- a topic's *level* is the number of stages it has achieved (A = 1 ... D = 4) plus the share
  done of the stage it works on (the cell's completion), capped at the target;
- *percent-to-target* = 1 - sum(target - level) / sum(target), over the assessed topics;
- *progress since the first audit* = (sum(level now) - sum(level first)) /
  (sum(target) - sum(level first)): the share of the gap at the first audit closed since.

The actions between now and the target are the open actions (not done and applicable) of the
target stage and the stages before it, one phase per stage, earliest first; with a date to
reach the target by, the phases share the time from the latest audit to it evenly.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from kam_advisor.data.vocab import DONE, NA
from kam_advisor.results.compare import stage_ids, stage_rank, topic_names


def topic_level(topic: Mapping[str, Any], stages: list[str]) -> float:
    achieved = stage_rank(stages, topic.get("achieved"))
    current = topic.get("current")
    if current is None or current == topic.get("achieved"):
        return float(achieved)
    done_share = (topic.get("completion") or {}).get(current)
    return achieved + float(done_share or 0.0)


def _levels(result: Mapping[str, Any], stages: list[str], cap: int) -> dict[str, float]:
    return {t["id"]: min(topic_level(t, stages), float(cap)) for t in result.get("topics") or []
            if t.get("assessed", True) is not False}


def progress(first: Mapping[str, Any], latest: Mapping[str, Any], stage: str, by: str | None = None,
             first_date: str | None = None, latest_date: str | None = None) -> dict:
    """Where ``latest`` stands against the target ``stage`` and how far it came since ``first``."""
    stages = stage_ids(latest)
    if stage not in stages:
        raise ValueError(f"unknown stage {stage!r} (stages: {', '.join(stages)})")
    goal = stage_rank(stages, stage)
    now, then = _levels(latest, stages, goal), _levels(first, stages, goal)
    topics = sorted(now)
    total = goal * len(topics)
    now_sum = sum(now[t] for t in topics)
    then_sum = sum(then.get(t, 0.0) for t in topics)
    percent = None if not total else round(1 - (total - now_sum) / total, 4)
    gap_then = total - then_sum
    since_first = None if gap_then <= 0 else round((now_sum - then_sum) / gap_then, 4)

    names = topic_names(latest)
    behind = [{"id": t, "name": names.get(t, t), "level": round(now[t], 4), "gap": round(goal - now[t], 4)}
              for t in topics if now[t] < goal]
    behind.sort(key=lambda x: (-x["gap"], x["id"]))

    phases = []
    for s in stages[:goal]:
        actions = [{"item": a["item"], "text": a.get("text"), "topic": a.get("topic"),
                    "topic_name": names.get(a.get("topic"), a.get("topic")), "status": a.get("status")}
                   for a in latest.get("answers") or [] if a.get("stage") == s and a.get("status") not in (DONE, NA)]
        if actions:
            phases.append({"stage": s, "actions": actions})
    _schedule(phases, latest_date or latest.get("date"), by)

    overall = latest.get("overall") or {}
    return {"stage": stage, "by": by, "reached": stage_rank(stages, overall.get("achieved")) >= goal,
            "percent_to_target": percent, "progress_since_first": since_first,
            "first": {"date": first_date or first.get("date"), "percent_to_target":
                      None if not total else round(1 - (total - then_sum) / total, 4)},
            "latest": {"date": latest_date or latest.get("date"), "achieved": overall.get("achieved"),
                       "current": overall.get("current")},
            "topics_behind": behind, "phases": phases,
            "open_actions": sum(len(p["actions"]) for p in phases)}


def _schedule(phases: list[dict], start: str | None, by: str | None) -> None:
    """Give each phase a date to finish by: the span from the latest audit to ``by``, split evenly."""
    if not phases or not by or not start:
        return
    begin, end = _dt.date.fromisoformat(start), _dt.date.fromisoformat(by)
    span = (end - begin).days
    for n, phase in enumerate(phases, 1):
        phase["due"] = (begin + _dt.timedelta(days=round(span * n / len(phases)))).isoformat()
    if span <= 0:
        for phase in phases:
            phase["overdue"] = True
