"""Rendering the assessment history: a comparison of two audits, the trend over all audits,
progress towards a target stage and the organisation view of its units.

Input is plain data (the `compare --format json` document built by the CLI from
kam_advisor.results.compare / target / units); output is text, Markdown, HTML (the report's
look: report.css, inline SVG trend chart) or JSON. Client-facing text uses names, never ids.
Deterministic: no clock is read.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from markupsafe import Markup, escape

from kam_advisor.data.vocab import LABELS
from kam_advisor.render.charts import ACCENT, INK, MUTED, num
from kam_advisor.render.textfmt import md_cell as _md

FORMATS = ("text", "md", "html", "json")
LEVEL_TITLES = {"programme": "Programme", "dimension": "Dimension", "area": "Area", "topic": "Topic"}
SERIES_COLOURS = (ACCENT, "#c62828", "#2e7d32", "#f2a900", "#6a1b9a", "#00838f", "#5d4037", "#455a64")


def _pct(ratio) -> str:
    return "\u2013" if ratio is None else f"{round(float(ratio) * 100)}%"


def _stage(achieved, current) -> str:
    if achieved and achieved == current:
        return f"stage {achieved} achieved (the last)"
    return f"achieved {achieved or 'none'}, working on {current or '-'}"


def _status(s) -> str:
    return LABELS.get(s, str(s))


def _side_label(side: Mapping[str, Any]) -> str:
    return f"{side.get('date') or 'undated'}" + (f" ({side['id']})" if side.get("id") else "")


# --- the view: sections of rows, shared by every format --------------------------------------

def sections(doc: Mapping[str, Any]) -> list[dict]:
    out = []
    c = doc.get("comparison")
    if c:
        reg = c["regressions"]
        out.append({"title": "Regressions", "kind": "down", "empty": "Nothing went backwards.", "groups": [
            {"title": "Stages lost", "rows": [
                {"text": f"{LEVEL_TITLES[s['level']]} {s['name']}: {s['from']['achieved'] or 'none'} \u2192 "
                         f"{s['to']['achieved'] or 'none'}",
                 "note": "may come from the knowledge-base change" if s.get("kb_change") else None}
                for s in reg["stages"]]},
            {"title": "Actions gone backwards", "rows": [
                {"text": f"{a['topic_name']}: {a['text']}", "note": f"{_status(a['from'])} \u2192 {_status(a['to'])}"}
                for a in reg["actions"]]},
            {"title": "Red flags raised", "rows": [
                {"text": flag_text(f), "note": f"{f['severity']} severity"} for f in c["red_flags"]["raised"]]}]})
        ups = [s for s in c["stage_changes"] if s["direction"] != "down"]
        out.append({"title": "Stage changes", "kind": "up", "empty": "No stage moved forward.", "groups": [
            {"title": None, "rows": [
                {"text": f"{LEVEL_TITLES[s['level']]} {s['name']}: {_stage(**s['from'])} \u2192 {_stage(**s['to'])}",
                 "note": "may come from the knowledge-base change" if s.get("kb_change") else None}
                for s in ups]}]})
        out.append({"title": "Actions newly done", "kind": "done", "empty": "No action newly done.", "groups": [
            {"title": None, "rows": [{"text": f"{a['topic_name']}: {a['text']}", "note": f"was {_status(a['from'])}"}
                                     for a in c["actions_done"]]}]})
        out.append({"title": "Red flags cleared", "kind": "flags", "empty": "No red flag cleared.", "groups": [
            {"title": None, "rows": [{"text": flag_text(f), "note": None} for f in c["red_flags"]["cleared"]]}]})
        out.append({"title": "Recommendations completed since last time", "kind": "done",
                    "empty": "None of the earlier recommendations is done yet.", "groups": [
                        {"title": None, "rows": [{"text": f"{r['topic_name']}: {r['text']}",
                                                  "note": f"{r['priority']} priority, was {_status(r['was'])}"}
                                                 for r in c["recommendations_completed"]]}]})
        out.append({"title": "Facet scores", "kind": "facets", "empty": "No facet scored.", "groups": [
            {"title": None, "rows": [{"text": f"{f['name']}: {_score(f['from'])} \u2192 {_score(f['to'])}",
                                      "note": None if f["change"] is None else f"{f['change']:+d}"}
                                     for f in c["facets"]]}]})
        kb = c["knowledge_base"]
        if kb["changed"]:
            out.append({"title": "Knowledge base", "kind": "kb", "empty": "", "groups": [
                {"title": f"Version {kb['from']} \u2192 {kb['to']}: these changes come from the knowledge base, "
                          "not the organisation", "rows": [
                    *({"text": f"{a['topic_name']}: {a['text']}", "note": "action removed"} for a in kb["actions_removed"]),
                    *({"text": f"{a['topic_name']}: {a['text']}", "note": "action added"} for a in kb["actions_added"])]}]})
    t = doc.get("target")
    if t:
        head = (f"Target stage {t['stage']}" + (f" by {t['by']}" if t.get("by") else "") + ": "
                + ("the programme has reached it; " if t["reached"] else "")
                + f"its topics are {_pct(t['percent_to_target'])} of the way there"
                + ("" if t["progress_since_first"] is None else
                   f"; {_pct(t['progress_since_first'])} of the gap at the first audit ({t['first']['date']}) closed"))
        groups = [{"title": head, "rows": []}]
        for n, p in enumerate(t["phases"], 1):
            due = f", by {p['due']}" if p.get("due") else ""
            groups.append({"title": f"Phase {n}: stage {p['stage']}{due} ({_count(len(p['actions']), 'action', 'actions')})", "rows": [
                {"text": f"{a['topic_name']}: {a['text']}", "note": _status(a["status"])} for a in p["actions"]]})
        out.append({"title": "Progress towards the target", "kind": "target", "empty": "", "groups": groups})
    u = doc.get("units")
    if u and u.get("organisation"):
        org = u["organisation"]
        groups = [{"title": f"Organisation: {_stage(org['achieved'], org['current'])} ({org['reason']})", "rows": [
            {"text": f"{x['unit']}: {_stage(x['achieved'], x['current'])}", "note": x["date"]} for x in u["units"]]}]
        flags = u.get("red_flags") or []
        if flags:
            groups.append({"title": f"High-severity red flags in the units ({len(flags)})", "rows": [
                {"text": f["text"], "note": None} for f in flags]})
        groups.append({"title": "Units holding the organisation back", "rows": [
            {"text": h["unit"], "note": f"achieved {h['achieved'] or 'none'}"
                                        + (f"; behind in {', '.join(h['dimensions'])}" if h["dimensions"] else "")}
            for h in u["holding_back"]]})
        for status, title in (("present", "Tensions present"), ("to_expect", "Tensions to expect")):
            if not any(x.get("status", "present") == status for x in u["tensions"]):
                continue
            groups.append({"title": title, "rows": [
                {"text": f"{x['name']}: {_tension_text(x)}",
                 "note": f"{ILLUSTRATION}: \u201c{x['illustration']}\u201d" if x.get("illustration") else None}
                for x in u["tensions"] if x.get("status", "present") == status]})
        out.append({"title": "Units", "kind": "units", "empty": "", "groups": groups})
    return out


ILLUSTRATION = "the source's illustration, not your organisation"


def flag_text(f: Mapping[str, Any]) -> str:
    """A red flag by its title and what it says of this audit (several flags share a title:
    stage skipping, one per topic)."""
    if f.get("title") and f.get("message"):
        return f"{f['title']} \u2014 {f['message']}"
    return f.get("title") or f.get("message") or ""


def _tension_text(t: Mapping[str, Any]) -> str:
    """A tension in this organisation's terms (documents saved before ``text`` name the units)."""
    if t.get("text"):
        return t["text"]
    return f"ahead: {', '.join(t['units_ahead'])}; behind: {', '.join(t['units_behind'])}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _score(value) -> str:
    return "\u2013" if value is None else str(value)


def _headline(doc: Mapping[str, Any], ids: bool = True) -> list[str]:
    """The title lines; ``ids`` (the terminal's text, where a consultant picks ``--from``) names
    each audit's id beside its date; a client's page (Markdown, HTML) speaks in dates only."""
    name = doc["organisation"] + (f" \u2014 {doc['unit']}" if doc.get("unit") else "")
    c = doc.get("comparison")
    lines = [name]
    if c:
        label = _side_label if ids else (lambda side: side.get("date") or "undated")
        lines.append(f"Audit of {label(c['from'])} compared with {label(c['to'])}")
        lines.append(f"Programme: {_stage(c['from']['achieved'], c['from']['current'])} \u2192 "
                     f"{_stage(c['to']['achieved'], c['to']['current'])}; coverage {_pct(c['from']['coverage'])} "
                     f"\u2192 {_pct(c['to']['coverage'])}")
        done = c.get("checklist_done")
        if done and done["from"]["share"] is not None and done["to"]["share"] is not None:
            lines.append(f"Checklist done: {_pct(done['from']['share'])} ({done['from']['done']} of "
                         f"{done['from']['applicable']} applicable actions) \u2192 {_pct(done['to']['share'])} "
                         f"({done['to']['done']} of {done['to']['applicable']})")
    return lines


# --- text and Markdown -------------------------------------------------------------------------

def render_text(doc: Mapping[str, Any]) -> str:
    out = _headline(doc)
    for s in sections(doc):
        rows = sum(len(g["rows"]) for g in s["groups"])
        out.append("")
        out.append(f"{s['title']} ({rows})" if s["kind"] not in ("target", "units", "kb") else s["title"])
        if not rows and s["empty"]:
            out.append(f"  {s['empty']}")
        for g in s["groups"]:
            if g["title"] and (g["rows"] or s["kind"] in ("target", "units", "kb")):
                out.append(f"  {g['title']}:" if g["rows"] else f"  {g['title']}")
            for r in g["rows"]:
                out.append(f"    - {r['text']}" + (f" ({r['note']})" if r["note"] else ""))
    return "\n".join(out) + "\n"


def render_md(doc: Mapping[str, Any]) -> str:
    head = _headline(doc, ids=False)
    out = [f"# {_md(head[0])}", ""] + [f"{_md(line)}  " for line in head[1:]]
    for s in sections(doc):
        rows = sum(len(g["rows"]) for g in s["groups"])
        out += ([] if out[-1] == "" else [""]) + [f"## {_md(s['title'])}", ""]
        if not rows and s["empty"]:
            out.append(_md(s["empty"]))
        for g in s["groups"]:
            if g["title"] and (g["rows"] or s["kind"] in ("target", "units", "kb")):
                out += [f"**{_md(g['title'])}**", ""]
            for r in g["rows"]:
                out.append(f"- {_md(r['text'])}" + (f" *({_md(r['note'])})*" if r["note"] else ""))
            if g["rows"]:
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --- HTML: the trend chart and the page ---------------------------------------------------------

def trend_chart(trend: Mapping[str, Any], stages: Sequence[Mapping[str, Any]], *, title: str) -> Markup:
    """Stage achieved by the programme and each dimension at every audit (step lines, inline SVG)."""
    audits = list(trend.get("audits") or [])
    series = list(trend.get("series") or [])
    ids = [s["id"] for s in stages]
    left, right, top, bottom = 120, 44, 16, 46
    width = max(520, left + right + 90 * max(len(audits) - 1, 1))
    plot_w, plot_h = width - left - right, 220
    height = top + plot_h + bottom + 18 * ((len(series) + 2) // 3)
    levels = len(ids)

    def x(n):
        return left + (plot_w * n / (len(audits) - 1) if len(audits) > 1 else plot_w / 2)

    def y(rank, k):
        return top + plot_h - plot_h * rank / levels + (k - (len(series) - 1) / 2) * 3

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" viewBox="0 0 {num(width)} {num(height)}" '
           f'role="img" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for r in range(levels + 1):
        yy = top + plot_h - plot_h * r / levels
        label = "none" if r == 0 else f"{ids[r - 1]} {stages[r - 1].get('name', '')}"
        out.append(f'<line x1="{left}" y1="{num(yy)}" x2="{num(width - right)}" y2="{num(yy)}" stroke="#c9ced6" '
                   f'stroke-width="{1 if r == 0 else 0.6}"/>')
        out.append(f'<text x="{left - 8}" y="{num(yy + 4)}" font-size="10" fill="{INK}" text-anchor="end">'
                   f'{escape(label)}</text>')
    for n, a in enumerate(audits):
        label = a.get("date") or ""
        out.append(f'<text x="{num(x(n))}" y="{num(top + plot_h + 16)}" font-size="9" fill="{MUTED}" '
                   f'text-anchor="middle">{escape(label)}</text>')
    for k, s in enumerate(series):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        pts = [(n, p) for n, p in enumerate(s["points"]) if p.get("assessed", True)]
        ranks = [(n, ids.index(p["achieved"]) + 1 if p.get("achieved") in ids else 0) for n, p in pts]
        path = []
        for j, (n, rank) in enumerate(ranks):
            if j:
                path.append(f"H{num(x(n))}V{num(y(rank, k))}")
            else:
                path.append(f"M{num(x(n))},{num(y(rank, k))}")
        if path:
            wide = 3 if k == 0 else 1.6
            out.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="{wide}" '
                       f'stroke-linejoin="round"/>')
        for (n, rank), (_, p) in zip(ranks, pts):
            tip = f"{s['name']}, {audits[n].get('date')}: " + (f"stage {p['achieved']} achieved" if p.get("achieved")
                                                               else "no stage achieved")
            out.append(f'<circle cx="{num(x(n))}" cy="{num(y(rank, k))}" r="{4 if k == 0 else 3}" fill="{colour}">'
                       f"<title>{escape(tip)}</title></circle>")
    ly = top + plot_h + 34
    for k, s in enumerate(series):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        lx = left + (k % 3) * (plot_w / 3)
        yy = ly + (k // 3) * 18
        out.append(f'<rect x="{num(lx)}" y="{num(yy - 8)}" width="14" height="4" fill="{colour}"/>')
        out.append(f'<text x="{num(lx + 20)}" y="{num(yy - 3)}" font-size="10" fill="{INK}">{escape(s["name"])}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))


def render_html(doc: Mapping[str, Any]) -> str:
    from kam_advisor.render.report import _environment
    stages = doc.get("stages") or []
    chart = None
    if doc.get("trend") and doc["trend"].get("audits"):
        chart = trend_chart(doc["trend"], stages, title="Stage achieved at each audit: programme and dimensions")
    template = _environment("html").get_template("history.html.j2")
    head = _headline(doc, ids=False)
    return template.render(doc=doc, title=head[0], lines=head[1:], sections=sections(doc), chart=chart)


def render(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        import orjson     # the same text as json.dumps(indent=2, ensure_ascii=False), several times faster
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "text":
        return render_text(doc)
    if fmt == "md":
        return render_md(doc)
    if fmt == "html":
        return render_html(doc)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def kb_diff_text(d: Mapping[str, Any]) -> str:
    """``kb diff`` as text: each kind of change with its actions, then the version-bump verdict."""
    parts = [("added", d["added"], lambda a: f"{a['id']} ({a['topic_name']}, stage {a['stage']}): {a['text']}"),
             ("removed", d["removed"], lambda a: f"{a['id']} ({a['topic_name']}, stage {a['stage']}): {a['text']}"),
             ("renamed", d["renamed"], lambda a: f"{a['from']} -> {a['to']}: {a['text']}"),
             ("reworded", d["reworded"], lambda a: f"{a['id']}: '{a['from']}' -> '{a['to']}'"),
             ("moved to another topic", d["moved_topic"], lambda a: f"{a['id']}: {a['from_name']} -> {a['to_name']}"),
             ("moved to another stage", d["moved_stage"], lambda a: f"{a['id']}: {a['from']} -> {a['to']}")]
    lines = [f"knowledge base {d['from']} -> {d['to']}"]
    for title, rows, line in parts:
        lines.append(f"{title} ({len(rows)})")
        lines += [f"  {line(row)}" for row in rows]
    lines.append(d["bump"]["verdict"])
    return "\n".join(lines) + "\n"


def reassess_text(audit: Mapping[str, Any], before: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """``reassess`` as text: the stored audit (its summary fields), its stages before and after,
    the answers that followed renamed actions and those kept for actions no longer there."""
    r = result["reassessment"]
    o, was = result["overall"], before.get("overall") or {}
    unit = f" / {audit['unit']}" if audit.get("unit") else ""
    lines = [f"audit {audit['id']} ({audit['organisation']}{unit}, {audit['date']}) re-assessed: "
             f"knowledge base {r['from_kb_version']} -> {r['to_kb_version']}",
             f"programme: achieved {was.get('achieved') or 'none'} -> {o['achieved'] or 'none'}; "
             f"working on {was.get('current')} -> {o['current']}",
             f"answers carried over renamed actions ({len(r['renamed'])})"]
    lines += [f"  {x['from']} -> {x['to']} ({x['status']})" for x in r["renamed"]]
    lines.append(f"answers to actions no longer in the knowledge base, kept but not assessed "
                 f"({len(r['removed_answers'])})")
    lines += [f"  {x['item']}: {x['text']} ({x['status']})" + (f" - note: {x['note']}" if x.get("note") else "")
              for x in r["removed_answers"]]
    if r["removed_facts"]:
        lines.append("facts the rules no longer read: " + ", ".join(sorted(r["removed_facts"])))
    return "\n".join(lines) + "\n"


def _listing_stage(achieved, current) -> str:
    if achieved and achieved == current:
        return achieved
    return f"{achieved or '-'} -> {current or '-'}"


def _movement(a: Mapping[str, Any]) -> str:
    """The movement since the unit's audit before: the stage, else the actions done."""
    m = a.get("since_previous")
    if not m:
        return "first"
    done = m["actions_done"]
    n = abs(done)
    actions = f"{'+' if done > 0 else '-' if done < 0 else ''}{n} done" if done else "no action newly done"
    stage = {"up": "stage up; ", "down": "stage down; ", "same": ""}[m["stage"]]
    return stage + actions


def history_text(doc: Mapping[str, Any]) -> str:
    """``history``'s table: one line per audit, oldest first, with the share of the applicable
    checklist done and the movement since the same unit's audit before it."""
    from kam_advisor.render import textfmt
    rows = doc["audits"]
    table = [[a["id"], a["date"], a["unit"] or "(whole)", _listing_stage(a["achieved"], a["current"]),
              "-" if a.get("checklist_done") is None else f"{a['checklist_done']:.0%} ({a['actions_done']})",
              _movement(a), "-" if a["coverage"] is None else f"{a['coverage']:.0%}", a["confidence"] or "-",
              a["red_flags"], a["assessor"] or ""] for a in rows]
    head = f"{doc['organisation']}: {len(rows)} audit{'s' if len(rows) != 1 else ''}"
    return head + "\n" + textfmt.table(
        ["audit", "date", "unit", "stage", "done", "since before", "coverage", "confidence", "flags", "assessor"],
        table, "llllrlrlrl") + "\n"
