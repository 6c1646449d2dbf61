"""Diagnostic reports: the assessment result (plain data) rendered as HTML, Markdown, text or JSON.

The view model is built here, in Python (:func:`build_view`); the layout lives in the Jinja2
templates under ``kam_advisor/render/templates``. What a client reads first (cover, executive
summary, plan, red flags, findings) speaks in names; ids, rule names and the facts each
conclusion rests on are kept for the technical appendix, the JSON and ``explain``. Stage letters,
thresholds and counts come from the result, never from this module.

HTML templates are autoescaped, so an organisation name or evidence note holding markup shows
as text; Markdown output neutralises markup, links and table pipes in every value; text output
is plain, with ANSI colour only when asked for. Output is deterministic: the same result gives
a byte-identical report (no clock is read; the date shown is the result's own).
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date as _date
import textwrap
from functools import lru_cache
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from kam_advisor.data.neutral import terminal_text
from kam_advisor.data.vocab import SEVERITY_ORDER, TITLES as STATUS_TITLES, UNANSWERED
from kam_advisor.render import charts, kinds

FORMATS = ("html", "md", "text", "json")
DEFAULT_TITLE = "Key Account Management programme diagnostic"
SUMMARY_ACTIONS = 8  # the first phase's capacity (rules/plan.yaml): the summary shows it as the plan does
TEXT_WIDTH = 80
DEFAULT_THRESHOLD = 0.8  # only for a result that carries no parameters (an older or partial one)


# --------------------------------------------------------------------------- helpers

def _get(mapping: Any, key: str, default: Any = None) -> Any:
    """``mapping[key]`` for a dict that may be missing, ``None`` or not a dict."""
    if isinstance(mapping, Mapping):
        value = mapping.get(key, default)
        return default if value is None else value
    return default


def _list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else []


def _because(value: Any) -> list[str]:
    """A finding's fact ids as strings, each once, in their first order."""
    return list(dict.fromkeys(str(b) for b in _list(value)))


def _reason(record: Any) -> str:
    """A finding's readable ``reason`` sentence ('' when the result has none)."""
    reason = _get(record, "reason", "")
    return " ".join(str(reason).split())


def pct(ratio: Any) -> str:
    """A 0..1 ratio as a whole percentage; an en dash when there is none."""
    if ratio is None or isinstance(ratio, bool):
        return "\u2013"
    try:
        return f"{round(float(ratio) * 100)}%"
    except (TypeError, ValueError):
        return "\u2013"


def _number(value: Any) -> float | None:
    """A finite number, or None for anything else (missing, null, text, NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value)


def _score(value: Any) -> int | None:
    """A 0-100 score as a whole number (scores may arrive as floats)."""
    number = _number(value)
    return None if number is None else int(round(number))


def _status_title(status: Any) -> str:
    return STATUS_TITLES.get(str(status or UNANSWERED), str(status))


def plural(n: Any, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def and_list(items: Any) -> str:
    items = [str(i) for i in _list(items)]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- view model

class _Names:
    """Look-ups by id across the result: stage, dimension, area and topic names, action texts."""

    def __init__(self, result: Mapping[str, Any]):
        self.stages = {s.get("id"): s for s in _list(result.get("stages")) if isinstance(s, Mapping)}
        self.order = [sid for sid in self.stages if sid]
        self.dimensions = {d.get("id"): d for d in _list(result.get("dimensions")) if isinstance(d, Mapping)}
        self.areas = {a.get("id"): a for a in _list(result.get("areas")) if isinstance(a, Mapping)}
        self.topics = {t.get("id"): t for t in _list(result.get("topics")) if isinstance(t, Mapping)}
        self.texts: dict[str, str] = {}
        roadmap_actions = [a for step in _list(_get(result.get("roadmap"), "steps", []))
                           for a in _list(_get(step, "actions", []))]
        for source in (_list(result.get("answers")), roadmap_actions, _list(result.get("recommendations"))):
            for entry in source:
                if isinstance(entry, Mapping) and entry.get("item") and entry.get("text"):
                    self.texts.setdefault(entry["item"], entry["text"])

    def stage(self, sid: str | None) -> str:
        return _get(self.stages.get(sid), "name", "") if sid else ""

    def stage_label(self, sid: str | None) -> str:
        """``'B Introducing KAM'``; ``'no stage yet'`` for none."""
        if not sid:
            return "no stage yet"
        return f"{sid} {self.stage(sid)}".strip()

    def unit_labels(self, record: Mapping[str, Any]) -> tuple[str, str]:
        """Achieved and working-on labels of a unit, 'not assessed' where the answers show nothing."""
        if record.get("assessed") is False:
            return "not assessed", "not assessed"
        achieved, current = record.get("achieved"), record.get("current")
        return self.stage_label(achieved), (self.stage_label(current) if current else "\u2013")

    def topic(self, tid: str | None) -> str:
        topic = self.topics.get(tid)
        return _get(topic, "label") or _get(topic, "name", tid or "")

    def topic_path(self, tid: str | None) -> str:
        """``'Goals & strategy \u203a Positioning'``."""
        topic = self.topics.get(tid)
        if not topic:
            return tid or ""
        area = _get(self.areas.get(topic.get("area")), "name", "")
        return f"{area} \u203a {topic.get('name', tid)}" if area else topic.get("name", tid)

    def text(self, item: str | None) -> str:
        return self.texts.get(item or "", "")


def _ladder(overall: Mapping[str, Any], names: _Names) -> list[dict]:
    achieved, current = overall.get("achieved"), overall.get("current")
    rank = names.order.index(achieved) if achieved in names.order else -1
    out = []
    for i, sid in enumerate(names.order):
        state = "achieved" if i <= rank else ("current" if sid == current else "ahead")
        out.append({"id": sid, "name": names.stage(sid), "state": state})
    return out


def _headline(result: Mapping[str, Any], overall: Mapping[str, Any], names: _Names) -> str:
    """The rules' headline; for a result without one, the same sentence built from the stages."""
    text = _get(_get(_get(result, "summary", {}), "headline", {}), "text", "")
    if text:
        return text
    if overall.get("assessed") is False:
        return "The answers do not show the programme's stage yet."
    achieved, current = overall.get("achieved"), overall.get("current")
    if achieved and (achieved == current or not current):
        return f"The programme has achieved the final stage, {names.stage_label(achieved)}."
    if not achieved:
        first = current or (names.order[0] if names.order else "")
        return f"The programme has not yet completed its first stage, {names.stage_label(first)}."
    return f"The programme has achieved stage {names.stage_label(achieved)} and is working towards {names.stage_label(current)}."


def _recommendation(rec: Mapping[str, Any], names: _Names, phase_names: Mapping[str, str]) -> dict:
    status = rec.get("status") or UNANSWERED
    return {"kind": "action", "title": "", "advice": "", "source_title": "",
            "id": rec.get("id") or rec.get("item") or "", "item": rec.get("item") or "",
            "text": rec.get("text") or names.text(rec.get("item")) or rec.get("item") or "",
            "topic": rec.get("topic") or "", "topic_path": names.topic_path(rec.get("topic")),
            "stage": rec.get("stage") or "", "stage_label": names.stage_label(rec.get("stage")) if rec.get("stage") else "",
            "status": status, "status_label": _status_title(status),
            "priority": rec.get("priority") or "", "rank": rec.get("rank"), "rule": rec.get("rule") or "",
            "phase": rec.get("phase") or "", "phase_name": phase_names.get(rec.get("phase") or "", ""),
            "because": _because(rec.get("because")), "reason": _reason(rec)}


def _cell_state(cell: Mapping[str, Any], ratio: float | None) -> str:
    """How a grid cell is drawn: scored, nothing required / not applicable, or not assessed."""
    status = cell.get("status") if isinstance(cell, Mapping) else None
    if status in ("none", "not_applicable"):
        return "empty"
    if status in ("unknown", "not_assessed") or ratio is None:
        return "unknown" if status != "none" else "empty"
    return "scored"


def _cells(topic: Mapping[str, Any], order: list[str], threshold: float) -> list[dict]:
    completion = _get(topic, "completion", {})
    cells = _get(topic, "cells", {})
    out = []
    for sid in order:
        cell = _get(cells, sid, {})
        ratio = _number(completion.get(sid)) if isinstance(completion, Mapping) else None
        state = _cell_state(cell, ratio)
        applicable = _get(cell, "total", 0) - _get(cell, "na", 0)
        if state == "empty":
            ratio = None
            note = "nothing required" if _get(cell, "total", 0) == 0 else "not applicable"
        elif state == "unknown":
            ratio = None
            note = "not assessed"
        else:
            note = f"{_get(cell, 'done', 0)} of {applicable} done" + (
                f", {_get(cell, 'partial', 0)} partly" if _get(cell, "partial", 0) else "")
        fill = charts.cell_fill(ratio, state, threshold)
        out.append({"stage": sid, "ratio": ratio, "pct": pct(ratio) if state == "scored" else "\u2013",
                    "met": bool(_get(cell, "met", False)), "state": state, "note": note,
                    "done": _get(cell, "done", 0), "partial": _get(cell, "partial", 0), "applicable": applicable,
                    "fill": fill, "ink": charts.text_colour(fill) if state == "scored" else charts.MUTED})
    return out


def _answer(entry: Mapping[str, Any], names: _Names) -> dict:
    status = entry.get("status") or UNANSWERED
    note = entry.get("note")
    return {"item": entry.get("item") or "", "text": entry.get("text") or names.text(entry.get("item")),
            "stage": entry.get("stage") or "", "status": status, "status_label": _status_title(status),
            "note": "" if note is None else str(note)}


def _tree(result: Mapping[str, Any], names: _Names, recs: list[dict], threshold: float) -> tuple[list[dict], list[dict]]:
    """Dimensions -> areas -> topics, each topic with its cells, done actions and recommendations.

    Returns the tree and the recommendations whose topic is not in it (shown apart, never lost).
    """
    answers_by_topic: dict[str, list[dict]] = {}
    for entry in _list(result.get("answers")):
        if isinstance(entry, Mapping):
            answers_by_topic.setdefault(entry.get("topic") or "", []).append(_answer(entry, names))
    recs_by_topic: dict[str, list[dict]] = {}
    for rec in recs:
        recs_by_topic.setdefault(rec["topic"], []).append(rec)
    roadmap_by_topic: dict[str, list[dict]] = {}
    for step in _list(_get(result.get("roadmap"), "steps", [])):
        for action in _list(_get(step, "actions", [])):
            if isinstance(action, Mapping):
                roadmap_by_topic.setdefault(action.get("topic") or "", []).append(
                    {"item": action.get("item") or "", "text": action.get("text") or names.text(action.get("item")),
                     "stage": _get(step, "stage", ""), "status": action.get("status") or UNANSWERED})

    def topic_view(t: Mapping[str, Any]) -> dict:
        tid = t.get("id")
        mine = recs_by_topic.get(tid, [])
        recommended = {r["item"] for r in mine}
        achieved_label, current_label = names.unit_labels(t)
        return {"id": tid, "name": t.get("name", tid), "achieved": t.get("achieved"), "current": t.get("current"),
                "assessed": t.get("assessed") is not False, "achieved_label": achieved_label,
                "current_label": current_label, "rule": t.get("rule") or "", "because": _because(t.get("because")),
                "reason": _reason(t), "cells": _cells(t, names.order, threshold),
                "done": [a for a in answers_by_topic.get(tid, []) if a["status"] == "done"],
                "recommendations": mine,
                "also_open": [a for a in roadmap_by_topic.get(tid, []) if a["item"] not in recommended]}

    def unit(record: Mapping[str, Any]) -> dict:
        achieved_label, current_label = names.unit_labels(record)
        return {"id": record.get("id"), "name": record.get("name", record.get("id")),
                "achieved": record.get("achieved"), "current": record.get("current"),
                "assessed": record.get("assessed") is not False,
                "achieved_label": achieved_label, "current_label": current_label,
                "score": _score(record.get("score")), "rule": record.get("rule") or "",
                "because": _because(record.get("because")), "reason": _reason(record)}

    topics = [t for t in names.topics.values() if t.get("id")]
    areas = [a for a in names.areas.values() if a.get("id")]
    placed: set[str] = set()
    tree = []
    dims = [d for d in names.dimensions.values() if d.get("id")]
    known_dims = {d["id"] for d in dims}
    # topics whose dimension is missing from the result still appear, under a synthetic heading
    orphans = sorted({t.get("dimension") or "" for t in topics} - known_dims, key=str)
    dims += [{"id": d, "name": d or "Other topics"} for d in orphans]
    for dim in dims:
        dv = unit(dim)
        dv["areas"] = []
        dim_areas = [a for a in areas if a.get("dimension") == dim["id"]]
        area_ids = {a["id"] for a in dim_areas}
        stray = sorted({t.get("area") or "" for t in topics if t.get("dimension") == dim["id"]} - area_ids, key=str)
        dim_areas += [{"id": a, "name": a or "Other topics", "dimension": dim["id"]} for a in stray]
        for area in dim_areas:
            av = unit(area)
            av["topics"] = [topic_view(t) for t in topics if t.get("area") == area["id"]]
            placed.update(t["id"] for t in av["topics"])
            if av["topics"]:
                dv["areas"].append(av)
        if dv["areas"]:
            tree.append(dv)
    unplaced = [t for t in topics if t["id"] not in placed]
    if unplaced:
        tree.append({**unit({"id": "", "name": "Other topics"}),
                     "areas": [{**unit({"id": "", "name": "Other topics"}), "topics": [topic_view(t) for t in unplaced]}]})
    orphan_recs = [r for r in recs if r["topic"] not in names.topics]
    return tree, orphan_recs


def _heatmap_groups(tree: list[dict]) -> list[dict]:
    return [{"label": area["name"], "rows": [{"label": t["name"], "cells": {c["stage"]: c for c in t["cells"]}}
                                             for t in area["topics"]]}
            for dim in tree for area in dim["areas"]]


def _roadmap(result: Mapping[str, Any], names: _Names) -> dict:
    roadmap = _get(result, "roadmap", {})
    steps = []
    for step in _list(_get(roadmap, "steps", [])):
        if not isinstance(step, Mapping):
            continue
        actions = [{"item": a.get("item") or "", "text": a.get("text") or names.text(a.get("item")),
                    "topic": a.get("topic") or "", "topic_path": names.topic_path(a.get("topic")),
                    "status": a.get("status") or UNANSWERED, "status_label": _status_title(a.get("status")),
                    "rule": a.get("rule") or "", "because": _because(a.get("because"))}
                   for a in _list(step.get("actions")) if isinstance(a, Mapping)]
        sid = step.get("stage") or ""
        steps.append({"stage": sid, "name": step.get("name") or names.stage(sid), "actions": actions,
                      "label": names.stage_label(sid)})
    frm, to = _get(roadmap, "from"), _get(roadmap, "to")
    return {"from": frm, "to": to, "from_label": names.stage_label(frm), "to_label": names.stage_label(to),
            "steps": steps, "count": sum(len(s["actions"]) for s in steps if to and s["stage"] <= to)}


def _red_flags(result: Mapping[str, Any], phase_names: Mapping[str, str]) -> list[dict]:
    flags = []
    sources = {s.get("id"): s.get("title") for s in _list(result.get("sources")) if isinstance(s, Mapping)}
    for i, f in enumerate(_list(result.get("red_flags"))):
        if not isinstance(f, Mapping):
            continue
        sev = f.get("severity") or "medium"
        source = f.get("source") or ""
        flags.append({"id": f.get("id") or "", "severity": sev, "title": f.get("title") or f.get("id") or "",
                      "message": f.get("message") or "", "advice": f.get("advice") or "",
                      "action": f.get("action") or "", "phase_name": phase_names.get(f.get("phase") or "", ""),
                      "source_title": f.get("source_title") or sources.get(source) or "",
                      "rule": f.get("rule") or "", "because": _because(f.get("because")), "reason": _reason(f),
                      "_order": (SEVERITY_ORDER.get(sev, 3), i)})
    flags.sort(key=lambda f: f["_order"])
    for f in flags:
        del f["_order"]
    return flags


def _plan(result: Mapping[str, Any], names: _Names, recs: list[dict], red_flags: list[dict]) -> list[dict]:
    """The phases of the plan; a result without `plan` gets one phase holding its recommendations."""
    plan = _get(result, "plan", {})
    flags = {f["id"]: f for f in red_flags}
    phases = []
    for p in _list(_get(plan, "phases", [])):
        if not isinstance(p, Mapping):
            continue
        actions = []
        for a in _list(p.get("actions")):
            if not isinstance(a, Mapping):
                continue
            status = a.get("status")
            flag = flags.get(a.get("id")) if a.get("kind") == "flag" else None
            actions.append({"kind": a.get("kind") or "action", "id": a.get("id") or "", "item": a.get("item") or "",
                            "title": flag["title"] if flag else "", "advice": flag["advice"] if flag else "",
                            "source_title": flag["source_title"] if flag else "",
                            "text": a.get("text") or names.text(a.get("item")) or "",
                            "topic_path": (names.topic_path(a.get("topic")) + (" · to assess" if a.get("kind") == "assess"
                                                                                 else "")) if a.get("topic") else "Red flag",
                            "stage_label": names.stage_label(a.get("stage")) if a.get("stage") else "",
                            "status": status or "", "status_label": _status_title(status) if status else "",
                            "priority": a.get("priority") or "", "reason": _reason(a), "rule": a.get("rule") or "",
                            "because": _because(a.get("because"))})
        phases.append({"id": p.get("id") or "", "name": p.get("name") or p.get("id") or "", "actions": actions,
                       "note": p.get("note") or ""})
    if not phases and recs:
        phases = [{"id": "next", "name": "Next steps", "actions": [
            {**r, "kind": "action", "title": "", "advice": "", "source_title": ""} for r in recs]}]
    return phases


def _first_steps(actions: list[dict]) -> list[dict]:
    """The executive summary's first steps: the plan's first phase as the plan orders it (the
    first phase holds what a team can carry, so the summary shows it whole, up to the limit)."""
    return actions[:SUMMARY_ACTIONS]


def _perception_gaps(result: Mapping[str, Any], names: _Names) -> list[dict]:
    gaps = []
    for g in _list(result.get("perception_gaps")):
        if not isinstance(g, Mapping):
            continue
        answers = [{"respondent": a.get("respondent") or "a respondent",
                    "answer": _status_title(a.get("answer")) if str(a.get("answer")) in STATUS_TITLES
                    else ("" if a.get("answer") is None else str(a.get("answer")))}
                   for a in _list(g.get("answers")) if isinstance(a, Mapping)]
        gaps.append({"question": g.get("question") or "", "text": g.get("text") or names.text(g.get("question")),
                     "spread": g.get("spread"), "answers": answers})
    return gaps


def _appendix(result: Mapping[str, Any], names: _Names) -> list[dict]:
    groups: list[dict] = []
    index: dict[str, dict] = {}
    for entry in _list(result.get("answers")):
        if not isinstance(entry, Mapping):
            continue
        tid = entry.get("topic") or ""
        if tid not in index:
            index[tid] = {"topic": tid, "path": names.topic_path(tid), "answers": []}
            groups.append(index[tid])
        index[tid]["answers"].append(_answer(entry, names))
    return groups


def _progress(progress: Mapping[str, Any] | None, names: _Names, achieved_label: str = "") -> dict | None:
    """The organisation's earlier audits and its progress towards its target stage, in words."""
    if not progress:
        return None
    earlier = [{"date": str(a.get("date") or ""), "unit": a.get("unit") or "", "assessor": a.get("assessor") or "",
                "achieved_label": names.stage_label(a.get("achieved")),
                "current_label": names.stage_label(a.get("current")) if a.get("current") else "\u2013"}
               for a in _list(progress.get("earlier")) if isinstance(a, Mapping)]
    view = {"unit": progress.get("unit") or "", "earlier": earlier, "target": None,
            "change": progress.get("change") if isinstance(progress.get("change"), Mapping) else None}  # issue 19
    target = progress.get("target")
    if isinstance(target, Mapping):
        first = _get(target, "first", {})
        phases = [{"stage_label": names.stage_label(p.get("stage")), "due": p.get("due") or "",
                   "overdue": bool(p.get("overdue")),
                   "actions": [{"text": a.get("text") or names.text(a.get("item")),
                                "topic": a.get("topic_name") or names.topic(a.get("topic")),
                                "status": _status_title(a.get("status"))} for a in _list(p.get("actions"))]}
                  for p in _list(target.get("phases")) if isinstance(p, Mapping)]
        view["target"] = {
            "stage_label": names.stage_label(target.get("stage")), "by": target.get("by") or "",
            "reached": bool(target.get("reached")), "percent": pct(target.get("percent_to_target")),
            "since_first": pct(target.get("progress_since_first")) if target.get("progress_since_first") is not None
            else "", "first_date": str(_get(first, "date") or ""), "first_percent": pct(_get(first, "percent_to_target")),
            "behind": [b.get("name") for b in _list(target.get("topics_behind"))[:5] if isinstance(b, Mapping)],
            "phases": phases, "open_actions": sum(len(p["actions"]) for p in phases),
            # a topic-by-topic percentage beside a programme still at an earlier stage: said in the same place
            "measure": "counted topic by topic: the stages each has achieved and the share done of the stage it "
                       "works on, against the target" + (
                           "" if not achieved_label or target.get("reached") else
                           "; the programme as a whole has no stage achieved yet" if achieved_label.startswith("no ")
                           else f"; the programme as a whole has achieved stage {achieved_label}")}
    return view


def _technical(view: dict) -> list[dict]:
    """One line per conclusion for the technical appendix: its name, rule and the facts behind it."""
    rows = [{"what": "Programme stage", "name": view["overall"]["achieved_label"], "rule": view["overall"]["rule"],
             "because": view["overall"]["because"]}]
    for d in view["dimensions"]:
        rows.append({"what": "Dimension", "name": d["name"], "rule": d["rule"], "because": d["because"]})
        for a in d["areas"]:
            rows.append({"what": "Area", "name": a["name"], "rule": a["rule"], "because": a["because"]})
            for t in a["topics"]:
                rows.append({"what": "Topic", "name": f"{t['name']} ({t['id']})", "rule": t["rule"],
                             "because": t["because"]})
    for f in view["red_flags"]:
        rows.append({"what": "Red flag", "name": f"{f['title']} ({f['id']})", "rule": f["rule"], "because": f["because"]})
    for r in view["recommendations"]:
        rows.append({"what": "Action", "name": f"{r['text']} ({r['item']})", "rule": r["rule"], "because": r["because"]})
    for f in view["facets"]:
        if f["rule"]:
            rows.append({"what": "Facet", "name": f["name"], "rule": f["rule"], "because": f["because"]})
    return rows


def _lag_sentence(group: list, area_dimension: Mapping[str, tuple[str, str]]) -> dict:
    """One bullet for lagging units behind the same units at the same stage: what runs ahead (a
    dimension named once when all its areas run ahead at one stage), what holds them back, the risk."""
    lag = group[0]
    names = [g.get("name") or "" for g in group]
    held = [h for g in group for h in _list(g.get("held_back_by"))]
    ahead = [a for a in _list(lag.get("ahead")) if isinstance(a, Mapping)]
    if not ahead:
        sentence = (lag.get("text") or "") + (f", held back by {and_list(held)}" if held else "") + "."
        return {"text": lag.get("text") or "", "held_back_by": held, "sentence": sentence, "name": names[0],
                "names": names, "risk": "", "ahead": []}
    by_dim: dict[str, list] = {}
    for a in ahead:
        dim = area_dimension.get(a.get("unit") or "")
        by_dim.setdefault(dim[0] if dim else "", []).append(a)
    runs = []
    for dim, units in by_dim.items():
        total = sum(1 for d in area_dimension.values() if d[0] == dim) if dim else 0
        stages = {u.get("achieved") for u in units}
        if dim and len(units) == total and len(stages) == 1 and total > 1:
            runs.append(f"{area_dimension[units[0].get('unit')][1]} (all its areas at stage {stages.pop()})")
        else:
            runs += [f"{u.get('name')} (stage {u.get('achieved')})" for u in units]
    one = len(group) == 1
    where = (f"{'is' if one else 'are'} still at stage {lag.get('achieved')}" if lag.get("achieved")
             else f"{'has' if one else 'have'} no stage achieved yet")
    sentence = (f"{and_list(names)} {'lags' if one else 'lag'}: {'it' if one else 'they'} {where} while "
                f"{and_list(runs)} {'runs' if len(runs) == 1 else 'run'} ahead"
                + (f", held back by {and_list(held)}" if held else "")
                + (f". The risk: {lag.get('risk')}" if lag.get("risk") else "") + ".")
    return {"text": lag.get("text") or "", "held_back_by": held, "sentence": sentence, "name": names[0],
            "names": names, "risk": lag.get("risk") or "", "ahead": [a.get("name") for a in ahead]}


def _summary(result: Mapping[str, Any]) -> dict:
    summary = _get(result, "summary", {})
    area_dimension = {}
    dim_names = {d.get("id"): d.get("name") for d in _list(result.get("dimensions")) if isinstance(d, Mapping)}
    for a in _list(result.get("areas")):
        if isinstance(a, Mapping):
            area_dimension[a.get("id")] = (a.get("dimension"), dim_names.get(a.get("dimension")) or "")

    def stage_block(block):
        if not isinstance(block, Mapping):
            return None
        out = {"stage": block.get("stage"), "name": block.get("name") or "",
               "description": block.get("description") or "",
               "in_place": [h.get("text") for h in _list(block.get("in_place")) if isinstance(h, Mapping)],
               "not_in_place": [h.get("text") for h in _list(block.get("not_in_place")) if isinstance(h, Mapping)],
               "not_shown": [h.get("text") for h in _list(block.get("not_shown")) if isinstance(h, Mapping)],
               "under_way": [h.get("text") for h in _list(block.get("under_way")) if isinstance(h, Mapping)],
               "beyond": [f"{h.get('text')} (stage {h.get('stage')})" for h in _list(block.get("beyond"))
                          if isinstance(h, Mapping)]}
        todo = out["not_in_place"] + out["not_shown"]
        parts = ([f"under way: {and_list(out['under_way'])}"] if out["under_way"] else []) + (
            [f"still to do: {and_list(todo)}"] if todo else [])
        out["todo"] = ("; ".join(parts) + "." if parts else
                       "its hallmarks are in place in the topics that show them, but not yet across enough "
                       "topics to achieve it: the plan lists the open actions.")
        return out

    lagging = []
    groups: dict[tuple, list] = {}  # lagging units with the same stage, the same units ahead and the same risk
    for lag in _list(summary.get("lagging")):
        if isinstance(lag, Mapping):
            ahead = [a for a in _list(lag.get("ahead")) if isinstance(a, Mapping)]
            key = (lag.get("achieved"), tuple((a.get("name"), a.get("achieved")) for a in ahead), lag.get("risk"))
            if ahead and key in groups:
                groups[key].append(lag)
                continue
            group = [lag]
            if ahead:
                groups[key] = group
            lagging.append(group)
    lagging = [_lag_sentence(group, area_dimension) for group in lagging]
    skip = summary.get("stage_skipping")
    screening = summary.get("screening")
    return {
        "lagging": lagging,
        "skipping": {"text": skip.get("text") or "", "topics": _list(skip.get("topics")),
                     "sentence": f"{skip.get('text') or ''}, in {and_list(skip.get('topics'))}."}
        if isinstance(skip, Mapping) else None,
        "achieved_stage": stage_block(summary.get("achieved_stage")),
        "current_stage": stage_block(summary.get("current_stage")),
        "screening": {"text": screening.get("text") or "", "not_covered": _list(screening.get("not_covered"))}
        if isinstance(screening, Mapping) else None,
        "not_assessed": _list(summary.get("not_assessed")),
        "perception": _perception_view(summary.get("perception")),
        "held_back": (summary.get("held_back") or {}).get("text") if isinstance(summary.get("held_back"), Mapping)
        else None,
    }


def _perception_view(perception: Any) -> dict | None:
    """Where the views differ, in words for the executive summary: a screening against the audit
    (much rosier: a governance finding), and respondents against each other."""
    if not isinstance(perception, Mapping):
        return None
    largest = [g for g in _list(perception.get("largest")) if isinstance(g, Mapping)]
    all_facts = [f for f in _list(perception.get("facts")) if isinstance(f, Mapping)]
    rosier = bool(perception.get("rosier"))
    # facts that clear a red flag the audit raises first, yes/no ones (sponsor, ownership, training) before numbers
    facts = sorted(all_facts, key=lambda f: (not f.get("rosier"), not isinstance(f.get("view"), bool)))
    title = next((g.get("questionnaire_title") for g in largest + facts if g.get("questionnaire_title")), "")
    higher, lower = perception.get("higher") or 0, perception.get("lower") or 0
    sentences = []
    people = [b for b in _list(perception.get("by_respondent")) if isinstance(b, Mapping)]

    def rates(b: Mapping[str, Any]) -> str:
        parts = ([f"{plural(b.get('higher'), 'action', 'actions')} higher"] if b.get("higher") else []) + (
            [f"{plural(b.get('lower'), 'action', 'actions')} lower"] if b.get("lower") else [])
        return " and ".join(parts)

    if len(people) > 1:  # several screening respondents: each one's direction, never one merged view
        said = [f"{b.get('respondent')} rates {rates(b)}" for b in people if rates(b)]
        rosy = [b.get("respondent") for b in people if b.get("rosier")]
        sentences.append(f"The {title or 'screening'} differs from the audit" + (
            f": {'; '.join(said)} than the audit found" if said else "") + "." + (
            f" The view of {and_list(rosy)} is rosier than the audit's: leadership and the audit do not see "
            "the same programme; agree the facts before the plan." if rosy else ""))
    elif rosier:
        head = f"The {title or 'screening'} is rosier than the audit"
        if higher:
            head += (f": it rates {plural(higher, 'action', 'actions')} higher than the audit found"
                     + (f" and {plural(lower, 'action', 'actions')} lower" if lower else ""))
        sentences.append(head + ". Leadership and the audit do not see the same programme: agree the facts "
                                "before the plan.")
    elif higher or lower or facts:
        parts = ([f"{plural(higher, 'action', 'actions')} higher"] if higher else []) + (
            [f"{plural(lower, 'action', 'actions')} lower"] if lower else [])
        sentences.append(f"The {title or 'screening'} differs from the audit" + (
            f": it rates {' and '.join(parts)} than the audit found" if parts else "") + ".")
    between = perception.get("between_respondents")
    if isinstance(between, Mapping) and between.get("questions"):
        who = _list(between.get("respondents"))
        topics = [str(t) for t in _list(between.get("largest"))][:SUMMARY_GAPS]
        sentences.append(f"{and_list(who) if who else 'The respondents'} disagree with each other on "
                         f"{plural(between.get('questions'), 'question', 'questions')}"
                         + (f", among them: {'; '.join(topics)}" if topics else "") + ".")
    if not sentences:
        return None

    def whose(g: Mapping[str, Any]) -> str:
        people = _list(g.get("respondents"))
        return f"the {title or 'screening'} ({and_list(people)})" if people and len(people) < 4 else "the screening"

    shown = facts[:SUMMARY_FACTS]
    listed = [plural(higher + lower, "action", "actions")] if higher + lower else []
    listed += [plural(len(all_facts), "fact", "facts")] if all_facts else []
    listed += [plural(between.get("questions"), "question between respondents", "questions between respondents")] \
        if isinstance(between, Mapping) and between.get("questions") else []
    more = f"every gap ({', '.join(listed[:-1]) + ' and ' + listed[-1] if len(listed) > 1 else listed[0]}) is " \
        "listed with the plan" if listed else ""
    return {"sentence": " ".join(sentences), "rosier": rosier,
            "heading": "Perception gap" if rosier else "Views compared",
            "largest": [f"{g.get('text')}: {whose(g)} says {_status_title(g.get('view')).lower()}, "
                        f"the audit {_status_title(g.get('audit')).lower()}" for g in largest[:SUMMARY_GAPS]],
            "facts": [f"{f.get('text')}: {whose(f)} says {_show(f.get('view'))}, "
                      f"the audit {_show(f.get('audit'))}" for f in shown],
            "facts_label": "Where the screening sees no risk the audit finds" if shown and shown[0].get("rosier")
            else "Facts they see differently",
            "more": more}


SUMMARY_FACTS = 3  # the executive summary names the largest gaps; the findings pages list them all
SUMMARY_GAPS = 3


def _whose(gap: Mapping[str, Any], several: bool) -> str:
    people = _list(gap.get("respondents"))
    return f" ({and_list(people)})" if several and people else ""


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def build_view(result: Mapping[str, Any], *, org: str | None = None, assessor: str | None = None,
               title: str | None = None, date: str | None = None, appendix: bool = False,
               progress: Mapping[str, Any] | None = None) -> dict:
    """Everything the templates show, computed from the result; missing optional keys are tolerated."""
    if not isinstance(result, Mapping):
        raise TypeError("the assessment result must be a mapping")
    names = _Names(result)
    overall = _get(result, "overall", {})
    coverage = _get(result, "coverage", {})
    parameters = _get(result, "parameters", {})
    threshold = _number(_get(parameters, "cell_threshold")) or DEFAULT_THRESHOLD
    phase_names = {p.get("id"): p.get("name") for p in _list(_get(parameters, "phases", []))
                   if isinstance(p, Mapping)}
    phase_names.update({p.get("id"): p.get("name") for p in _list(_get(_get(result, "plan", {}), "phases", []))
                        if isinstance(p, Mapping)})
    organisation = org or result.get("organisation") or ""
    recs = [_recommendation(r, names, phase_names) for r in _list(result.get("recommendations"))
            if isinstance(r, Mapping)]
    tree, orphan_recs = _tree(result, names, recs, threshold)
    tool = _get(result, "tool", {})
    total = _get(coverage, "total", 0)
    answered = _get(coverage, "answered", 0)
    ratio = _get(coverage, "ratio", (answered / total) if total else None)
    facets = [{"id": f.get("id"), "name": f.get("name", f.get("id")), "score": _score(f.get("score")),
               "band": f.get("band") or "", "rule": f.get("rule") or "", "because": _because(f.get("because")),
               "reason": _reason(f), "strongest": _list(f.get("strongest")), "weakest": _list(f.get("weakest"))}
              for f in _list(result.get("facets")) if isinstance(f, Mapping)]
    stages = [{"id": s.get("id"), "name": s.get("name", ""), "description": s.get("description", "")}
              for s in names.stages.values()]
    achieved_label, current_label = names.unit_labels(overall)
    respondents = [str(r) for r in _list(result.get("respondents"))]
    for view_of in _list(result.get("views")):  # a screening's respondents beside the audit's
        if isinstance(view_of, Mapping):
            respondents += [f"{r} ({view_of.get('questionnaire_title') or view_of.get('questionnaire')})"
                            for r in _list(view_of.get("respondents")) if str(r) not in respondents]
    red_flags = _red_flags(result, phase_names)
    # a screening answered by several people: each view says whose it is
    several_views = any(len(_list(w.get("respondents"))) > 1 for w in _list(result.get("views")) if isinstance(w, Mapping))
    plan = _plan(result, names, recs, red_flags)
    summary = _summary(result)
    first = _first_steps(plan[0]["actions"]) if plan else []
    view = {
        "title": title or DEFAULT_TITLE,
        "organisation": organisation,
        "assessor": assessor or result.get("assessor") or "",
        "date": date or ("" if result.get("date") is None else str(result.get("date"))),
        "questionnaire": result.get("questionnaire_title") or result.get("questionnaire") or "",
        "kb_version": result.get("kb_version") or "",
        "tool": f"{_get(tool, 'name', 'kam-advisor')} {_get(tool, 'version', '')}".strip(),
        "respondents": respondents,
        "coverage": {"answered": answered, "total": total, "pct": pct(ratio), "dont_know": _get(coverage, "dont_know", 0),
                     "na": _get(coverage, "na", 0), "confidence": _get(coverage, "confidence", ""),
                     "rule": _get(coverage, "rule", ""), "reason": _reason(coverage),
                     "scope": _get(coverage, "scope", total), "scope_pct": pct(_get(coverage, "scope_ratio")),
                     "screening": bool(_get(coverage, "screening", False))},
        "confidence": _get(overall, "confidence") or _get(coverage, "confidence", ""),
        "stages": stages,
        "counts": {"actions": total or len(_list(result.get("answers"))), "facets": len(facets),
                   "stages": len(stages), "topics": len(names.topics)},
        "threshold": threshold,
        "threshold_pct": pct(threshold),
        "overall": {"assessed": overall.get("assessed") is not False,
                    "achieved": _get(overall, "achieved"), "current": _get(overall, "current"),
                    "achieved_label": achieved_label, "current_label": current_label,
                    "indicative": bool(_get(overall, "indicative", False)),
                    "headline": _headline(result, overall, names),
                    "rule": _get(overall, "rule", ""), "because": _because(_get(overall, "because", [])),
                    "reason": _reason(overall), "ladder": _ladder(overall, names)},
        "summary": summary,
        "summary_actions": first,
        "first_phase": plan[0]["name"] if plan else "",
        "plan": plan,
        "recommendations": recs,
        "orphan_recommendations": orphan_recs,
        "red_flags": red_flags,
        # the executive summary's list: stage skipping is one finding there (the headline says it)
        "summary_flags": [f for f in red_flags if not (summary["skipping"] and f["id"].startswith("flag.stage-skipping"))],
        "dimensions": tree,
        "areas": [a for d in tree for a in d["areas"] if a["id"]],
        "facets": facets,
        "heatmap_groups": _heatmap_groups(tree),
        "roadmap": _roadmap(result, names),
        "perception_gaps": _perception_gaps(result, names),
        "view_facts": [{"text": g.get("text") or "", "view": _show(g.get("view")) + _whose(g, several_views),
                        "audit": _show(g.get("audit")), "rosier": bool(g.get("rosier"))}
                       for g in _list(result.get("view_fact_gaps")) if isinstance(g, Mapping)],
        "view_gaps": [{"text": g.get("text") or names.text(g.get("item")), "topic_path": names.topic_path(g.get("topic")),
                       "who": and_list(g.get("respondents")) or g.get("questionnaire_title") or "",
                       "view": _status_title(g.get("view")) + _whose(g, several_views),
                       "audit": _status_title(g.get("audit")),
                       "optimistic": (_number(g.get("spread")) or 0) > 0}
                      for g in _list(result.get("view_gaps")) if isinstance(g, Mapping)],
        "glossary": [{"term": g.get("term"), "meaning": g.get("meaning")} for g in _list(result.get("glossary"))
                     if isinstance(g, Mapping)],
        "show_appendix": appendix,
        "appendix": _appendix(result, names) if appendix else [],
        "method": [str(p) for p in _list(result.get("method"))],
        "progress": _progress(progress, names, achieved_label),
    }
    view["technical"] = _technical(view)
    # issue 23: the default report summarises the later phases; --appendix lists them in full
    view["plan_later"] = _later_phases(result, names, red_flags)
    view["review"] = _next_review(result, view["date"])
    return view


THEMES = 5  # a later phase's summary names its topics with the most actions, this many
BRIEF_PRIORITIES = 3
BRIEF_FLAGS = 3


def _later_phases(result: Mapping[str, Any], names: _Names, red_flags: list[dict]) -> list[dict]:
    """Each phase after the first, summarised: its number of entries, the red flags it answers
    (titles) and its themes, the topics with most actions ("Area \u203a Topic (n)")."""
    titles = {f["id"]: f["title"] for f in red_flags}
    out = []
    for p in _list(_get(_get(result, "plan", {}), "phases", []))[1:]:
        if not isinstance(p, Mapping):
            continue
        entries = [a for a in _list(p.get("actions")) if isinstance(a, Mapping)]
        flags = [titles.get(a.get("id") or "", "") for a in entries if a.get("kind") == "flag"]
        counts: dict[str, int] = {}
        for a in entries:
            if a.get("kind") != "flag" and a.get("topic"):
                counts[a["topic"]] = counts.get(a["topic"], 0) + 1
        ranked = sorted(counts, key=lambda t: -counts[t])  # stable: ties keep the plan's order
        out.append({"name": p.get("name") or p.get("id") or "", "count": len(entries),
                    "flags": [f for f in flags if f],
                    "themes": [{"path": names.topic_path(t), "count": counts[t],
                                "label": f"{names.topic_path(t)} ({counts[t]})"} for t in ranked[:THEMES]],
                    "more_topics": max(0, len(ranked) - THEMES), "note": p.get("note") or ""})
    return out


def _add_months(day: _date, months: int) -> _date:
    """``day`` moved ``months`` calendar months on (the last day of a shorter month)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return _date(year, month, min(day.day, last))


def _next_review(result: Mapping[str, Any], shown_date: str) -> dict:
    """The next review: the end of the plan's first phase (its ``months``) after the assessment's
    date, as a date; without a date, ``in 3 months``."""
    phases = [p for p in _list(_get(_get(result, "plan", {}), "phases", [])) if isinstance(p, Mapping)]
    months = next((int(p["months"]) for p in phases if _number(p.get("months"))), None)
    phase = phases[0].get("name") if phases else ""
    if months is None:
        return {"date": "", "months": None, "text": "", "phase": phase}
    try:
        when = _add_months(_date.fromisoformat(str(shown_date)[:10]), months).isoformat() if shown_date else ""
    except ValueError:
        when = ""
    text = when or f"in {plural(months, 'month', 'months')}"
    return {"date": when, "months": months, "text": text, "phase": phase}


def _brief(view: dict) -> dict:
    """The one-page brief for a board, from the report's own view: the headline, the stage, what
    is in place, the plan's first three entries, the top red flags (high first) and the next review."""
    summary = view["summary"]
    block = summary["achieved_stage"] or summary["current_stage"] or {}
    entries = [a for p in view["plan"] for a in p["actions"]][:BRIEF_PRIORITIES]
    overall = view["overall"]
    if not overall["assessed"]:
        stage = "not assessed"
    else:
        stage = (f"achieved {overall['achieved_label']}" if overall["achieved"] else "no stage achieved yet") + (
            f", working on {overall['current_label']}" if overall["current"] else "") + (
            " (indicative)" if overall["indicative"] else "")
    return {"kind": "brief", "title": view["title"], "organisation": view["organisation"], "date": view["date"],
            "assessor": view["assessor"], "questionnaire": view["questionnaire"],
            "headline": view["overall"]["headline"],
            "stage": {"achieved": view["overall"]["achieved_label"], "working_on": view["overall"]["current_label"],
                      "indicative": view["overall"]["indicative"], "assessed": view["overall"]["assessed"],
                      "sentence": stage},
            "screening": (summary["screening"] or {}).get("text", ""),
            "in_place": list(block.get("in_place") or []),
            "in_place_stage": f"{block.get('stage')} {block.get('name')}".strip() if block else "",
            "priorities": [{"text": a["text"], "about": a["title"] if a["kind"] == "flag" else a["topic_path"],
                            "red_flag": a["kind"] == "flag"} for a in entries],
            "red_flags": [{"title": f["title"], "severity": f["severity"], "message": f["message"]}
                          for f in view["red_flags"][:BRIEF_FLAGS]],
            "red_flags_total": len(view["red_flags"]),
            "next_review": view["review"], "tool": view["tool"]}


def _charts(view: dict) -> dict:
    """The HTML report's inline SVG charts (radar of areas, radar of facets, heatmap, legend)."""
    out: dict[str, Markup | None] = {"areas": None, "dimensions": None, "facets": None, "heatmap": None,
                                     "legend": charts.legend(threshold=view["threshold"])}
    if len(view["areas"]) >= 3:
        out["areas"] = charts.radar([(a["name"], a["score"]) for a in view["areas"]],
                                    title="Score by area (0-100)")
    elif len(view["dimensions"]) >= 3:
        out["dimensions"] = charts.radar([(d["name"], d["score"]) for d in view["dimensions"]],
                                         title="Score by dimension (0-100)")
    if len(view["facets"]) >= 3:
        out["facets"] = charts.radar([(_facet_label(f["name"]), f["score"]) for f in view["facets"]],
                                     title="Score by facet (0-100)")
    if view["heatmap_groups"]:
        out["heatmap"] = charts.heatmap(view["heatmap_groups"], [{"id": s["id"], "short": s["name"]}
                                                                 for s in view["stages"]],
                                        title="Checklist completion by topic and stage")
    return out


def _facet_label(name: str) -> str:
    """Chart label for a facet: Koru's names all open with "Key account", which the chart drops."""
    short = re.sub(r"^key account\s+", "", name or "", flags=re.I)
    return short[:1].upper() + short[1:] if short else name


# --------------------------------------------------------------------------- Jinja environments

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}
# Markdown that a name or note could use to smuggle a link, an image or markup into the report
_MD_ACTIVE = re.compile(r"[\\`*_{}\[\]()<>#+!|~]")


def _wrap(text: Any, indent: int = 0, first: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Fill ``text`` to ``width`` columns; ``first`` replaces the first line's indent (e.g. a bullet)."""
    pad = " " * indent
    return textwrap.fill(" ".join(str(text).split()), width, initial_indent=pad if first is None else first,
                         subsequent_indent=pad, break_long_words=True, break_on_hyphens=False)


def _md_escape(value: Any) -> str:
    """Markdown finalize: a value cannot open HTML, a link, an image or break a table; template Markup passes."""
    if isinstance(value, Markup):
        return str(value)
    return markdown_text(value)


def markdown_text(value: Any) -> str:
    """User text as inert Markdown: it cannot open HTML, make a link or image (``[x](javascript:...)``,
    ``![x](...)``) or break a table row."""
    text = "" if value is None else str(value)
    text = _MD_ACTIVE.sub(lambda m: "&lt;" if m.group() == "<" else "&gt;" if m.group() == ">" else "\\" + m.group(),
                          text)
    return terminal_text(text.replace("\r", " ").replace("\n", " "))


def _text_finalize(value: Any) -> Any:
    return "" if value is None else value


def _terminal_safe(value: Any) -> Any:
    """Every text in the view with control characters made visible: none reaches a terminal."""
    if isinstance(value, str):
        return terminal_text(value)
    if isinstance(value, dict):
        return {k: _terminal_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_terminal_safe(v) for v in value]
    return value


def _is_html(name: str | None) -> bool:
    return bool(name) and (name.endswith(".html.j2") or name.endswith(".html"))


@lru_cache(maxsize=None)
def _environment(kind: str) -> jinja2.Environment:
    """One environment per output family: ``html`` (autoescaped), ``md`` (escaped values), ``text``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kam_advisor.render", "templates"),
        autoescape=_is_html if kind == "html" else False,
        finalize=_md_escape if kind == "md" else _text_finalize,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["wrap"] = _wrap
    env.filters["pct"] = pct
    env.filters["and_list"] = and_list
    env.filters["capitalize_first"] = lambda s: str(s)[:1].upper() + str(s)[1:]
    env.filters["ljust"] = lambda s, n: str(s).ljust(n)
    env.filters["rjust"] = lambda s, n: str(s).rjust(n)
    env.filters["clip"] = lambda s, n: str(s) if len(str(s)) <= n else str(s)[: n - 1] + "\u2026"
    env.filters["bar"] = lambda v, n=20: "-" * n if v is None else "#" * round(float(v) / 100 * n) + "." * (n - round(float(v) / 100 * n))
    env.globals["plural"] = plural
    return env


def _paint(color: bool):
    def paint(text: Any, *styles: str) -> str:
        text = "" if text is None else str(text)
        if not color or not styles or not text:
            return text
        codes = ";".join(_ANSI[s] for s in styles if s in _ANSI)
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text
    return paint


def _ratio_style(threshold: float):
    def style(ratio: Any) -> str:
        if ratio is None:
            return "dim"
        return "green" if ratio >= threshold else "yellow" if ratio >= threshold / 2 else "red"
    return style


def render(result: Mapping[str, Any], fmt: str, *, org: str | None = None, assessor: str | None = None,
           title: str | None = None, date: str | None = None, color: bool = False, appendix: bool = False,
           summary_only: bool = False, progress: Mapping[str, Any] | None = None, brand: Any = None,
           benchmark: Mapping[str, Any] | None = None, brief: bool = False) -> str:
    """The report in ``fmt`` (html, md, text or json) as one string ending in a newline.

    ``brief``: the one-page brief for a board instead (:func:`render_brief`).

    ``progress`` (:func:`kam_advisor.store.progress.report_progress`): the organisation's earlier
    audits and its progress towards its target, shown after the executive summary (in JSON, as
    ``progress`` beside the result's own fields).

    ``org``, ``assessor`` and ``date`` override the result's own; ``title`` replaces the default
    title. The report holds the plan's first phase in full and the later ones summarised, with
    condensed findings; ``appendix`` adds the full plan, the findings topic by topic, the facet
    table, the method, the technical appendix and every answer with its evidence note. ``summary_only`` (text) gives
    the terminal summary of ``assess``: the cover lines, the executive summary and the first phase.
    JSON is the assessment contract itself (with ``org``/``assessor``/``date`` applied).
    ``brand`` (:class:`kam_advisor.data.brand.Brand`): the firm's colour, logo and footer (HTML).
    ``benchmark`` (:func:`kam_advisor.store.benchmark.benchmark`) adds the peer benchmark's page
    (in JSON, as ``benchmark``); see :func:`_with_benchmark`.
    """
    if benchmark is not None and not kinds.is_own(result):
        return _with_benchmark(render(result, fmt, org=org, assessor=assessor, title=title, date=date, color=color,
                                      appendix=appendix, summary_only=summary_only, progress=progress, brand=brand),
                               fmt, benchmark)
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if kinds.is_own(result):  # an account or plan result has reports of its own
        return kinds.render_own(result, fmt)
    if brief:
        return render_brief(result, fmt, org=org, assessor=assessor, title=title, date=date, brand=brand)
    if fmt == "json":
        data = dict(result)
        for key, value in (("organisation", org), ("assessor", assessor), ("date", date)):
            if value:
                data[key] = value
        if progress is not None:
            data["progress"] = progress
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    view = build_view(result, org=org, assessor=assessor, title=title, date=date, appendix=appendix,
                      progress=progress)
    if fmt == "html":
        template = _environment("html").get_template("report.html.j2")
        return _PUNCT.sub(r"\1", template.render(v=view, charts=_charts(view), brand=brand))
    if fmt == "md":
        return _tidy(_environment("md").get_template("report.md.j2").render(v=view))
    threshold = _number(_get(_get(result, "parameters", {}), "cell_threshold")) or DEFAULT_THRESHOLD
    return _tidy(_environment("text").get_template("report.txt.j2").render(
        v=_terminal_safe(view), paint=_paint(color), ratio_style=_ratio_style(threshold), width=TEXT_WIDTH,
        summary_only=summary_only))


def _with_benchmark(text: str, fmt: str, benchmark: Mapping[str, Any]) -> str:
    """The report with the peer benchmark's page after the others (render/benchmark.py)."""
    from kam_advisor.render import benchmark as page
    if fmt == "json":
        return json.dumps({**json.loads(text), "benchmark": benchmark}, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        section = _environment("html").get_template("_benchmark_page.html.j2").render(b=page.page_view(benchmark))
        at = text.rindex("</body>")
        return text[:at] + section + text[at:]
    return text + "\n" + (page.render_md(benchmark) if fmt == "md" else page.render_text(benchmark))


def render_brief(result: Mapping[str, Any], fmt: str, *, org: str | None = None, assessor: str | None = None,
                 title: str | None = None, date: str | None = None, brand: Any = None) -> str:
    """The one-page brief for a board (html, md, text; json: the same content, ``kind: "brief"``);
    ``brand`` puts the firm's name, colour, logo and footer on the HTML (and so the PDF)."""
    brief = _brief(build_view(result, org=org, assessor=assessor, title=title, date=date))
    if fmt == "json":
        return json.dumps(brief, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        return _PUNCT.sub(r"\1", _environment("html").get_template("brief.html.j2").render(b=brief, brand=brand))
    if fmt == "md":
        return _tidy(_environment("md").get_template("brief.md.j2").render(b=brief))
    return _tidy(_environment("text").get_template("brief.txt.j2").render(b=_terminal_safe(brief), width=TEXT_WIDTH))


_TRAILING = re.compile(r"\s+((?:\x1b\[[0-9;]*m)*)$")
# a sentence that ends in a question or exclamation mark (a seed's quoted question) takes no full stop after it
_PUNCT = re.compile(r"([?!][\"'\u201d)]?)\\?\.(?=[\s<*]|$)", re.M)


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, exactly one final newline."""
    text = "\n".join(_TRAILING.sub(r"\1", line) for line in _PUNCT.sub(r"\1", text).splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
