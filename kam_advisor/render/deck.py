"""The board deck: a PowerPoint file of 7-9 slides built from the report's own view (python-pptx).

What a slide says comes from :func:`deck_content`, one function over the report's view
(:func:`kam_advisor.render.report.build_view`), so the deck says what the report says, in
names. Every text is a text box or placeholder a consultant can edit; the chart is a native
PowerPoint chart (its data travels inside the file). The firm's brand colours the title bars
and the chart, its logo opens the deck (a PNG; python-pptx cannot place SVG, so an SVG logo
gives way to the firm's name). Same inputs, same bytes: the document's dates are the audit's
and the zip entries' dates are fixed.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from typing import Any, Mapping

from kam_advisor.data.brand import Brand
from kam_advisor.data.errors import DataError
from kam_advisor.render import charts, kinds, report

NEEDS_EXTRA = "report --format pptx needs the pptx extra: pip install 'kam-advisor[pptx]'"
MAX_FLAGS = 6
MAX_HELD_BACK = 6
MAX_PHASE_ACTIONS = 3
MAX_TEXT = 220          # characters of one bullet: a slide is read from across a room


def _clip(text: Any, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def deck_content(view: Mapping[str, Any]) -> dict:
    """The deck's words and numbers, plain data, from the report's view (the one place the deck
    reads the result through)."""
    overall, coverage, summary = view["overall"], view["coverage"], view["summary"]
    if coverage["screening"]:
        covered = (f"{coverage['scope']} of the {coverage['total']} checklist actions asked about "
                   f"({coverage['scope_pct']} of them answered)")
    else:
        covered = f"{coverage['answered']} of {coverage['total']} checklist actions answered ({coverage['pct']})"
    scored = view["areas"] if len(view["areas"]) >= 3 else view["dimensions"]
    chart = {"title": f"Score by {'area' if scored is view['areas'] else 'dimension'} (0-100)",
             "categories": [unit["name"] for unit in scored], "values": [unit["score"] for unit in scored]}

    held: list[str] = []
    if summary["held_back"]:
        held.append(summary["held_back"])
    held += [lag["sentence"] for lag in summary["lagging"]]
    if summary["skipping"]:
        held.append(summary["skipping"]["sentence"])
    if summary["perception"]:
        held.append(summary["perception"]["sentence"])
    stage = summary["current_stage"] or summary["achieved_stage"]
    if stage and (stage["not_in_place"] or stage["not_shown"]):
        held.append(f"Stage {stage['stage']} ({stage['name']}) still to do: "
                    f"{report.and_list(stage['not_in_place'] + stage['not_shown'])}.")
    if not held:
        held.append("Nothing the answers show holds the programme back beyond the open actions of the plan.")

    flags = [{"title": f["title"], "message": f["message"], "severity": f["severity"]} for f in view["red_flags"]]
    next_steps = [{"title": a["title"] or a["text"], "detail": a["text"] if a["title"] else a["topic_path"]}
                  for a in view["summary_actions"]]
    roadmap = view["roadmap"]
    phases = [{"name": p["name"], "count": len(p["actions"]),
               "first": [a["title"] or a["text"] for a in p["actions"][:MAX_PHASE_ACTIONS]]} for p in view["plan"]]
    progress = None
    if view["progress"] and (view["progress"]["earlier"] or view["progress"]["target"]):
        p = view["progress"]
        change = p["change"] or {}
        target = p["target"]
        progress = {
            "change": change.get("text") or "",
            "regressed": [i.get("text") for i in change.get("regressed") or [] if isinstance(i, Mapping)],
            "improved": [i.get("text") for i in change.get("improved") or [] if isinstance(i, Mapping)],
            "earlier": [f"{a['date']}{' (' + a['unit'] + ')' if a['unit'] else ''}: achieved {a['achieved_label']}, "
                        f"working on {a['current_label']}" for a in p["earlier"]],
            "target": "" if not target else (
                f"Target: stage {target['stage_label']}" + (f" by {target['by']}" if target["by"] else "")
                + (": reached." if target["reached"] else f": {target['percent']} of the way there"
                   + (f" ({target['since_first']} since {target['first_date']})" if target["since_first"] else "")
                   + ".")),
        }
    return {
        "title": view["title"], "organisation": view["organisation"], "date": view["date"],
        "assessor": view["assessor"], "questionnaire": view["questionnaire"],
        "headline": overall["headline"],
        "stage": [("Stage achieved", overall["achieved_label"]), ("Working on", overall["current_label"]),
                  ("Confidence", view["confidence"] or "not stated"), ("Coverage", covered)],
        "ladder": [(s["id"], s["name"], s["state"]) for s in overall["ladder"]],
        "chart": chart,
        "held_back": held,
        "red_flags": flags,
        "next_name": view["first_phase"] or "Next steps",
        "next_steps": next_steps,
        "roadmap": {"from": roadmap["from_label"] if roadmap["from"] else "",
                    "to": roadmap["to_label"] if roadmap["to"] else "", "count": roadmap["count"],
                    "phases": phases},
        "progress": progress,
        "about": [f"Questionnaire: {view['questionnaire']}" if view["questionnaire"] else "",
                  f"Respondents: {'; '.join(view['respondents'])}" if view["respondents"] else "",
                  f"Coverage: {covered}; confidence {view['confidence'] or 'not stated'}",
                  f"Produced with {view['tool']} (knowledge base {view['kb_version'] or 'unknown'}): a rule-based "
                  f"assessment over the {view['counts']['actions']}-action KAM audit checklist, its "
                  f"{view['counts']['stages']} stages and Koru's {view['counts']['facets']} facets.",
                  "Every finding rests on the answers named in the full report's technical appendix."],
    }


# --------------------------------------------------------------------------- drawing

def check_available() -> None:
    """python-pptx is there, or one line saying how to install it."""
    try:
        import pptx  # noqa: F401
    except ImportError:
        raise DataError(NEEDS_EXTRA) from None


def _bullet(para, indent_in: float) -> None:
    """A real bullet (PowerPoint keeps it on the next line a consultant types), hanging ``indent_in``."""
    from pptx.oxml.ns import qn
    from pptx.util import Inches
    ppr = para._p.get_or_add_pPr()
    ppr.set("marL", str(int(Inches(indent_in))))
    ppr.set("indent", str(-int(Inches(0.3))))
    for tag in ("a:buNone", "a:buFont", "a:buChar"):
        for old in ppr.findall(qn(tag)):
            ppr.remove(old)
    font = ppr.makeelement(qn("a:buFont"), {"typeface": "Arial"})
    char = ppr.makeelement(qn("a:buChar"), {"char": "\u2022"})
    ppr.append(font)
    ppr.append(char)


class _Deck:
    """A 16:9 presentation with the brand's title bars and footer on every slide."""

    WIDTH_IN, HEIGHT_IN = 13.333, 7.5

    def __init__(self, content: dict, brand: Brand | None):
        from pptx import Presentation
        from pptx.util import Inches
        self.content = content
        self.brand = brand
        self.colour = (brand.colour if brand else charts.ACCENT).lstrip("#").upper()
        self.ink = (brand.ink if brand else charts.text_colour(charts.ACCENT)).lstrip("#").upper()
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = Inches(self.WIDTH_IN), Inches(self.HEIGHT_IN)
        self.footer = " \u00b7 ".join(part for part in (
            brand.firm if brand else "", content["organisation"], content["date"],
            brand.footer if brand else "") if part)

    def rgb(self, hex6: str):
        from pptx.dml.color import RGBColor
        return RGBColor.from_string(hex6)

    def _style(self, run, size: float, bold: bool = False, colour: str | None = None) -> None:
        from pptx.util import Pt
        run.font.size = Pt(size)
        run.font.bold = bold
        if colour:
            run.font.color.rgb = self.rgb(colour)

    def slide(self, title: str):
        """A slide with the title in a bar of the brand's colour (the layout's title placeholder)."""
        from pptx.enum.text import MSO_ANCHOR
        from pptx.util import Inches
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[5])  # "Title Only"
        shape = slide.shapes.title
        shape.left, shape.top, shape.width, shape.height = 0, 0, self.prs.slide_width, Inches(1.05)
        shape.fill.solid()
        shape.fill.fore_color.rgb = self.rgb(self.colour)
        frame = shape.text_frame
        frame.word_wrap = True
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        frame.margin_left = frame.margin_right = Inches(0.5)
        frame.text = title
        para = frame.paragraphs[0]
        from pptx.enum.text import PP_ALIGN
        para.alignment = PP_ALIGN.LEFT
        self._style(para.runs[0], 28, bold=True, colour=self.ink)
        self._footer(slide)
        return slide

    def _footer(self, slide) -> None:
        from pptx.util import Inches
        number = len(self.prs.slides._sldIdLst)
        box = slide.shapes.add_textbox(Inches(0.5), Inches(self.HEIGHT_IN - 0.5), Inches(self.WIDTH_IN - 1.0),
                                       Inches(0.35))
        box.name = "Footer"
        frame = box.text_frame
        frame.word_wrap = True
        para = frame.paragraphs[0]
        run = para.add_run()
        run.text = f"{self.footer}    {number}" if self.footer else str(number)
        self._style(run, 10, colour="6B7280")

    def text(self, slide, left: float, top: float, width: float, height: float,
             lines: list[tuple[str, dict]], name: str = "Text"):
        """An editable text box of paragraphs, each ``(text, style)``: size, bold, colour, bullet, level."""
        from pptx.util import Inches, Pt
        box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))
        box.name = name
        frame = box.text_frame
        frame.word_wrap = True
        first = True
        for text, style in lines:
            para = frame.paragraphs[0] if first else frame.add_paragraph()
            first = False
            para.level = style.get("level", 0)
            para.space_after = Pt(style.get("after", 6))
            if style.get("bullet"):
                _bullet(para, 0.3 + 0.35 * para.level)
            elif para.level:
                para._p.get_or_add_pPr().set("marL", str(int(Inches(0.3 + 0.35 * para.level))))
            run = para.add_run()
            run.text = text
            self._style(run, style.get("size", 16), style.get("bold", False), style.get("colour"))
        return box

    # ----------------------------------------------------------------- slides

    def title_slide(self) -> None:
        from pptx.util import Inches
        c, brand = self.content, self.brand
        slide = self.prs.slides.add_slide(self.prs.slide_layouts[6])  # "Blank"
        band = slide.shapes.add_shape(1, 0, Inches(self.HEIGHT_IN - 1.6), self.prs.slide_width, Inches(1.6))
        band.name = "Brand band"
        band.fill.solid()
        band.fill.fore_color.rgb = self.rgb(self.colour)
        band.line.fill.background()
        if brand and brand.logo_type == "png":
            width, height = brand.logo_size or (1, 1)
            box_w, box_h = 3.0, 1.1  # the logo fits this box, its proportions kept
            scale = min(box_w / width, box_h / height)
            pic = slide.shapes.add_picture(io.BytesIO(brand.logo), Inches(0.6), Inches(0.5),
                                           Inches(width * scale), Inches(height * scale))
            pic.name = "Logo"
        elif brand:
            self.text(slide, 0.6, 0.5, 8, 0.8, [(brand.firm, {"size": 24, "bold": True, "colour": self.colour})],
                      name="Firm")
        lines = [(c["title"], {"size": 20, "colour": "6B7280"}),
                 (c["organisation"] or "Where the KAM programme stands", {"size": 40, "bold": True})]
        lines.append((c["headline"], {"size": 18, "after": 12}))
        self.text(slide, 0.6, 2.0, 12.1, 3.2, lines, name="Title")
        who = " \u00b7 ".join(part for part in (c["date"], c["assessor"], f"prepared by {brand.firm}" if brand else "",
                                                 brand.footer if brand else "") if part)
        if who:
            self.text(slide, 0.6, self.HEIGHT_IN - 1.2, 12.1, 0.8, [(who, {"size": 16, "colour": self.ink})],
                      name="Footer")

    def standing_slide(self) -> None:
        from pptx.chart.data import CategoryChartData
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION
        from pptx.util import Inches, Pt
        c = self.content
        slide = self.slide("Where the programme stands")
        lines = [(c["headline"], {"size": 18, "bold": True, "after": 12})]
        lines += [(f"{label}: {value}", {"size": 15}) for label, value in c["stage"]]
        ladder = " \u203a ".join(f"{sid} {name}" + (" \u2713" if state == "achieved" else " (now)"
                                                     if state == "current" else "") for sid, name, state in c["ladder"])
        if ladder:
            lines.append((f"Stages: {ladder}", {"size": 13, "colour": "6B7280"}))
        self.text(slide, 0.5, 1.3, 5.2, 5.5, lines, name="Standing")
        chart = c["chart"]
        if not chart["categories"]:
            self.text(slide, 6.0, 1.3, 6.8, 1.0, [("The answers give no scores to chart yet.", {"size": 16})])
            return
        data = CategoryChartData(number_format="0")
        data.categories = chart["categories"]
        data.add_series(chart["title"], chart["values"])
        frame = slide.shapes.add_chart(XL_CHART_TYPE.BAR_CLUSTERED, Inches(6.0), Inches(1.25), Inches(6.9),
                                       Inches(5.7), data)
        frame.name = "Chart"
        graph = frame.chart
        graph.has_title = True
        graph.chart_title.text_frame.text = chart["title"]
        self._style(graph.chart_title.text_frame.paragraphs[0].runs[0], 14, bold=True)
        graph.has_legend = False
        series = graph.plots[0].series[0]
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = self.rgb(self.colour)
        plot = graph.plots[0]
        plot.gap_width = 60
        plot.has_data_labels = True
        plot.data_labels.number_format = "0"
        plot.data_labels.number_format_is_linked = False
        plot.data_labels.position = XL_LABEL_POSITION.OUTSIDE_END
        plot.data_labels.font.size = Pt(11)
        axis = graph.value_axis
        axis.minimum_scale, axis.maximum_scale, axis.major_unit = 0, 100, 25
        axis.tick_labels.font.size = Pt(11)
        graph.category_axis.reverse_order = True  # the first area on top, as in the report
        graph.category_axis.tick_labels.font.size = Pt(11)

    def bullets_slide(self, title: str, items: list[str], more: str = "") -> None:
        slide = self.slide(title)
        lines = [(_clip(item), {"size": 17, "bullet": True, "after": 10}) for item in items]
        if more:
            lines.append((more, {"size": 14, "colour": "6B7280"}))
        self.text(slide, 0.6, 1.4, 12.1, 5.5, lines, name="Body")

    def flags_slide(self) -> None:
        flags = self.content["red_flags"]
        slide = self.slide("Red flags")
        if not flags:
            self.text(slide, 0.6, 1.4, 12.1, 1.0, [("The answers raise no red flag.", {"size": 18})])
            return
        lines = []
        for f in flags[:MAX_FLAGS]:
            lines.append((_clip(f["title"], 120) + f"  ({f['severity']})",
                          {"size": 16, "bold": True, "after": 0, "colour": "B71C1C" if f["severity"] == "high" else None}))
            lines.append((_clip(f["message"], 160), {"size": 14, "after": 8}))
        if len(flags) > MAX_FLAGS:
            lines.append((f"and {len(flags) - MAX_FLAGS} more in the report.", {"size": 14, "colour": "6B7280"}))
        self.text(slide, 0.6, 1.3, 12.1, 5.7, lines, name="Red flags")

    def next_slide(self) -> None:
        c = self.content
        slide = self.slide(f"The {c['next_name'][:1].lower()}{c['next_name'][1:]}"
                           if c["next_name"].lower().startswith("next") else c["next_name"])
        if not c["next_steps"]:
            self.text(slide, 0.6, 1.4, 12.1, 1.0, [("The plan has no open action.", {"size": 18})])
            return
        lines = []
        for step in c["next_steps"]:
            lines.append((_clip(step["title"], 160), {"size": 16, "bold": True, "bullet": True, "after": 0}))
            if step["detail"] and step["detail"] != step["title"]:
                lines.append((_clip(step["detail"], 170), {"size": 13, "colour": "6B7280", "after": 8, "level": 1}))
        self.text(slide, 0.6, 1.3, 12.1, 5.7, lines, name="Next steps")

    def roadmap_slide(self) -> None:
        road = self.content["roadmap"]
        slide = self.slide("The roadmap")
        lines = []
        if road["to"]:
            lines.append(((f"From {road['from']} to {road['to']}: " if road["from"] else f"To {road['to']}: ")
                          + report.plural(road["count"], "action", "actions") + " to complete.",
                          {"size": 18, "bold": True, "after": 12}))
        for phase in road["phases"]:
            lines.append((f"{phase['name']}: {report.plural(phase['count'], 'action', 'actions')}",
                          {"size": 16, "bold": True, "after": 2, "colour": self.colour}))
            lines += [(_clip(text, 150), {"size": 13, "bullet": True, "after": 2, "level": 1}) for text in phase["first"]]
            if phase["count"] > len(phase["first"]):
                lines.append((f"and {phase['count'] - len(phase['first'])} more", {"size": 12, "colour": "6B7280",
                                                                                    "after": 10, "level": 1}))
        if not lines:
            lines.append(("The plan has no open action.", {"size": 18}))
        self.text(slide, 0.6, 1.3, 12.1, 5.7, lines, name="Roadmap")

    def progress_slide(self) -> None:
        p = self.content["progress"]
        slide = self.slide("Progress since the last audit")
        lines = []
        if p["change"]:
            lines.append((p["change"], {"size": 18, "bold": True, "after": 10}))
        for label, items in (("What went backwards", p["regressed"]), ("What improved", p["improved"])):
            if items:
                lines.append((label, {"size": 15, "bold": True, "after": 2}))
                lines += [(_clip(i, 150), {"size": 13, "bullet": True, "after": 2, "level": 1}) for i in items[:4]]
        if p["target"]:
            lines.append((p["target"], {"size": 15, "bold": True, "after": 8}))
        if p["earlier"]:
            lines.append(("Earlier audits", {"size": 15, "bold": True, "after": 2}))
            lines += [(e, {"size": 13, "bullet": True, "after": 2, "level": 1}) for e in p["earlier"][-5:]]
        self.text(slide, 0.6, 1.3, 12.1, 5.7, lines, name="Progress")

    def about_slide(self) -> None:
        self.bullets_slide("About this assessment", [line for line in self.content["about"] if line])


def render_deck(result: Mapping[str, Any], *, org: str | None = None, assessor: str | None = None,
                title: str | None = None, date: str | None = None, progress: Mapping[str, Any] | None = None,
                brand: Brand | None = None) -> bytes:
    """The board deck of ``result`` as the bytes of a .pptx file (same inputs, same bytes)."""
    check_available()
    if kinds.is_own(result):
        raise DataError(f"the deck is for a programme assessment; this is an {result.get('kind')} result "
                        "(use --format html, md, text or json)")
    view = report.build_view(result, org=org, assessor=assessor, title=title, date=date, progress=progress)
    content = deck_content(view)
    deck = _Deck(content, brand)
    deck.title_slide()
    deck.standing_slide()
    deck.bullets_slide("What holds the programme back", content["held_back"][:MAX_HELD_BACK])
    deck.flags_slide()
    deck.next_slide()
    deck.roadmap_slide()
    if content["progress"]:
        deck.progress_slide()
    deck.about_slide()
    when = _when(content["date"])
    props = deck.prs.core_properties
    props.title = _clip(f"{content['title']} \u2013 {content['organisation']}" if content["organisation"]
                        else content["title"], 250)
    props.subject = "Key Account Management programme diagnostic"
    props.author = _clip(brand.firm if brand else content["assessor"] or "kam-advisor", 250)
    props.last_modified_by = props.author
    props.revision = 1
    props.created = props.modified = props.last_printed = when
    props.keywords = ""
    props.comments = ""
    props.category = ""
    buffer = io.BytesIO()
    deck.prs.save(buffer)
    return _fixed_zip(buffer.getvalue(), when)


def _when(date: str) -> _dt.datetime:
    """The audit's date at midnight; 1 January 1980 (the zip format's first day) without one."""
    try:
        day = _dt.date.fromisoformat(str(date)[:10])
    except ValueError:
        day = _dt.date(1980, 1, 1)
    return _dt.datetime(max(day.year, 1980), day.month, day.day)


_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _fixed_zip(blob: bytes, when: _dt.datetime) -> bytes:
    """The zip again with every entry dated ``when``; an embedded workbook (a chart's data,
    written by XlsxWriter with the clock's time) gets the same treatment."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".xlsx"):
                data = _fixed_zip(data, when)
            elif info.filename == "docProps/core.xml":
                data = _DATES.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    return out.getvalue()
