"""Diagnostic reports: the assessment result (plain data) rendered as HTML, Markdown, text or JSON.

The view model is built here, in Python (:func:`build_view`); the layout lives in the Jinja2
templates under ``kam_advisor/templates``. HTML templates are autoescaped, so an organisation name
or evidence note holding markup shows as text; Markdown output escapes ``<``, ``>`` and ``|`` in
every value; text output is plain, with ANSI colour only when asked for.

Output is deterministic: the same result gives a byte-identical report (no clock is read; the
date shown is the result's own).
"""

from __future__ import annotations

import json
import re
import textwrap
from functools import lru_cache
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from kam_advisor.render import charts, kinds

FORMATS = ("html", "md", "text", "json")
DEFAULT_TITLE = "Key Account Management programme diagnostic"
STAGE_ORDER = ("A", "B", "C", "D")
STATUS_LABELS = {"done": "Done", "partial": "Partly done", "not_started": "Not started", "na": "Not applicable",
                 "dont_know": "Don't know", "unanswered": "Unanswered"}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
SUMMARY_ACTIONS = 5
TEXT_WIDTH = 80

DEFAULT_METHOD = [
    "Every action of the audit checklist is answered done, partly done, not started, not applicable or "
    "don't know. Not-applicable actions leave the count; don't-know and unanswered ones count as not done "
    "and lower the confidence of the assessment.",
    "The checklist is a grid: each of the 24 topics has a cell for each of the four stages. A cell's "
    "completion is the share of its applicable actions that are done; a cell is met when its completion "
    "reaches the threshold named in the rule quoted beside it. A cell without applicable actions is "
    "shown grey and counts as met.",
    "A topic has achieved a stage when that stage's cell and every earlier one are met; the stage it is "
    "working on is the next one. Areas, dimensions and the programme as a whole are rolled up from the "
    "topics by the rules named in this report, and every decision lists the answers it rested on.",
    "Recommendations are the open actions of the stage each topic is working on, ranked by the rules; "
    "red flags come from named facts and answers that match a pitfall described in the source texts.",
]


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


def _stage_next(stage: str | None) -> str | None:
    if stage is None:
        return STAGE_ORDER[0]
    i = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else -1
    return STAGE_ORDER[i + 1] if 0 <= i < len(STAGE_ORDER) - 1 else None


# --------------------------------------------------------------------------- view model

class _Names:
    """Look-ups by id across the result: stage, dimension, area and topic names, action texts."""

    def __init__(self, result: Mapping[str, Any]):
        self.stages = {s.get("id"): s for s in _list(result.get("stages")) if isinstance(s, Mapping)}
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
        """``'B Introducing KAM'``; ``'none yet'`` for no stage."""
        if not sid:
            return "none yet"
        name = self.stage(sid)
        return f"{sid} {name}".strip()

    def topic(self, tid: str | None) -> str:
        return _get(self.topics.get(tid), "name", tid or "")

    def topic_path(self, tid: str | None) -> str:
        """``'Goals & strategy \u203a Positioning'``."""
        topic = self.topics.get(tid)
        if not topic:
            return tid or ""
        area = _get(self.areas.get(topic.get("area")), "name", "")
        return f"{area} \u203a {topic.get('name', tid)}" if area else topic.get("name", tid)

    def text(self, item: str | None) -> str:
        return self.texts.get(item or "", "")


def _headline(who: str, achieved: str | None, current: str | None, names: _Names) -> str:
    """The overall stage in plain words."""
    if achieved == STAGE_ORDER[-1] or (achieved and not current):
        return (f"{who} has achieved the final stage, {achieved} ({names.stage(achieved)}): the task now is to "
                f"sustain the programme and keep improving it.")
    if not achieved:
        target = current or STAGE_ORDER[0]
        return (f"{who} has not yet completed the first stage, {target} ({names.stage(target)}): the foundations "
                f"of the programme are still being laid.")
    return (f"{who} has achieved stage {achieved} ({names.stage(achieved)}) and is working towards stage "
            f"{current} ({names.stage(current)}).")


def _ladder(achieved: str | None, current: str | None, names: _Names) -> list[dict]:
    rank = STAGE_ORDER.index(achieved) if achieved in STAGE_ORDER else -1
    out = []
    for i, sid in enumerate(STAGE_ORDER):
        state = "achieved" if i <= rank else ("current" if sid == current else "ahead")
        out.append({"id": sid, "name": names.stage(sid), "state": state})
    return out


def _recommendation(rec: Mapping[str, Any], names: _Names) -> dict:
    status = rec.get("status") or "unanswered"
    return {"id": rec.get("id") or rec.get("item") or "", "item": rec.get("item") or "",
            "text": rec.get("text") or names.text(rec.get("item")) or rec.get("item") or "",
            "topic": rec.get("topic") or "", "topic_path": names.topic_path(rec.get("topic")),
            "stage": rec.get("stage") or "", "status": status, "status_label": STATUS_LABELS.get(status, status),
            "priority": rec.get("priority") or "", "rank": rec.get("rank"), "rule": rec.get("rule") or "",
            "because": _because(rec.get("because")), "reason": _reason(rec)}


def _cells(topic: Mapping[str, Any]) -> list[dict]:
    completion = _get(topic, "completion", {})
    cells = _get(topic, "cells", {})
    out = []
    for sid in STAGE_ORDER:
        cell = _get(cells, sid, {})
        ratio = _number(completion.get(sid)) if isinstance(completion, Mapping) else None
        total = _get(cell, "total", 0) - _get(cell, "na", 0)
        out.append({"stage": sid, "ratio": ratio, "pct": pct(ratio), "met": bool(_get(cell, "met", False)),
                    "done": _get(cell, "done", 0), "partial": _get(cell, "partial", 0), "applicable": total,
                    "fill": charts.colour(ratio),
                    "ink": charts.text_colour(charts.colour(ratio)) if ratio is not None else charts.MUTED})
    return out


def _answer(entry: Mapping[str, Any], names: _Names) -> dict:
    status = entry.get("status") or "unanswered"
    note = entry.get("note")
    return {"item": entry.get("item") or "", "text": entry.get("text") or names.text(entry.get("item")),
            "stage": entry.get("stage") or "", "status": status, "status_label": STATUS_LABELS.get(status, status),
            "note": "" if note is None else str(note)}


def _tree(result: Mapping[str, Any], names: _Names, recs: list[dict]) -> tuple[list[dict], list[dict]]:
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
                     "stage": _get(step, "stage", ""), "status": action.get("status") or "unanswered"})

    def topic_view(t: Mapping[str, Any]) -> dict:
        tid = t.get("id")
        mine = recs_by_topic.get(tid, [])
        recommended = {r["item"] for r in mine}
        return {"id": tid, "name": t.get("name", tid), "achieved": t.get("achieved"), "current": t.get("current"),
                "achieved_label": names.stage_label(t.get("achieved")),
                "current_label": names.stage_label(t.get("current")) if t.get("current") else "\u2013",
                "rule": t.get("rule") or "", "because": _because(t.get("because")), "reason": _reason(t),
                "cells": _cells(t),
                "done": [a for a in answers_by_topic.get(tid, []) if a["status"] == "done"],
                "recommendations": mine,
                "also_open": [a for a in roadmap_by_topic.get(tid, []) if a["item"] not in recommended]}

    def unit(record: Mapping[str, Any]) -> dict:
        return {"id": record.get("id"), "name": record.get("name", record.get("id")),
                "achieved": record.get("achieved"), "current": record.get("current"),
                "achieved_label": names.stage_label(record.get("achieved")),
                "current_label": names.stage_label(record.get("current")) if record.get("current") else "\u2013",
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
                    "status": a.get("status") or "unanswered",
                    "status_label": STATUS_LABELS.get(a.get("status") or "unanswered", a.get("status"))}
                   for a in _list(step.get("actions")) if isinstance(a, Mapping)]
        sid = step.get("stage") or ""
        steps.append({"stage": sid, "name": step.get("name") or names.stage(sid), "actions": actions})
    frm, to = _get(roadmap, "from"), _get(roadmap, "to")
    return {"from": frm, "to": to, "from_label": names.stage_label(frm), "to_label": names.stage_label(to),
            "steps": steps, "count": sum(len(s["actions"]) for s in steps)}


def _red_flags(result: Mapping[str, Any]) -> list[dict]:
    flags = []
    for i, f in enumerate(_list(result.get("red_flags"))):
        if not isinstance(f, Mapping):
            continue
        sev = f.get("severity") or "medium"
        flags.append({"id": f.get("id") or "", "severity": sev, "title": f.get("title") or f.get("id") or "",
                      "message": f.get("message") or "", "advice": f.get("advice") or "",
                      "source": f.get("source") or "", "rule": f.get("rule") or "",
                      "because": _because(f.get("because")), "reason": _reason(f), "_order": (SEVERITY_ORDER.get(sev, 3), i)})
    flags.sort(key=lambda f: f["_order"])
    for f in flags:
        del f["_order"]
    return flags


def _perception_gaps(result: Mapping[str, Any], names: _Names) -> list[dict]:
    gaps = []
    for g in _list(result.get("perception_gaps")):
        if not isinstance(g, Mapping):
            continue
        answers = [{"respondent": a.get("respondent") or a.get("file") or "respondent",
                    "answer": STATUS_LABELS.get(str(a.get("answer")), "" if a.get("answer") is None else str(a.get("answer")))}
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


def _method(result: Mapping[str, Any]) -> list[str]:
    method = result.get("method")
    if isinstance(method, str) and method.strip():
        return [p.strip() for p in re.split(r"\n\s*\n", method) if p.strip()]
    if isinstance(method, list) and all(isinstance(p, str) for p in method) and method:
        return list(method)
    return list(DEFAULT_METHOD)


def build_view(result: Mapping[str, Any], *, org: str | None = None, assessor: str | None = None,
               title: str | None = None) -> dict:
    """Everything the templates show, computed from the result; missing optional keys are tolerated."""
    if not isinstance(result, Mapping):
        raise TypeError("the assessment result must be a mapping")
    names = _Names(result)
    overall = _get(result, "overall", {})
    coverage = _get(result, "coverage", {})
    organisation = org or result.get("organisation") or ""
    achieved, current = _get(overall, "achieved"), _get(overall, "current")
    if not current and achieved != STAGE_ORDER[-1]:
        current = _stage_next(achieved)
    recs = [_recommendation(r, names) for r in _list(result.get("recommendations")) if isinstance(r, Mapping)]
    tree, orphan_recs = _tree(result, names, recs)
    tool = _get(result, "tool", {})
    total = _get(coverage, "total", 0)
    answered = _get(coverage, "answered", 0)
    ratio = _get(coverage, "ratio", (answered / total) if total else None)
    facets = [{"id": f.get("id"), "name": f.get("name", f.get("id")), "score": _score(f.get("score")),
               "band": f.get("band") or "", "rule": f.get("rule") or "", "because": _because(f.get("because")),
               "reason": _reason(f)}
              for f in _list(result.get("facets")) if isinstance(f, Mapping)]
    stages = [{"id": s.get("id"), "name": s.get("name", ""), "description": s.get("description", "")}
              for s in names.stages.values()]
    return {
        "title": title or DEFAULT_TITLE,
        "organisation": organisation,
        "assessor": assessor or result.get("assessor") or "",
        "date": "" if result.get("date") is None else str(result.get("date")),
        "questionnaire": result.get("questionnaire") or "",
        "kb_version": result.get("kb_version") or "",
        "tool": f"{_get(tool, 'name', 'kam-advisor')} {_get(tool, 'version', '')}".strip(),
        "respondents": [str(r) for r in _list(result.get("respondents"))],
        "coverage": {"answered": answered, "total": total, "pct": pct(ratio), "dont_know": _get(coverage, "dont_know", 0),
                     "na": _get(coverage, "na", 0), "confidence": _get(coverage, "confidence", ""),
                     "rule": _get(coverage, "rule", ""), "reason": _reason(coverage)},
        "confidence": _get(overall, "confidence") or _get(coverage, "confidence", ""),
        "stages": stages,
        "overall": {"achieved": achieved, "current": current, "achieved_label": names.stage_label(achieved),
                    "current_label": names.stage_label(current) if current else "\u2013",
                    "headline": _headline(organisation or "The organisation", achieved, current, names),
                    "meaning": _get(names.stages.get(achieved), "description", ""),
                    "rule": _get(overall, "rule", ""), "because": _because(_get(overall, "because", [])),
                    "reason": _reason(overall),
                    "ladder": _ladder(achieved, current, names)},
        "summary_actions": recs[:SUMMARY_ACTIONS],
        "recommendations": recs,
        "orphan_recommendations": orphan_recs,
        "red_flags": _red_flags(result),
        "dimensions": tree,
        "areas": [a for d in tree for a in d["areas"] if a["id"]],
        "facets": facets,
        "heatmap_groups": _heatmap_groups(tree),
        "roadmap": _roadmap(result, names),
        "perception_gaps": _perception_gaps(result, names),
        "appendix": _appendix(result, names),
        "method": _method(result),
    }


def _charts(view: dict) -> dict:
    """The HTML report's inline SVG charts (radar of areas, radar of facets, heatmap, legend)."""
    out: dict[str, Markup | None] = {"areas": None, "dimensions": None, "facets": None, "heatmap": None,
                                     "legend": charts.legend()}
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
        out["heatmap"] = charts.heatmap(view["heatmap_groups"], [{"id": s, "short": _short(view, s)} for s in STAGE_ORDER],
                                        title="Checklist completion by topic and stage")
    return out


def _facet_label(name: str) -> str:
    """Chart label for a facet: Koru's names all open with "Key account", which the chart drops."""
    short = re.sub(r"^key account\s+", "", name or "", flags=re.I)
    return short[:1].upper() + short[1:] if short else name


def _short(view: dict, sid: str) -> str:
    for s in view["stages"]:
        if s["id"] == sid:
            return s["name"]
    return ""


# --------------------------------------------------------------------------- Jinja environments

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34", "cyan": "36"}


def _wrap(text: Any, indent: int = 0, first: str | None = None, width: int = TEXT_WIDTH) -> str:
    """Fill ``text`` to ``width`` columns; ``first`` replaces the first line's indent (e.g. a bullet)."""
    pad = " " * indent
    return textwrap.fill(" ".join(str(text).split()), width, initial_indent=pad if first is None else first,
                         subsequent_indent=pad, break_long_words=True, break_on_hyphens=False)


def _md_escape(value: Any) -> str:
    """Markdown finalize: a value cannot open HTML or break a table; template-made Markup passes."""
    if isinstance(value, Markup):
        return str(value)
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")


def _text_finalize(value: Any) -> Any:
    return "" if value is None else value


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
    env.filters["ljust"] = lambda s, n: str(s).ljust(n)
    env.filters["rjust"] = lambda s, n: str(s).rjust(n)
    env.filters["clip"] = lambda s, n: str(s) if len(str(s)) <= n else str(s)[: n - 1] + "\u2026"
    env.filters["bar"] = lambda v, n=20: "-" * n if v is None else "#" * round(float(v) / 100 * n) + "." * (n - round(float(v) / 100 * n))
    return env


def _paint(color: bool):
    def paint(text: Any, *styles: str) -> str:
        text = "" if text is None else str(text)
        if not color or not styles or not text:
            return text
        codes = ";".join(_ANSI[s] for s in styles if s in _ANSI)
        return f"\x1b[{codes}m{text}\x1b[0m" if codes else text
    return paint


def _ratio_style(ratio: Any) -> str:
    if ratio is None:
        return "dim"
    return "green" if ratio >= 0.8 else "yellow" if ratio >= 0.4 else "red"


def render(result: Mapping[str, Any], fmt: str, *, org: str | None = None, assessor: str | None = None,
           title: str | None = None, color: bool = False) -> str:
    """The report in ``fmt`` (html, md, text or json) as one string ending in a newline.

    ``org`` and ``assessor`` override the result's own; ``title`` replaces the default title.
    JSON is the assessment contract itself (with ``org``/``assessor`` applied).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")
    if kinds.is_own(result):  # an account or plan result has reports of its own
        return kinds.render_own(result, fmt)
    if fmt == "json":
        data = dict(result)
        if org:
            data["organisation"] = org
        if assessor:
            data["assessor"] = assessor
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    view = build_view(result, org=org, assessor=assessor, title=title)
    if fmt == "html":
        template = _environment("html").get_template("report.html.j2")
        return template.render(v=view, charts=_charts(view))
    if fmt == "md":
        return _tidy(_environment("md").get_template("report.md.j2").render(v=view))
    return _tidy(_environment("text").get_template("report.txt.j2").render(
        v=view, paint=_paint(color), ratio_style=_ratio_style, width=TEXT_WIDTH))


_TRAILING = re.compile(r"\s+((?:\x1b\[[0-9;]*m)*)$")


def _tidy(text: str) -> str:
    """No trailing spaces, at most one blank line in a row, exactly one final newline."""
    text = "\n".join(_TRAILING.sub(r"\1", line) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"

