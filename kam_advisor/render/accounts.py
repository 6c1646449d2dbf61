"""Account selection output: a portfolio as CSV, JSON, xlsx or an HTML report with the matrix;
one account's result as text, Markdown, HTML or JSON.

Portfolio writers stream: they take a run (``header()``, ``accounts()`` then ``finish()``, see
:class:`kam_advisor.results.account.PortfolioRun`) and never hold all accounts; the HTML report
keeps only the largest accounts it shows (chart and lists). Text a person typed
(names, managers) never becomes a spreadsheet formula (:func:`spreadsheet_cell`).
"""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from typing import Any, Iterable, Mapping

import jinja2
from markupsafe import Markup, escape

from kam_advisor.data.cells import spreadsheet_cell
from kam_advisor.render.charts import ACCENT, INK, MUTED, label_width, num

CSV_COLUMNS = ["row", "id", "name", "manager", "key_account", "revenue", "potential", "customer_attractiveness",
               "supplier_attractiveness", "quadrant", "advice", "move", "moved_from", "flags", "reason",
               "key_list", "review", "warnings"]
XLSX_COLUMNS = CSV_COLUMNS + ["flag_ids"]  # the flags column in words there, their ids last
KEY_LIST_WORDS = {"keep": "kept", "off": "moved off", "review": "to review", "on": "moved on", None: ""}
BOX_COLOURS = {"mutual.key": "#2e7d32", "mutual.build": "#f2a900", "mutual.maintenance": "#1d4e89",
               "mutual.minimal": "#c62828", "none": "#9aa3ad"}
CHART_MAX = 400   # bubbles drawn: the largest accounts by revenue
LABEL_MAX = 60    # bubbles named beside them (the largest, where a free place is found)
BUBBLE_MAX = 20   # radius of the largest bubble
LIST_MAX = 200    # accounts listed per quadrant in the HTML report


def _yes_no(v):
    return "" if v is None else ("yes" if v else "no")


def csv_row(a: Mapping[str, Any]) -> list:
    """One account as the CSV/xlsx columns (``CSV_COLUMNS``), text made formula-safe."""
    cs, ss = a["customer_attractiveness"]["score"], a["supplier_attractiveness"]["score"]
    safe = spreadsheet_cell
    return [a["row"], safe(a["id"] or ""), safe(a["name"]), safe(a["manager"] or ""), _yes_no(a["key_account"]),
              "" if a["revenue"] is None else num_text(a["revenue"]),
              "" if a["potential"] is None else num_text(a["potential"]),
              "" if cs is None else cs, "" if ss is None else ss, a["quadrant"]["name"], a["advice"]["title"],
              a["move"]["direction"] if a["move"] else "", a["moved"]["from_name"] if a["moved"] else "",
              "; ".join(f["id"] for f in a["flags"]), safe(a["quadrant"]["reason"]),
              KEY_LIST_WORDS[a.get("key_list")], safe(" ".join(r["reason"] for r in a.get("reviews") or [])),
              warnings_text(a)]


def warnings_text(a: Mapping[str, Any]) -> str:
    """The account's rating cells left out, in words (formula-safe)."""
    return spreadsheet_cell("; ".join(f"{w['column']} left out: '{w['value']}' is not {w['expected']}"
                                      for w in a.get("warnings") or ()))


def num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def write_csv(handle, run) -> dict:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for a in run.accounts():
        writer.writerow(csv_row(a))
    return run.finish()


def write_json(handle, run) -> dict:
    """One JSON document: the header fields, ``accounts`` (one object per line), then the rest."""
    head = run.header()
    handle.write("{\n")
    for key, value in head.items():
        handle.write(f"  {json.dumps(key)}: {_indented(value)},\n")
    handle.write('  "accounts": [')
    first = True
    for a in run.accounts():
        handle.write(("\n    " if first else ",\n    ") + json.dumps(a, ensure_ascii=False))
        first = False
    handle.write("\n  ]" if not first else "]")
    tail = run.finish()
    for key, value in tail.items():
        handle.write(f",\n  {json.dumps(key)}: {_indented(value)}")
    handle.write("\n}\n")
    return tail


def _indented(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")


def write_xlsx(path, run) -> dict:
    """Sheets Accounts, Findings, Summary, Quadrants, Skipped rows and Ratings left out, laid out
    for a person (:mod:`kam_advisor.render.sheets`); written with openpyxl's streaming writer."""
    import openpyxl
    from kam_advisor.data.files import atomic_stream
    from kam_advisor.render.sheets import TableSheet
    book = openpyxl.Workbook(write_only=True)
    money = "#,##0"
    sheet = TableSheet(book, "Accounts", XLSX_COLUMNS, {5: money, 6: money})
    flags_at = CSV_COLUMNS.index("flags")
    for a in run.accounts():
        row = csv_row(a)
        for i in (5, 6, 7, 8):  # numbers stay numbers
            if row[i] != "":
                row[i] = float(row[i]) if i in (5, 6) else row[i]
        row[flags_at] = "; ".join(f["title"] for f in a["flags"])
        sheet.append(row + ["; ".join(f["id"] for f in a["flags"])])
    sheet.close()
    tail = run.finish()
    findings = TableSheet(book, "Findings", ["severity", "finding", "manager", "message", "advice", "id"])
    for f in tail["findings"]:
        findings.append([spreadsheet_cell(v or "") for v in (f["severity"], f["title"], f["manager"], f["message"],
                                                              f["advice"], f["id"])])
    findings.close()
    summary = TableSheet(book, "Summary", ["", "accounts"])
    for label, value in summary_lines(tail["summary"]):
        summary.append([label, value])
    summary.close()
    quadrants = TableSheet(book, "Quadrants", ["quadrant", "accounts", "revenue"], {2: money})
    for q in tail["summary"]["quadrants"]:
        quadrants.append([q["name"], q["accounts"], q["revenue"]])
    quadrants.close()
    skipped = TableSheet(book, "Skipped rows", ["row", "error"])
    for s in tail["skipped"]:
        skipped.append([s["row"], spreadsheet_cell(s["error"])])
    skipped.close()
    left_out = TableSheet(book, "Ratings left out", ["row", "account", "column", "value", "expected", "where"])
    for w in tail.get("warnings") or ():
        left_out.append([w["row"], spreadsheet_cell(w.get("account") or ""), w["column"], spreadsheet_cell(w["value"]),
                         w["expected"], spreadsheet_cell(w["where"])])
    left_out.close()
    with atomic_stream(path, binary=True) as handle:
        book.save(handle)
    return tail


def summary_lines(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The key-account list from today's to the proposed one, as (label, value) rows: the
    arithmetic (today - moved off + moved on = proposed) and the groups of accounts to review."""
    arith = summary["arithmetic"]
    rows: list[tuple[str, Any]] = [("Key accounts today", arith["today"]), ("Moved off", arith["moved_off"]),
                                   ("Moved on", arith["moved_on"]), ("Proposed key accounts", arith["proposed"]),
                                   ("Kept as they are", summary["key_accounts_kept"]),
                                   ("To review (on the proposed list until reviewed)", arith["review"]),
                                   ("In words", arith["text"])]
    rows += [("To review", spreadsheet_cell(g["text"][:1].upper() + g["text"][1:])) for g in summary["review"]]
    return rows


def summary_sheet(sheet, summary: Mapping[str, Any]) -> None:
    sheet.append(["", "accounts"])
    for label, value in summary_lines(summary):
        sheet.append([label, value])


def summary_text(summary: Mapping[str, Any], skipped: int, findings: int, left_out: int = 0) -> str:
    """The one-paragraph summary ``accounts score`` prints: accounts scored, the key-account list's
    arithmetic and what to review, in words with plurals agreeing."""
    def n(k, one, many):
        return f"{k} {one if k == 1 else many}"
    parts = [f"{n(summary['accounts'], 'account', 'accounts')} scored, {n(skipped, 'row', 'rows')} skipped"
             + (f", {n(left_out, 'rating', 'ratings')} left out" if left_out else ""),
             summary["arithmetic"]["text"].rstrip(".")]
    if summary["review"]:
        parts.append("to review: " + "; ".join(g["text"] for g in summary["review"]))
    parts.append(n(findings, "portfolio finding", "portfolio findings"))
    return "; ".join(parts)


# --- HTML --------------------------------------------------------------------------------------

def _compact(a: Mapping[str, Any]) -> dict:
    return {"name": a["name"], "manager": a["manager"], "key": a["key_account"], "revenue": a["revenue"],
            "cs": a["customer_attractiveness"]["score"], "ss": a["supplier_attractiveness"]["score"],
            "box": a["quadrant"]["id"], "box_name": a["quadrant"]["name"], "reason": a["quadrant"]["reason"],
            "advice": a["advice"]["title"], "move": a["move"]["direction"] if a["move"] else None,
            "moved": a["moved"]["reason"] if a["moved"] else None,
            "flags": [f["message"] for f in a["flags"]], "key_list": a.get("key_list"),
            "reviews": [r["reason"] for r in a.get("reviews") or []]}


class _Largest:
    """The n accounts of largest revenue seen so far (ties by name, then input order): memory
    stays bounded however many accounts stream past."""

    def __init__(self, n: int):
        self.n = n
        self.items: list[tuple] = []
        self.total = 0

    def add(self, seq: int, a: dict) -> None:
        self.total += 1
        self.items.append((-(a["revenue"] or 0), a["name"], seq, a))
        if len(self.items) >= 2 * self.n:
            self.items = sorted(self.items, key=lambda t: t[:3])[:self.n]

    def best(self) -> list[dict]:
        return [t[3] for t in sorted(self.items, key=lambda t: t[:3])[:self.n]]


def render_portfolio_html(run, title: str | None = None) -> tuple[str, dict]:
    head = run.header()
    chart, boxes = _Largest(CHART_MAX), {b: _Largest(LIST_MAX) for b in BOX_COLOURS}
    deselect, move_in, moved = _Largest(LIST_MAX), _Largest(LIST_MAX), _Largest(LIST_MAX)
    review = _Largest(LIST_MAX)
    for seq, full in enumerate(run.accounts()):
        a = _compact(full)
        boxes[a["box"]].add(seq, a)
        if a["key_list"] == "review":
            review.add(seq, a)
        if a["cs"] is not None and a["ss"] is not None:
            chart.add(seq, a)
        if a["move"]:
            (deselect if a["move"] == "out" else move_in).add(seq, a)
        if a["moved"]:
            moved.add(seq, a)
    tail = run.finish()
    quadrants = [{**q, "listed": boxes[q["id"]].best(), "colour": BOX_COLOURS[q["id"]]}
                 for q in tail["summary"]["quadrants"] if q["accounts"]]
    text = _env().get_template("accounts.html.j2").render(
        title=title or "Key-account selection", head=head, tail=tail, quadrants=quadrants,
        deselect=deselect.best(), deselect_total=deselect.total, move_in=move_in.best(),
        move_in_total=move_in.total, moved=moved.best(), moved_total=moved.total, list_max=LIST_MAX,
        review=review.best(), review_total=review.total,
        chart=matrix_chart(chart.best(), head["scoring"]), chart_max=CHART_MAX, colours=BOX_COLOURS)
    return text, tail


def matrix_chart(accounts: Iterable[Mapping[str, Any]], scoring: Mapping[str, Any], size: int = 520) -> Markup:
    """The mutual-attractiveness matrix as an SVG scatter plot: x = our attractiveness to the
    customer, y = the customer's attractiveness to us, bubble area ~ revenue; the largest
    ``CHART_MAX`` scored accounts of ``accounts`` are drawn."""
    pad_l, pad_b, pad_t, pad_r = 56, 48, 16, 16
    w = h = size
    pw, ph = w - pad_l - pad_r, h - pad_t - pad_b
    inset = BUBBLE_MAX + 2  # a bubble at 0 or 100 is drawn whole inside the plot
    scored = [a for a in accounts if a["cs"] is not None and a["ss"] is not None]
    scored.sort(key=lambda a: (-(a["revenue"] or 0), a["name"]))
    shown = scored[:CHART_MAX]
    top = max((a["revenue"] or 0 for a in shown), default=0) or 1

    def x(v):
        return pad_l + inset + (pw - 2 * inset) * v / 100

    def y(v):
        return pad_t + inset + (ph - 2 * inset) * (1 - v / 100)

    right, bottom = pad_l + pw, pad_t + ph

    cx, cy = x(float(scoring["supplier_attractive_min"])), y(float(scoring["customer_attractive_min"]))
    out = [f'<svg class="chart matrix" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="Mutual-attractiveness matrix">']
    boxes = [("mutual.key", cx, pad_t, right - cx, cy - pad_t, "Mutual attraction"),
             ("mutual.build", pad_l, pad_t, cx - pad_l, cy - pad_t, "Build our attractiveness"),
             ("mutual.maintenance", cx, cy, right - cx, bottom - cy, "Account maintenance"),
             ("mutual.minimal", pad_l, cy, cx - pad_l, bottom - cy, "Low mutual attraction")]
    out.append(f'<clipPath id="matrix-plot"><rect x="{pad_l}" y="{pad_t}" width="{num(pw)}" height="{num(ph)}"/>'
               '</clipPath>')
    for box, bx, by, bw, bh, label in boxes:
        out.append(f'<rect x="{num(bx)}" y="{num(by)}" width="{num(bw)}" height="{num(bh)}" '
                   f'fill="{BOX_COLOURS[box]}" fill-opacity="0.07" stroke="{MUTED}" stroke-width="0.5"/>')
    for v in (0, 25, 50, 75, 100):
        out.append(f'<text x="{num(x(v))}" y="{num(h - pad_b + 16)}" font-size="10" text-anchor="middle" '
                   f'fill="{MUTED}">{v}</text>')
        out.append(f'<text x="{num(pad_l - 6)}" y="{num(y(v) + 3)}" font-size="10" text-anchor="end" '
                   f'fill="{MUTED}">{v}</text>')
    out.append(f'<text x="{num(pad_l + pw / 2)}" y="{num(h - 8)}" font-size="11" text-anchor="middle" '
               f'fill="{INK}">Our attractiveness to the customer</text>')
    out.append(f'<text x="14" y="{num(pad_t + ph / 2)}" font-size="11" text-anchor="middle" fill="{INK}" '
               f'transform="rotate(-90 14 {num(pad_t + ph / 2)})">Customer\'s attractiveness to us</text>')
    out.append('<g clip-path="url(#matrix-plot)">')

    def radius(a):
        return 7 if a["revenue"] is None else 3 + (BUBBLE_MAX - 3) * (a["revenue"] / top) ** 0.5

    for a in reversed(shown):  # the largest drawn first, the small ones stay visible on top
        out.append(f'<circle cx="{num(x(a["ss"]))}" cy="{num(y(a["cs"]))}" r="{num(radius(a))}" '
                   f'fill="{BOX_COLOURS[a["box"]]}" fill-opacity="0.55" stroke="{INK}" stroke-width="0.5">'
                   f'<title>{escape(a["name"])}: {a["cs"]} / {a["ss"]}</title></circle>')
    out.append("</g>")
    titles = [(bx + 6, by + 3, bx + 6 + label_width(label, 11), by + 17) for _, bx, by, _, _, label in boxes]
    out.extend(bubble_labels([(x(a["ss"]), y(a["cs"]), radius(a), a["name"]) for a in shown[:LABEL_MAX]],
                             (pad_l + 2, pad_t + 2, right - 2, bottom - 2), titles))
    for box, bx, by, bw, bh, label in boxes:  # labels on top of the bubbles, with a white halo
        out.append(f'<text x="{num(bx + 6)}" y="{num(by + 14)}" font-size="11" font-weight="600" fill="{INK}" '
                   f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(label)}</text>')
    out.append(f'<line x1="{num(cx)}" y1="{num(pad_t)}" x2="{num(cx)}" y2="{num(bottom)}" stroke="{ACCENT}" '
               f'stroke-dasharray="4 3"/>')
    out.append(f'<line x1="{num(pad_l)}" y1="{num(cy)}" x2="{num(right)}" y2="{num(cy)}" stroke="{ACCENT}" '
               f'stroke-dasharray="4 3"/>')
    out.append("</svg>")
    return Markup("".join(out))


def bubble_labels(bubbles, bounds, occupied=()) -> list[str]:
    """The accounts' names beside their bubbles (SVG text, so they print), placed so that they
    do not overlap (:func:`kam_advisor.render.charts.place_labels`); a name with no free place
    keeps its tooltip only."""
    from kam_advisor.render.charts import LABEL_FONT, place_labels, short_label
    texts = [(bx, by, r, short_label(name)) for bx, by, r, name in bubbles]
    out = []
    for (_, _, _, text), spot in zip(texts, place_labels(texts, bounds, occupied=occupied)):
        if spot is not None:
            lx, ly, anchor, _ = spot
            out.append(f'<text class="bubble-label" x="{num(lx)}" y="{num(ly + LABEL_FONT * 0.35)}" '
                       f'font-size="{LABEL_FONT}" text-anchor="{anchor}" fill="{INK}" stroke="#ffffff" '
                       f'stroke-width="2.5" paint-order="stroke">{escape(text)}</text>')
    return out


@lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("kam_advisor.render", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["money"] = lambda v: "" if v is None else f"{v:,.0f}"
    env.filters["yesno"] = _yes_no
    env.filters["score"] = lambda v: "–" if v is None else str(v)
    return env


# --- one account ---------------------------------------------------------------------------

def render_account(result: Mapping[str, Any], fmt: str) -> str:
    """One account's result (from an `account` answers file) in text, md, html or json."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if fmt == "html":
        a = dict(result)
        compact = {"name": a["name"], "revenue": a["revenue"], "cs": a["customer_attractiveness"]["score"],
                   "ss": a["supplier_attractiveness"]["score"], "box": a["quadrant"]["id"]}
        return _env().get_template("account.html.j2").render(a=a, chart=matrix_chart([compact], a["scoring"]))
    cs, ss = result["customer_attractiveness"], result["supplier_attractiveness"]
    md = fmt == "md"
    h = (lambda t: f"## {t}") if md else (lambda t: t)
    lines = [f"# {result['name']}" if md else f"Account: {result['name']}", ""]
    lines.append(f"Quadrant: {result['quadrant']['name']}")
    lines.append(f"What to do: {result['advice']['title']}. {result['advice']['text']}")
    lines.append(f"Why: {result['quadrant']['reason']}")
    lines += ["", h("Scores")]
    lines.append(f"- Customer attractiveness to us: {_score(cs['score'])} of 100 ({cs['reason']})")
    crit = result["scoring"]["criteria"]
    rated = [f"{c['name']} {cs['ratings'][k]:g}" + (f" (weight {c['weight']:g})" if c["weight"] != 1 else "")
             for k, c in crit.items() if k in cs["ratings"]]
    if rated:
        lines.append(f"  ratings: {', '.join(rated)}")
    lines.append(f"- Our attractiveness to the customer: {_score(ss['score'])} of 100 ({ss['reason']})")
    if result["move"]:
        lines.append(f"- Key-account list: {result['move']['reason']}")
    for r in result.get("reviews") or []:
        lines.append(f"- Key-account list, to review: {r['reason']}")
    if result["flags"]:
        lines += ["", h("Doubtful key account")]
        for f in result["flags"]:
            lines.append(f"- [{f['severity']}] {f['message']} {f['advice']}")
    if md:
        lines = [md_line(line) for line in lines]
    return "\n".join(lines) + "\n"


_MD_PREFIX = re.compile(r"^(#+ |- |\s+)?(.*)$", re.S)


def md_escape(text: str) -> str:
    """Text a person typed, safe in Markdown: it cannot open HTML or break a table."""
    return text.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def md_line(line: str) -> str:
    """A Markdown line whose structure (heading, bullet, indent) is ours and whose text is escaped."""
    prefix, text = _MD_PREFIX.match(line).groups()
    return (prefix or "") + md_escape(text)


def _score(v):
    return "not scored" if v is None else v
