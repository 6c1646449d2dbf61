"""The report-consistency checker: principles every programme result and every rendered report
must hold, whatever the client. Run any result (and its rendered formats) through
:func:`check`; a broken principle raises :class:`ReportInconsistency` naming it. Re-audits,
compare, history, group views and portfolios have their checks in ``consistency_change``,
re-exported here (`check_progress`, `check_compare`, `check_history`, `check_units`,
`check_portfolio`).

The checks read only the result (the `assess` JSON contract) and the rendered text, never the
rules: they state what a consultant would sign, independently of how the rules reach it.
"""

from __future__ import annotations

import html as html_mod
import re
from typing import Any, Mapping

# one exception for every principle; the re-audit, group and portfolio checks live in consistency_change
from kam_advisor.render.consistency_change import (
    ReportInconsistency, check_compare, check_history, check_portfolio, check_progress, check_units)

KNOWN_OPEN = ("partial", "not_started")
# internal ids a client must never read: checklist ids, rule and finding ids, seed file names
INTERNAL_ID = re.compile(r"\b(?:sp|oc|pr)\.[a-z]+\.[a-z]+(?:\.[a-d]\d+)?\b|\b(?:rec|flag|state|cell|met|reach|"
                         r"rollup|band|headline|lag|gate|roadmap|imbalance)[.:][a-z]|\b\d{3}_[0-9a-f]{16}\.txt\b")
# a count that disagrees with its noun: "1 actions", "3 action"
BAD_PLURAL = re.compile(r"(?<![\d.,%])\b(?:1 (?:actions|topics|key accounts|red flags|months|pages|respondents)\b"
                        r"|(?:[02-9]|\d{2,}) (?:action|topic|red flag|respondent)\b(?![-\w]))")



__all__ = ["ReportInconsistency", "check", "check_result", "check_rendered", "check_progress", "check_compare",
           "check_history", "check_units", "check_portfolio"]


def _fail(principle: str, detail: str) -> None:
    raise ReportInconsistency(principle, detail)


def _rank(result: Mapping[str, Any]) -> dict[str | None, int]:
    return {None: 0, **{s["id"]: n for n, s in enumerate(result["stages"], 1)}}


def _plan_actions(result: Mapping[str, Any]) -> list[tuple[int, dict]]:
    return [(n, a) for n, p in enumerate(result["plan"]["phases"]) for a in p["actions"]]


# --------------------------------------------------------------------------- the result


def check_balance(result: Mapping[str, Any]) -> None:
    """1. A dimension or area two stages or more behind another is named as lagging, with what
    runs ahead and why that is a risk; its work comes first in the plan."""
    if not result["overall"].get("assessed"):
        return
    rank = _rank(result)
    gap = int(result["parameters"].get("balance_gap", 2))
    lagging = {lag["unit"]: lag for lag in result["summary"]["lagging"]}
    for level in ("dimensions", "areas"):
        units = [u for u in result[level] if u.get("assessed")]
        for u in units:
            ahead = [v for v in units if rank[v["achieved"]] >= rank[u["achieved"]] + gap]
            if not ahead:
                continue
            entry = lagging.get(u["id"]) or (lagging.get(u.get("dimension")) if level == "areas" else None)
            if entry is None:
                _fail("balance", f"{u['name']} runs {gap}+ stages behind {ahead[0]['name']} but the summary does "
                                 "not name it as lagging")
            if not entry.get("ahead") or not entry.get("risk"):
                _fail("balance", f"{entry['name']} is named as lagging without what runs ahead and the risk")
    order = {t["id"]: t for t in result["topics"]}
    side = set()
    for lag in result["summary"]["lagging"]:
        unit = next((u for key in ("dimensions", "areas") for u in result[key] if u["id"] == lag["unit"]), None)
        if unit is None or not unit.get("current"):
            continue
        for t in order.values():
            if lag["unit"] in (t["area"], t["dimension"]):
                side |= {(t["id"], s) for s in rank if s and rank[s] <= rank[unit["current"]]}
    # across phases, only a red flag's own actions may come before the lagging side (a full first
    # phase moves the rest of both to the next); within a phase, the lagging side leads
    subjects = result["parameters"].get("flag_actions") or {}
    with_flag = {i for f in result["red_flags"] if not f.get("topic") and f.get("phase")
                 for i in subjects.get(f["rule"].removesuffix(".high"), [])}
    earlier_other = None
    for p in result["plan"]["phases"]:
        seen_other = None
        for a in p["actions"]:
            if a["kind"] != "action":
                continue
            on_side = (a["topic"], a["stage"]) in side
            if on_side and earlier_other:
                _fail("balance", f"'{a['text']}' is lagging-side work but sits in {p['name']}, after "
                                 f"'{earlier_other}' in an earlier phase")
            if on_side and seen_other:
                _fail("balance", f"'{a['text']}' (lagging side) comes after '{seen_other}' in {p['name']}")
            if not on_side and a["item"] not in with_flag:
                seen_other = seen_other or a["text"]
        earlier_other = earlier_other or next(
            (a["text"] for a in p["actions"] if a["kind"] == "action" and (a["topic"], a["stage"]) not in side
             and a["item"] not in with_flag), None)


def check_ahead_needs_evidence(result: Mapping[str, Any]) -> None:
    """2. A topic with nothing done or partly done is never "ahead of the programme"."""
    shown = {a["topic"] for a in result["answers"] if a["status"] in ("done", "partial")}
    for r in result["recommendations"]:
        if "ahead of the programme" in r["reason"] and r["topic"] not in shown:
            _fail("ahead needs evidence", f"{r['topic_name']} is called ahead with nothing done or partly done")
        if r["priority"] == "low" and r["topic"] not in shown:
            _fail("ahead needs evidence", f"'{r['text']}' is low priority in a topic with nothing done")


def plan_horizon(result: Mapping[str, Any]) -> int:
    """The last stage the plan must cover: the one after the stage the programme works on (every
    stage while the programme's stage is not shown)."""
    rank = _rank(result)
    overall = result["overall"]
    if not overall.get("assessed") or not overall.get("current"):
        return len(result["stages"])
    return min(rank[overall["current"]] + 1, len(result["stages"]))


def check_nothing_drops_out(result: Mapping[str, Any]) -> None:
    """3. Every open action (partly done or not started) of the stages up to the one after the
    programme's current stage is in some phase of the plan."""
    rank = _rank(result)
    horizon = plan_horizon(result)
    planned = {a["item"] for _, a in _plan_actions(result) if a["item"]}
    for a in result["answers"]:
        if a["status"] in KNOWN_OPEN and rank[a["stage"]] <= horizon and a["item"] not in planned:
            _fail("nothing drops out of the plan", f"'{a['text']}' ({a['status']}, stage {a['stage']}) is in no phase")


def check_flags_move_their_subject(result: Mapping[str, Any]) -> None:
    """4. The checklist actions on a red flag's subject sit in the flag's phase or the next, never
    at low priority."""
    subjects = result["parameters"].get("flag_actions") or {}
    gap = int(result["parameters"].get("flag_phase_gap", 0))
    phases = {p["id"]: n for n, p in enumerate(result["plan"]["phases"])}
    for f in result["red_flags"]:
        items = set(subjects.get(f["rule"].removesuffix(".high"), []))
        if f.get("topic") or f.get("phase") not in phases:
            continue  # stage skipping: checked by check_flags_lead_their_subject
        for n, a in _plan_actions(result):
            if a["kind"] == "action" and a["item"] in items:
                # a full first phase carries them, after the flag itself, to the next one
                room = 1 if any(str(b).startswith("capacity:") for b in a["because"]) else 0
                if n > phases[f["phase"]] + gap + room:
                    _fail("flag and its subject move together",
                          f"'{a['text']}' is {n - phases[f['phase']]} phases after the red flag '{f['title']}'")
                if a["priority"] == "low":
                    _fail("flag and its subject move together",
                          f"'{a['text']}' is low priority beside the red flag '{f['title']}'")


def check_flags_lead_their_subject(result: Mapping[str, Any]) -> None:
    """4. A red flag is planned no later than the checklist actions on its subject (one cut, one
    time); a stage-skipping flag is carried by its topic's own actions, in the flag's phase."""
    subjects = result["parameters"].get("flag_actions") or {}
    phases = {p["id"]: n for n, p in enumerate(result["plan"]["phases"])}
    actions = _plan_actions(result)
    for f in result["red_flags"]:
        if f.get("phase") not in phases:
            continue
        if f.get("topic"):
            carried = [n for n, a in actions if f["id"] in a["because"]]
            if any(a["id"] == f["id"] for _, a in actions):
                _fail("one action, one place", f"the stage-skipping flag '{f['message']}' is a second copy in the plan")
            if carried and min(carried) != phases[f["phase"]]:
                _fail("one action, one place", f"the red flag on {f['topic_name']} says one phase, its actions another")
            continue
        items = set(subjects.get(f["rule"].removesuffix(".high"), []))
        subject = [n for n, a in actions if a["kind"] == "action" and a["item"] in items]
        if subject and min(subject) < phases[f["phase"]]:
            _fail("flag and its subject move together", f"'{f['title']}' is planned after the actions on its subject")


def check_unassessed_foundations_come_first(result: Mapping[str, Any]) -> None:
    """3. A foundation topic the answers do not show is assessed first: the plan's first phase says so."""
    foundation = set(result["parameters"].get("foundation_topics") or [])
    first = result["plan"]["phases"][0]["actions"] if result["plan"]["phases"] else []
    for t in result["topics"]:
        if t["id"] in foundation and not t["assessed"] and not any(
                a["kind"] == "assess" and a["topic"] == t["id"] for a in first):
            _fail("nothing drops out of the plan", f"{t['label']}, a foundation not assessed, is not assessed first")


def check_finish_what_is_started(result: Mapping[str, Any]) -> None:
    """Within a topic a partly done recommendation never ranks after a not-started one of the
    same or a later stage."""
    rank = _rank(result)
    recs = result["recommendations"]
    for a in recs:
        if a["status"] != "partial":
            continue
        for b in recs:
            if b["topic"] == a["topic"] and b["status"] == "not_started" and rank[b["stage"]] >= rank[a["stage"]] \
                    and b["rank"] < a["rank"]:
                _fail("finish what is started", f"'{a['text']}' (partly done) ranks after '{b['text']}'")
    for p in result["plan"]["phases"]:  # and in each phase's order
        acts = [a for a in p["actions"] if a["kind"] == "action"]
        for n, a in enumerate(acts):
            if a["status"] == "partial" and any(
                    b["topic"] == a["topic"] and b["status"] == "not_started" and b["priority"] == a["priority"]
                    and rank[b["stage"]] >= rank[a["stage"]] for b in acts[:n]):
                _fail("finish what is started", f"'{a['text']}' (partly done) comes late in {p['name']}")


def check_recommendations_match_the_plan(result: Mapping[str, Any]) -> None:
    """A recommendation says what the plan says: same phase, priority and reason."""
    placed = {a["id"]: (p["id"], a) for p in result["plan"]["phases"] for a in p["actions"]}
    carried = {a["item"]: p["id"] for p in result["plan"]["phases"] for a in p["actions"]
               if a["kind"] == "flag" and a["item"]}
    for r in result["recommendations"]:
        if r["item"] in carried:  # the red flag's own action is this checklist action: listed once
            if carried[r["item"]] != r["phase"]:
                _fail("no self-contradiction", f"'{r['text']}': the plan says {carried[r['item']]}, "
                                               f"the recommendation {r['phase']}")
            continue
        phase, a = placed.get(r["id"], (None, None))
        if a is None:
            _fail("nothing drops out of the plan", f"recommendation '{r['text']}' is in no phase")
        if (phase, a["priority"], a["reason"]) != (r["phase"], r["priority"], r["reason"]):
            _fail("no self-contradiction", f"'{r['text']}': the plan says {phase}/{a['priority']}, "
                                           f"the recommendation {r['phase']}/{r['priority']}")


def check_perception(result: Mapping[str, Any]) -> None:
    """5. A screening beside an audit: its respondents are listed, a much rosier view is a
    summary finding, and yes/no facts are compared too."""
    perception = result["summary"].get("perception")
    gaps = result.get("view_gaps") or []
    facts = result.get("view_fact_gaps") or []
    if (gaps or facts) and perception is None:
        _fail("perception gaps", "view gaps exist but the summary has no perception record")
    if perception and any(f["rosier"] for f in facts) and not perception["rosier"]:
        _fail("perception gaps", "the screening sees no risk where the audit raises one, but the summary is silent")


def check_identical_texts_told_apart(result: Mapping[str, Any]) -> None:
    """7. Two actions with the same text at two stages never read the same in the plan."""
    seen: dict[str, str] = {}
    for _, a in _plan_actions(result):
        if a["kind"] == "action":
            if a["text"] in seen and seen[a["text"]] != a["item"]:
                _fail("no self-contradiction", f"two plan actions read '{a['text']}'")
            seen[a["text"]] = a["item"]


def check_not_assessed_has_no_number(result: Mapping[str, Any]) -> None:
    """7. A unit the answers do not show carries no stage and no score."""
    for level in ("dimensions", "areas", "topics"):
        for u in result[level]:
            if u.get("assessed") is False and (u.get("score") is not None or u.get("achieved") or u.get("current")):
                _fail("no self-contradiction", f"{u['name']} is not assessed but carries a stage or a score")


def check_result(result: Mapping[str, Any]) -> None:
    """Every principle that lives in the result itself."""
    if result.get("kind", "programme") != "programme":
        return
    check_not_assessed_has_no_number(result)
    check_balance(result)
    check_ahead_needs_evidence(result)
    check_nothing_drops_out(result)
    check_flags_move_their_subject(result)
    check_flags_lead_their_subject(result)
    check_unassessed_foundations_come_first(result)
    check_finish_what_is_started(result)
    check_recommendations_match_the_plan(result)
    check_perception(result)
    check_identical_texts_told_apart(result)


# --------------------------------------------------------------------------- the rendered report


def plain_text(rendered: str, fmt: str) -> str:
    """A rendered report as plain words: tags dropped (HTML), markup kept out of the way."""
    if fmt in ("html", "pdf"):
        rendered = re.sub(r"<(style|script)\b.*?</\1>", " ", rendered, flags=re.S)
        rendered = html_mod.unescape(re.sub(r"<[^>]+>", " ", rendered))
    if fmt == "md":  # the escapes that keep values from becoming markup
        rendered = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>~<&])", r"\1", rendered)
    return " ".join(rendered.replace("*", "").split())


def executive_summary(rendered: str, fmt: str) -> str:
    """The executive summary of a rendered report, in plain words."""
    text = plain_text(rendered, fmt)
    start = text.lower().find("executive summary")
    ends = [i for i in (text.find(" THE PLAN "), text.find(" The plan "), text.find(" Progress since earlier audits "),
                        text.find(" PROGRESS SINCE EARLIER AUDITS ")) if i > start]
    return text[start:min(ends)] if ends else text[start:]


def client_pages(rendered: str, fmt: str) -> str:
    """Everything a client reads: the whole report but the technical appendix."""
    text = plain_text(rendered, fmt)
    cut = [i for i in (text.find("Technical appendix"), text.find("TECHNICAL APPENDIX")) if i >= 0]
    return text[:min(cut)] if cut else text


def check_rendered(result: Mapping[str, Any], fmt: str, rendered: str) -> None:
    """The principles a rendered report must hold (text, md, html; a PDF is printed from the HTML)."""
    if fmt == "json" or result.get("kind", "programme") != "programme":
        return
    summary = executive_summary(rendered, fmt)
    pages = client_pages(rendered, fmt)
    flat = " ".join(str(x) for x in [summary]).lower()
    # 1. balance: the lagging side, what runs ahead and the risk, in the executive summary
    for lag in result["summary"]["lagging"]:
        if lag["name"].lower() not in flat:
            _fail("balance", f"{fmt}: the executive summary does not name {lag['name']} as lagging")
        if lag.get("risk") and " ".join(lag["risk"].split()).lower() not in flat:
            _fail("balance", f"{fmt}: the executive summary does not say why {lag['name']} lagging is a risk")
    held = result["summary"].get("held_back")
    if held and " ".join(held["text"].split()).lower() not in flat:
        _fail("balance", f"{fmt}: the executive summary does not say which foundation holds the programme back")
    # 5. perception: a much rosier screening is said in the summary; the cover lists every respondent
    perception = result["summary"].get("perception")
    if perception and perception.get("rosier") and "rosier than the audit" not in flat:
        _fail("perception gaps", f"{fmt}: a much rosier screening is not said in the executive summary")
    if perception and (result.get("view_gaps") or result.get("view_fact_gaps") or result.get("perception_gaps")) \
            and not any(w in flat for w in ("differs from the audit", "rosier than the audit", "disagree with each other")):
        _fail("perception gaps", f"{fmt}: views that differ are not said in the executive summary")
    for view in result.get("views") or []:
        for who in view["respondents"]:
            if who not in pages:
                _fail("perception gaps", f"{fmt}: screening respondent {who!r} is not listed")
    # 7. no self-contradiction
    if "still to do: nothing" in pages.lower() or "still to do: ." in pages.lower():
        _fail("no self-contradiction", f"{fmt}: 'still to do: nothing' for a stage not achieved")
    # 8. stage skipping is one finding in the executive summary
    skipping = result["summary"].get("stage_skipping")
    if skipping:
        title = next((f["title"] for f in result["red_flags"] if f["id"].startswith("flag.stage-skipping")), None)
        if title and title.lower() in flat:
            _fail("stage skipping is one finding", f"{fmt}: per-topic stage-skipping flags in the executive summary")
        if flat.count(skipping["text"].lower()) != 1:
            _fail("stage skipping is one finding", f"{fmt}: said {flat.count(skipping['text'].lower())} times")
    # 10. language: no ids, plurals agree, Markdown renders as written
    found = INTERNAL_ID.search(pages)
    if found:
        _fail("language", f"{fmt}: internal id {found.group(0)!r} in a client-facing page")
    bad = BAD_PLURAL.search(pages)
    if bad:
        _fail("language", f"{fmt}: plural does not agree: {bad.group(0)!r}")
    if re.search(r"[?!]\.(?:\s|$)", pages):
        _fail("language", f"{fmt}: double punctuation after a question")
    if fmt == "md":
        check_markdown(rendered)


def check_markdown(text: str) -> None:
    """Markdown renders as written: a paragraph never follows a list item or a quote line
    without a blank line (it would be glued onto it), and no quote line runs into the next."""
    lines = text.splitlines()
    list_item = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
    for prev, line in zip(lines, lines[1:]):
        if not line.strip() or not prev.strip() or line.startswith(("#", "|")):
            continue  # a heading or a table row interrupts a paragraph: never glued
        if list_item.match(prev) and not (list_item.match(line) or line.startswith((" ", "\t"))):
            _fail("language", f"Markdown: {line[:60]!r} is glued onto the list item before it")
        if prev.startswith(">") and not line.startswith(">"):
            _fail("language", f"Markdown: {line[:60]!r} is glued onto the quote before it")
    if re.search(r"[.!?]>(?:\s|$)", text, re.M):
        _fail("language", "Markdown: a quote marker glued onto a sentence")


def check(result: Mapping[str, Any], rendered: Mapping[str, str] | None = None) -> None:
    """Run the result and each rendered format through every principle; raise on the first broken."""
    check_result(result)
    for fmt, text in (rendered or {}).items():
        check_rendered(result, fmt, text)
