"""Principles every rendered report must keep, checked on the output itself (issue 19).

A library-level checker, not only a test helper: each ``check_*`` function takes a JSON
document (a dict, or its text) and the same document rendered in other formats
(``{"text": ..., "md": ..., "html": ...}``; any subset) and raises :class:`ReportInconsistency`
naming the broken principle when they disagree or a principle does not hold. It reads only the
documented JSON contracts and the rendered text, so it holds for any input, golden or generated.

- **Principle 6, re-audits speak of change** — :func:`check_progress` (``report --progress``:
  the executive summary opens with what went backwards, before what improved),
  :func:`check_compare` (``compare``: newly raised red flags with the regressions, before any
  improvement) and :func:`check_history` (``history``: movement within a stage shows).
- **Principle 9, group views carry what matters from each unit** — :func:`check_units`.
- **Principle 11, portfolio arithmetic** — :func:`check_portfolio`.
- **Language, everywhere** — :func:`check_language`: plurals agree, no ids or rule names on a
  client's page, Markdown lists end before the paragraph after them.

Self-contained (standard library only) so that it can be folded into a wider checker.
"""

from __future__ import annotations

import html as _html
import json
import re
from typing import Any, Iterable, Mapping, Sequence

P6 = "principle 6 (re-audits speak of change)"
P9 = "principle 9 (group views carry what matters from each unit)"
P11 = "principle 11 (portfolio arithmetic)"
LANGUAGE = "language (plurals, names not ids, Markdown as written)"

CLIENT_FORMATS = ("text", "md", "html")


class ReportInconsistency(ValueError):
    """A rendered report breaks one of the principles; the message names it."""

    def __init__(self, principle: str, message: str, fmt: str | None = None):
        self.principle = principle
        self.fmt = fmt
        super().__init__(f"{principle}: {message}" + (f" [{fmt}]" if fmt else ""))


def _fail(principle: str, message: str, fmt: str | None = None):
    raise ReportInconsistency(principle, message, fmt)


def _doc(value: Any) -> dict:
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        _fail(LANGUAGE, "expected a JSON document (an object)")
    return dict(value)


# --- reading rendered output as plain text -------------------------------------------------------

_BLOCK_TAGS = re.compile(r"<(?:/?(?:p|div|ul|ol|table|tr|section|figure|figcaption|dl|dt|dd)\b[^>]*|br\s*/?)>", re.I)
_MD_UNESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")


def plain(fmt: str, text: str) -> str:
    """The text a reader sees, headings marked ``# `` (h1) ``## `` (h2) ``### `` (h3, h4), list items
    ``- ``: HTML without tags and entities, Markdown without its escapes, plain text with its
    underlined headings marked."""
    if fmt == "html":
        body = re.sub(r"(?is)<(style|script|title|svg)\b.*?</\1>", " ", text)
        for level, mark in ((1, "#"), (2, "##"), (3, "###"), (4, "###")):
            body = re.sub(rf"(?is)<h{level}\b[^>]*>(.*?)</h{level}>", lambda m, k=mark: f"\n{k} {m.group(1)}\n", body)
        body = re.sub(r"(?i)<li\b[^>]*>", "\n- ", body)
        body = re.sub(r"(?i)</?t[dh]\b[^>]*>", " \t ", body)
        body = _BLOCK_TAGS.sub("\n", body)
        body = re.sub(r"<[^>]+>", "", body)
        return _html.unescape(body)
    if fmt == "md":
        # a bold line that is no sentence (no final stop) is a group's title: a heading to the reader
        text = re.sub(r"(?m)^\*\*([^\n]*[^.:\n])\*\*$", r"### \1", text)
        return _MD_UNESCAPE.sub(r"\1", text).replace("&lt;", "<").replace("&gt;", ">")
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines):
        under = lines[n + 1] if n + 1 < len(lines) else ""
        if line.strip() and under and set(under) == {"="} and len(under) == len(line.rstrip()):
            out.append(f"## {line.strip()}")
        elif line.strip() and under and set(under) == {"-"} and len(under) == len(line.rstrip()):
            out.append(f"### {line.strip()}")
        elif line and set(line) <= {"=", "-"} and n and out and out[-1].startswith("#"):
            continue
        else:
            out.append(line)
    return "\n".join(out)


def _bare(text: str) -> str:
    """Text without whitespace and without list and emphasis marks: the words in their order."""
    return re.sub(r"[\s*#\-\u2022]", "", text)


def squeeze(text: str) -> str:
    """Text without any whitespace: wrapping, indents and line breaks do not matter."""
    return re.sub(r"\s+", "", text)


def find(haystack: str, needle: str, start: int = 0) -> int:
    """Where ``needle`` is in ``haystack`` (both squeezed), from ``start`` (squeezed); -1 if not."""
    return squeeze(haystack).find(squeeze(needle), start)


def section(text: str, title: str, fmt: str, principle: str, required: bool = True) -> str:
    """The part of plain ``text`` under the heading ``title`` (any case; a heading may add a count
    in brackets), up to the next heading of the same or a higher level."""
    pattern = re.compile(rf"(?im)^(#+) {re.escape(title)}(?: \(\d+\))?:?\s*$")
    m = pattern.search(text)
    if m is None:
        if required:
            _fail(principle, f"no section '{title}'", fmt)
        return ""
    level = len(m.group(1))
    rest = text[m.end():]
    nxt = re.search(rf"(?m)^#{{1,{level}}} ", rest)
    return rest[:nxt.start()] if nxt else rest


# --- language ------------------------------------------------------------------------------------

_NOUNS = ("action", "audit", "topic", "area", "unit", "account", "key account", "red flag", "row", "stage", "thing",
          "finding", "portfolio finding", "improvement", "dimension", "phase", "criterion")
_PLURAL = {n: ("criteria" if n == "criterion" else n + "s") for n in _NOUNS}
_ONE_MANY = re.compile(r"(?<![\d.,])\b1 (" + "|".join(sorted((re.escape(p) for p in _PLURAL.values()), key=len,
                                                               reverse=True)) + r")\b")
_MANY_ONE = re.compile(r"(?<![\d.,])\b(?:0|[2-9]|[1-9]\d+) (" + "|".join(sorted((re.escape(n) for n in _NOUNS), key=len,
                                                                            reverse=True))
                       + r")(?=[\s.,;:)]|$)(?!\s+(?:manager|managers|plan|plans|team|teams|list|of the|"
                         r"owner|selection|management)\b)")
ID_PATTERNS = {
    "a checklist action id": re.compile(r"\b(?:sp|oc|pr)\.[a-z]+\.[a-z]+(?:\.[a-d]\d+)?\b"),
    "a red-flag id": re.compile(r"\bflag\.[a-z][a-z-]*"),
    "a rule name": re.compile(r"\b(?:compare|units|account|portfolio|rec|headline|lag|state|stage)\.[a-z_]+[.-][a-z]"),
    "a conflict id": re.compile(r"\bconflict\.[a-z]+\b"),
}
_AUDIT_ID = re.compile(r"\b[0-9a-f]{12}\b")


def check_plurals(text: str, fmt: str | None = None, principle: str = LANGUAGE) -> None:
    """"1 action", "2 actions": a count and its noun agree."""
    for pattern, what in ((_ONE_MANY, "one with a plural"), (_MANY_ONE, "several with a singular")):
        m = pattern.search(text)
        if m:
            _fail(principle, f"plural does not agree ({what}): '{text[max(0, m.start() - 20):m.end() + 10]}'", fmt)


def check_no_ids(text: str, fmt: str | None = None, principle: str = LANGUAGE, audit_ids: Iterable[str] = ()) -> None:
    """A client's page speaks in names: no action, flag, conflict or audit id, no rule name."""
    for what, pattern in ID_PATTERNS.items():
        m = pattern.search(text)
        if m:
            _fail(principle, f"{what} on a client's page: '{m.group()}'", fmt)
    for audit in audit_ids:
        if audit and audit in text:
            _fail(principle, f"an audit id on a client's page: '{audit}'", fmt)


_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+\.) ")


def check_markdown_lists(md: str, principle: str = LANGUAGE) -> None:
    """A Markdown list is followed by a blank line before the next paragraph, heading or quote
    (else the paragraph joins the last item when rendered)."""
    lines = md.splitlines()
    for n, line in enumerate(lines[:-1]):
        after = lines[n + 1]
        if _LIST_ITEM.match(line) and after.strip() and not _LIST_ITEM.match(after) and not after.startswith(" "):
            _fail(principle, f"a list runs into the line after it: '{line[:40]}' / '{after[:40]}'", "md")


def check_language(rendered: Mapping[str, str], principle: str = LANGUAGE, audit_ids: Iterable[str] = (),
                   ids: bool = True) -> None:
    """Plurals agree in every format; no ids on a client's page (Markdown, HTML: ``ids``);
    Markdown lists end with a blank line."""
    audit_ids = list(audit_ids)
    for fmt, text in rendered.items():
        if fmt not in CLIENT_FORMATS:
            continue
        seen = plain(fmt, text)
        check_plurals(seen, fmt, principle)
        if ids and fmt in ("md", "html"):
            check_no_ids(seen, fmt, principle, audit_ids)
        if fmt == "md":
            check_markdown_lists(text, principle)


# --- principle 6: re-audits ----------------------------------------------------------------------

REGRESSED_KINDS = {"stage_lost", "foundation_fell_back", "red_flag_raised", "areas_lost", "topics_lost",
                   "checklist", "actions_back"}
IMPROVED_KINDS = {"stage_gained", "red_flag_cleared", "areas_gained", "topics_gained", "actions_done", "checklist"}


def _rank(stages: Sequence[str], stage: str | None) -> int:
    return stages.index(stage) + 1 if stage in stages else 0


def _done_share(answers: Iterable[Mapping[str, Any]]) -> dict:
    statuses = [a.get("status") for a in answers]
    done = sum(1 for s in statuses if s == "done")
    applicable = sum(1 for s in statuses if s != "na")
    return {"done": done, "applicable": applicable, "share": round(done / applicable, 4) if applicable else None}


def check_change(change: Mapping[str, Any], result: Mapping[str, Any], earlier: Mapping[str, Any] | None = None,
                 principle: str = P6) -> None:
    """The JSON of a change summary (``progress.change``) against the result it describes and,
    when given, the earlier audit's result: every item has its words, rule and facts; what went
    backwards is complete (every red flag newly raised, stage lost by the programme or a
    dimension, foundation topic that fell back) and nothing improved is called a regression."""
    for key in ("regressed", "improved", "text", "since"):
        if key not in change:
            _fail(principle, f"progress.change has no '{key}'")
    for side, kinds in (("regressed", REGRESSED_KINDS), ("improved", IMPROVED_KINDS)):
        for item in change[side]:
            if item.get("kind") not in kinds:
                _fail(principle, f"{side} holds an item of kind {item.get('kind')!r}")
            if not item.get("text") or not item.get("rule") or not item.get("because"):
                _fail(principle, f"{side} item {item.get('kind')} lacks its words, rule or facts")
    stages = [s["id"] for s in result.get("stages") or []] or ["A", "B", "C", "D"]
    flags_now = {f["id"] for f in result.get("red_flags") or []}
    for item in change["regressed"]:
        if item["kind"] == "red_flag_raised" and item["id"] not in flags_now:
            _fail(principle, f"red flag {item['id']} called raised but the audit does not raise it")
        if item["kind"] == "stage_lost" and not _rank(stages, item["to"]) < _rank(stages, item["from"]):
            _fail(principle, f"{item.get('name')} called a stage lost but it went {item['from']} -> {item['to']}")
    for item in change["improved"]:
        if item["kind"] == "red_flag_cleared" and item["id"] in flags_now:
            _fail(principle, f"red flag {item['id']} called cleared but the audit raises it")
        if item["kind"] == "stage_gained" and not _rank(stages, item["to"]) > _rank(stages, item["from"]):
            _fail(principle, f"{item.get('name')} called a stage gained but it went {item['from']} -> {item['to']}")
    for side, sign in (("regressed", -1), ("improved", 1)):
        for item in change[side]:
            if item["kind"] == "checklist":
                moved = item["to"]["share"] - item["from"]["share"]
                if moved * sign <= 0:
                    _fail(principle, f"the checklist's done share moved {moved:+.4f}, listed as {side}")
                if item["to"] != _done_share(result.get("answers") or []):
                    _fail(principle, "the checklist's done share is not the audit's")
    if earlier is None:
        return
    stages_then = [s["id"] for s in earlier.get("stages") or []] or stages
    flags_then = {f["id"] for f in earlier.get("red_flags") or []}
    raised = {i["id"] for i in change["regressed"] if i["kind"] == "red_flag_raised"}
    if raised != flags_now - flags_then:
        _fail(principle, f"red flags newly raised {sorted(flags_now - flags_then)}, listed {sorted(raised)}")
    cleared = {i["id"] for i in change["improved"] if i["kind"] == "red_flag_cleared"}
    if cleared != flags_then - flags_now:
        _fail(principle, f"red flags cleared {sorted(flags_then - flags_now)}, listed {sorted(cleared)}")

    def units(r):
        out = {("programme", "programme"): r.get("overall") or {}}
        out.update({("dimension", d["id"]): d for d in r.get("dimensions") or []})
        return out

    before, after = units(earlier), units(result)
    lost = {k[1] for k, u in after.items() if k in before and u.get("assessed", True) is not False
            and before[k].get("assessed", True) is not False
            and _rank(stages, u.get("achieved")) < _rank(stages_then, before[k].get("achieved"))}
    listed = {i["id"] for i in change["regressed"] if i["kind"] == "stage_lost"}
    if lost != listed:
        _fail(principle, f"stages lost by {sorted(lost)}, listed {sorted(listed)}")
    foundation = set((result.get("parameters") or {}).get("foundation_topics") or [])
    level = {"not_started": 0, "partial": 1, "done": 2}
    then = {a["item"]: a.get("status") for a in earlier.get("answers") or []}
    topics_then = {t["id"]: t for t in earlier.get("topics") or []}
    fell = set()
    for a in result.get("answers") or []:
        s0, s1 = then.get(a["item"]), a.get("status")
        if a.get("topic") in foundation and s0 in level and s1 in level and level[s1] < level[s0]:
            fell.add(a["topic"])
    for t in result.get("topics") or []:
        t0 = topics_then.get(t["id"])
        if t["id"] in foundation and t0 is not None and t.get("assessed", True) is not False \
                and t0.get("assessed", True) is not False \
                and _rank(stages, t.get("achieved")) < _rank(stages_then, t0.get("achieved")):
            fell.add(t["id"])
    named = {i["id"] for i in change["regressed"] if i["kind"] == "foundation_fell_back"}
    if fell != named:
        _fail(principle, f"foundation topics that fell back {sorted(fell)}, listed {sorted(named)}")


def check_progress(result_json: Any, rendered: Mapping[str, str], earlier: Mapping[str, Any] | None = None) -> None:
    """``report --progress`` (and the web report): ``result_json`` is the JSON report (the result
    with ``progress``), ``rendered`` the same report as text, md and/or html.

    When ``progress.change`` is there (an earlier audit is kept), the executive summary opens
    with it in every format: its sentence first, then every item of what went backwards, then
    every item of what improved, before anything else the summary says, in names only, plurals
    agreeing, Markdown lists closed by a blank line; the JSON is checked by :func:`check_change`."""
    doc = _doc(result_json)
    progress = doc.get("progress") or {}
    change = progress.get("change")
    if change is None:
        for fmt, text in rendered.items():
            if fmt in CLIENT_FORMATS and "What went backwards" in plain(fmt, text):
                _fail(P6, "the summary speaks of change without an earlier audit", fmt)
        return
    check_change(change, doc, earlier)
    for fmt, text in rendered.items():
        if fmt not in CLIENT_FORMATS:
            continue
        seen = plain(fmt, text)
        summary = section(seen, "Executive summary", fmt, P6)
        head = find(summary, change["text"])
        if head < 0:
            _fail(P6, f"the executive summary does not say '{change['text']}'", fmt)
        expected = [change["text"]]
        for side, label in (("regressed", "What went backwards:"), ("improved", "What improved:")):
            if change[side]:
                expected += [label] + [i["text"] for i in change[side]]
        bare = _bare(summary)
        if not bare.startswith(_bare(" ".join(expected))):
            at, missing = 0, None
            for part in expected:
                pos = bare.find(_bare(part), at)
                if pos < 0:
                    missing = part
                    break
                at = pos
            _fail(P6, f"the executive summary does not open with the change, regressions first"
                      + (f" (missing or out of order: '{missing}')" if missing else ""), fmt)
        block = "\n".join(expected)         # as rendered: the summary opens with exactly these words
        check_plurals(block, fmt, P6)
        check_no_ids(block, fmt, P6, [change["since"].get("id") or ""])
    if "md" in rendered:       # the change block: from the summary's heading to the paragraph after its lists
        md = rendered["md"]
        start = md.find("## Executive summary")
        last = max(md.find("What went backwards:", start), md.find("What improved:", start),
                   md.find("**", start))
        end = md.find("\n\n", md.find("\n\n", last) + 2)
        check_markdown_lists(md[start:end + 2 if end > 0 else None] + ("\n" if end > 0 else ""), P6)


def check_compare(doc: Any, rendered: Mapping[str, str]) -> None:
    """``compare``: in the JSON, ``comparison.regressions.red_flags`` are the red flags newly
    raised; in text, md and html the Regressions come first and hold every raised red flag (never
    under what cleared), before any improvement; Markdown and HTML name no ids; the movement
    within a stage (the share of the checklist done) is in the headline."""
    d = _doc(doc)
    c = d.get("comparison")
    if not c:
        check_language(rendered, P6)
        return
    raised = c["red_flags"]["raised"]
    if [f["id"] for f in c["regressions"].get("red_flags", [])] != [f["id"] for f in raised]:
        _fail(P6, "comparison.regressions.red_flags is not the list of red flags raised")
    audit_ids = [c["from"].get("id") or "", c["to"].get("id") or ""]
    for fmt, text in rendered.items():
        if fmt not in CLIENT_FORMATS:
            continue
        seen = plain(fmt, text) if fmt != "text" else _compare_text(text)
        regressions = section(seen, "Regressions", fmt, P6)
        start = find(seen, "Regressions")
        for later in ("Stage changes", "Actions newly done", "Red flags cleared"):
            pos = find(seen, later)
            if pos < 0 or pos < start:
                _fail(P6, f"'{later}' missing or before the regressions", fmt)
        cleared = section(seen, "Red flags cleared", fmt, P6)
        for f in raised:
            name = f"{f['title']} \u2014 {f['message']}" if f.get("title") and f.get("message") else \
                f.get("title") or f.get("message")
            if find(regressions, name) < 0:
                _fail(P6, f"red flag raised not with the regressions: '{name}'", fmt)
            if find(cleared, name) >= 0:
                _fail(P6, f"red flag raised listed as cleared: '{name}'", fmt)
        done = c.get("checklist_done")
        if done and done["from"]["share"] is not None and done["to"]["share"] is not None:
            line = f"Checklist done: {round(done['from']['share'] * 100)}%"
            if find(seen, line) < 0:
                _fail(P6, "the headline does not show the share of the checklist done (movement within a stage)", fmt)
    check_language(rendered, P6, audit_ids)


def _compare_text(text: str) -> str:
    """``compare``'s text with its section titles (unindented lines after a blank one) marked."""
    lines = text.splitlines()
    out = []
    for n, line in enumerate(lines):
        if n > 1 and line and not line.startswith(" ") and not lines[n - 1].strip():
            out.append("## " + line)
        elif line.startswith("  ") and not line.startswith("    ") and line.rstrip().endswith(":"):
            out.append("### " + line.strip())
        else:
            out.append(line)
    return "\n".join(out)


def check_history(doc: Any, rendered: Mapping[str, str]) -> None:
    """``history``: each audit's share of the checklist done is done over applicable; the
    movement since the unit's audit before adds up; in the text, each audit's line shows its
    share and the movement, so that two audits of one unit at one stage read differently when
    the actions done differ ("A -> B" twice is not the whole story)."""
    d = _doc(doc)
    previous: dict = {}
    for a in d["audits"]:
        share = a.get("checklist_done")
        if a["actions_applicable"] and share != round(a["actions_done"] / a["actions_applicable"], 4):
            _fail(P6, f"audit {a['id']}: checklist_done is not actions done over applicable")
        before = previous.get(a["unit"])
        m = a.get("since_previous")
        if (before is None) != (m is None):
            _fail(P6, f"audit {a['id']}: since_previous does not follow the unit's audit before")
        if m is not None:
            if m["id"] != before["id"] or m["actions_done"] != a["actions_done"] - before["actions_done"]:
                _fail(P6, f"audit {a['id']}: the movement since the audit before does not add up")
        previous[a["unit"]] = a
    text = rendered.get("text")
    if text is None:
        return
    lines = {a["id"]: next((line for line in text.splitlines() if line.startswith(a["id"])), None) for a in d["audits"]}
    for a in d["audits"]:
        line = lines[a["id"]]
        if line is None:
            _fail(P6, f"audit {a['id']} has no line", "text")
        if a.get("checklist_done") is not None and f"{a['checklist_done']:.0%} ({a['actions_done']})" not in line:
            _fail(P6, f"audit {a['id']}: its line does not show the checklist done", "text")
        m = a.get("since_previous")
        if m and m["actions_done"] and f"{m['actions_done']:+d} done" not in line:
            _fail(P6, f"audit {a['id']}: its line does not show the actions done since the audit before", "text")
    by_unit: dict = {}
    for a in d["audits"]:
        prev = by_unit.get(a["unit"])
        if prev is not None and (prev["achieved"], prev["current"]) == (a["achieved"], a["current"]) \
                and prev["actions_done"] != a["actions_done"]:
            cells = [re.split(r"\s{2,}", lines[x["id"]])[3:6] for x in (prev, a)]
            if cells[0] == cells[1]:
                _fail(P6, f"audits {prev['id']} and {a['id']} read the same though the actions done differ", "text")
        by_unit[a["unit"]] = a
    check_plurals(text, "text", P6)


# --- principle 9: units --------------------------------------------------------------------------

_COMMON = {"Key", "Account", "Manager", "Managers", "Management", "How", "I", "HQ", "KAM"}


def illustration_names(illustration: str) -> set[str]:
    """Proper names of an illustration (capitalised words not at a sentence's start, the words of
    KAM's own vocabulary left out): the places a seed's example is about."""
    words = re.findall(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]+)\b", illustration)
    return set(words) - _COMMON


def check_units(doc: Any, rendered: Mapping[str, str], unit_results: Mapping[str, Mapping[str, Any]] | None = None,
                conflicts: Sequence[Mapping[str, Any]] | None = None) -> None:
    """``compare ORG`` over several units: the organisation view carries every unit's
    high-severity red flag, named by its unit (checked against ``unit_results``, the latest
    result of each unit, when given); a tension the audits show (an action of the conflict done in
    one unit and not started in another) is *present*, never *to expect* (checked against
    ``conflicts`` when given); each tension is phrased with this organisation's units, and the
    seed's example question shows only as a labelled illustration, its place names nowhere else
    (unless a unit or the organisation bears the name); every format shows all of it."""
    d = _doc(doc)
    u = d.get("units")
    if not u or not u.get("organisation"):
        return
    flags = u.get("red_flags")
    if flags is None:
        _fail(P9, "the organisation view has no red_flags")
    for f in flags:
        if f.get("severity") != "high" or not f.get("unit") or not f["text"].startswith(f["unit"]):
            _fail(P9, f"carried red flag not high or not named by its unit: {f}")
    if unit_results is not None:
        want = {(n, f["id"]) for n, r in unit_results.items() for f in r.get("red_flags") or []
                if f.get("severity") == "high"}
        got = {(f["unit"], f["id"]) for f in flags}
        if want != got:
            _fail(P9, f"high red flags of the units not carried: {sorted(want - got)}; extra: {sorted(got - want)}")
    names = {x["unit"] for x in u.get("units") or []} | {d.get("organisation") or ""}
    tensions = u.get("tensions") or []
    for t in tensions:
        if t.get("status") not in ("present", "to_expect"):
            _fail(P9, f"tension {t.get('name')} is neither present nor to expect")
        for place in illustration_names(t.get("illustration") or t.get("question") or ""):
            if place not in names and re.search(rf"\b{place}\b", t.get("text") or ""):
                _fail(P9, f"tension {t.get('name')} speaks of '{place}', the seed's illustration, as the client's")
    if unit_results is not None:
        statuses = {n: {a["item"]: a.get("status") for a in r.get("answers") or []} for n, r in unit_results.items()}
        for t in tensions:
            shown = [i for i in t["items"] if any(s.get(i) == "done" for s in statuses.values())
                     and any(s.get(i) == "not_started" for s in statuses.values())]
            if shown and t["status"] != "present":
                _fail(P9, f"tension {t['name']}: the audits show it in place, yet it is 'to expect'")
            if not shown and t["status"] == "present":
                _fail(P9, f"tension {t['name']}: called present, but no unit has done what another has not started")
        if conflicts is not None:
            by_id = {t["id"]: t for t in tensions}
            for c in conflicts:
                shown = [i for i in c.get("items") or [] if any(s.get(i) == "done" for s in statuses.values())
                         and any(s.get(i) == "not_started" for s in statuses.values())]
                if shown and (c["id"] not in by_id or by_id[c["id"]]["status"] != "present"):
                    _fail(P9, f"conflict {c.get('name')}: the audits show it in place, yet it is not present")
    for fmt, text in rendered.items():
        if fmt not in CLIENT_FORMATS:
            continue
        seen = plain(fmt, text) if fmt != "text" else _compare_text(text)
        units = section(seen, "Units", fmt, P9)
        if flags:
            carried = section(units, f"High-severity red flags in the units", fmt, P9)
            for f in flags:
                if find(carried, f["text"]) < 0:
                    _fail(P9, f"unit red flag not carried: '{f['text']}'", fmt)
        present = section(units, "Tensions present", fmt, P9, required=False)
        expect = section(units, "Tensions to expect", fmt, P9, required=False)
        for t in tensions:
            home, other = (present, expect) if t["status"] == "present" else (expect, present)
            if find(home, t["text"]) < 0:
                _fail(P9, f"tension {t['name']} not under '{t['status']}'", fmt)
            if find(other, t["text"]) >= 0:
                _fail(P9, f"tension {t['name']} also under the other heading", fmt)
        _check_illustrations(seen, tensions, names, fmt)
    check_language(rendered, P9)


ILLUSTRATION_LABEL = "the source's illustration, not your organisation"


def _check_illustrations(seen: str, tensions: Sequence[Mapping[str, Any]], names: set, fmt: str) -> None:
    flat = squeeze(seen)
    label = squeeze(ILLUSTRATION_LABEL)
    masked = flat
    for t in tensions:
        example = squeeze(t.get("illustration") or t.get("question") or "")
        if not example:
            continue
        at = flat.find(example)
        while at >= 0:
            if not flat[:at].rstrip("\u201c\"':").endswith(label):
                _fail(P9, f"the seed's example for {t.get('name')} shows without its label", fmt)
            at = flat.find(example, at + 1)
        masked = masked.replace(example, "")
    for t in tensions:
        for place in illustration_names(t.get("illustration") or t.get("question") or ""):
            if place not in names and place in masked:
                _fail(P9, f"'{place}' (the seed's illustration) shows outside a labelled illustration", fmt)


# --- principle 11: the portfolio -----------------------------------------------------------------

DOUBTFUL = ("flag.account-commodity", "flag.account-price-only")
_KEY_LIST_WORDS = {"keep": "kept", "off": "moved off", "review": "to review", "on": "moved on", None: ""}


def check_portfolio(result_json: Any, rendered: Mapping[str, Any]) -> None:
    """``accounts score``: every key account today is kept, moved off or listed for review, and
    no other account is; a key account that buys from us as a commodity or wants only price is
    never kept as it is; today - moved off + moved on = proposed, in the JSON summary and in
    every rendered form given: ``text`` (the printed summary), ``html``, ``csv`` (its key_list
    column), ``xlsx_summary`` (the Summary sheet as (label, value) rows); plurals agree."""
    d = _doc(result_json)
    s = d["summary"]
    counts = {"keep": 0, "off": 0, "review": 0, "on": 0}
    today = 0
    for a in d["accounts"]:
        place = a.get("key_list")
        move = (a.get("move") or {}).get("direction")
        if a.get("key_account") is True:
            today += 1
            if place not in ("keep", "off", "review"):
                _fail(P11, f"key account {a['name']} is neither kept, moved off nor listed for review")
        elif place not in ("on", None):
            _fail(P11, f"{a['name']} is not a key account today, yet '{place}'")
        if (place == "off") != (move == "out") or (place == "on") != (move == "in"):
            _fail(P11, f"{a['name']}: its place on the list ({place}) and its move ({move}) disagree")
        if (place == "review") != (a.get("key_account") is True and move != "out" and bool(a.get("reviews"))):
            _fail(P11, f"{a['name']}: listed for review ({place}) without its reasons, or the other way round")
        sup = a.get("supplier_attractiveness") or {}
        doubtful = {f["id"] for f in a.get("flags") or []} & set(DOUBTFUL) or sup.get("buysell_level") == "commodity" \
            or sup.get("price_only") is True
        if a.get("key_account") is True and doubtful and place == "keep":
            _fail(P11, f"key account {a['name']} buys as a commodity or wants only price, yet is kept silently")
        for r in a.get("reviews") or []:
            if not r.get("reason") or not r.get("rule") or not r.get("because"):
                _fail(P11, f"{a['name']}: a review without its reason, rule or facts")
        if place is not None:
            counts[place] += 1
    arith = s["arithmetic"]
    if s.get("key_accounts_today") is not None and s["key_accounts_today"] != today:
        _fail(P11, f"key_accounts_today is {s['key_accounts_today']}, the accounts say {today}")
    expected = {"today": today, "moved_off": counts["off"], "moved_on": counts["on"], "review": counts["review"],
                "proposed": counts["keep"] + counts["review"] + counts["on"]}
    for key, value in expected.items():
        if arith[key] != value:
            _fail(P11, f"arithmetic.{key} is {arith[key]}, the accounts say {value}")
    if arith["today"] - arith["moved_off"] + arith["moved_on"] != arith["proposed"] or not arith["holds"]:
        _fail(P11, f"today - moved off + moved on != proposed: {arith}")
    if s["key_accounts_proposed"] != arith["proposed"] or s["move_in"] != counts["on"] \
            or s["move_out"] != counts["off"] or s["key_accounts_kept"] != counts["keep"] \
            or s["key_accounts_review"] != counts["review"]:
        _fail(P11, "the summary's counts are not the accounts'")
    if sum(g["accounts"] for g in s["review"]) != counts["review"]:
        _fail(P11, "the review groups do not add up to the key accounts to review")
    for g in s["review"]:
        n = g["accounts"]
        if (n == 1) != g["text"].startswith("the key account ") or (n > 1 and not g["text"].startswith(f"the {n} ")):
            _fail(P11, f"review group phrased for the wrong number ({n}): '{g['text']}'")
    sentence = arith["text"]
    needed = f"{arith['today']} key account{'' if arith['today'] == 1 else 's'} today \u2212 {arith['moved_off']} " \
             f"moved off + {arith['moved_on']} moved on = {arith['proposed']} proposed"
    if needed not in sentence:
        _fail(P11, f"the arithmetic in words does not state its figures: '{sentence}'")
    for fmt in ("text", "html"):
        if fmt in rendered:
            seen = plain(fmt, rendered[fmt])
            if find(seen, sentence.rstrip(".")) < 0:
                _fail(P11, "the key-account list's arithmetic is not stated", fmt)
            for g in s["review"]:
                if find(seen.lower(), g["text"].lower()) < 0:
                    _fail(P11, f"review group not stated: '{g['text']}'", fmt)
            check_plurals(seen, fmt, P11)
    if "csv" in rendered:
        import csv as _csv
        import io
        rows = list(_csv.DictReader(io.StringIO(rendered["csv"])))
        if len(rows) != len(d["accounts"]):
            _fail(P11, "the CSV does not have one row per account", "csv")
        tally = {w: sum(1 for r in rows if r.get("key_list") == w) for w in _KEY_LIST_WORDS.values() if w}
        if tally != {_KEY_LIST_WORDS[k]: v for k, v in counts.items()}:
            _fail(P11, f"the CSV's key_list column says {tally}", "csv")
    if "xlsx_summary" in rendered:
        sheet = {str(label): value for label, value in rendered["xlsx_summary"]}
        for label, key in (("Key accounts today", "today"), ("Moved off", "moved_off"), ("Moved on", "moved_on"),
                           ("Proposed key accounts", "proposed")):
            if sheet.get(label) != arith[key]:
                _fail(P11, f"the Summary sheet says {label} = {sheet.get(label)}, not {arith[key]}", "xlsx")
