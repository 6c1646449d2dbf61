"""Comparison of two `assess` results of one organisation: what moved between two audits.

Pure: two result documents in (oldest first), one comparison document out (plain data, the
`compare --format json` contract). Regressions come first: actions that went backwards
(done -> partly done or not started, partly done -> not started), stages lost by a topic,
area, dimension or the programme, and red flags newly raised. Then every stage change, the actions newly done, red flags
raised and cleared, recommendations of the earlier audit completed since, facet score changes
and coverage. When the two audits were assessed under different knowledge-base versions, the
changes that come from the knowledge base (actions added or removed) are named, and stage
changes of topics whose actions changed are marked as possibly coming from it.

Reads only documented result fields (overall, dimensions, areas, topics, answers, red_flags,
recommendations, facets, coverage, kb_version, stages) and tolerates units not assessed
(``assessed: false``) or with no stage (``achieved: null``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from kam_advisor.data.vocab import DONE, LABELS, LEVELS, NA, SEVERITY_ORDER

LEVEL_ORDER = ("programme", "dimension", "area", "topic")
DEFAULT_STAGES = ("A", "B", "C", "D")


def stage_ids(result: Mapping[str, Any]) -> list[str]:
    return [s["id"] for s in result.get("stages") or []] or list(DEFAULT_STAGES)


def stage_rank(stages: Sequence[str], stage: str | None) -> int:
    """0 for no stage, 1 for the first, ...; a stage unknown to this scale counts as none."""
    return stages.index(stage) + 1 if stage in stages else 0


def _units(result: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    overall = dict(result.get("overall") or {})
    overall.setdefault("id", "programme")
    overall.setdefault("name", "KAM programme")
    out = [("programme", overall)]
    for level, key in (("dimension", "dimensions"), ("area", "areas"), ("topic", "topics")):
        out += [(level, u) for u in result.get(key) or []]
    return out


def _assessed(unit: Mapping[str, Any]) -> bool:
    return unit.get("assessed", True) is not False


def _answers(result: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {a["item"]: a for a in result.get("answers") or []}


def _brief_action(a: Mapping[str, Any], topic_names: Mapping[str, str] | None = None) -> dict:
    topic = a.get("topic")
    return {"item": a["item"], "text": a.get("text"), "topic": topic,
            "topic_name": (topic_names or {}).get(topic, topic), "stage": a.get("stage")}


def topic_names(*results: Mapping[str, Any]) -> dict[str, str]:
    """Topic names as a client reads them: a result's topic ``label`` (a name two topics share
    followed by its area's); results saved before labels get the same from their areas."""
    topics: dict[str, Mapping[str, Any]] = {}
    areas: dict[str, str] = {}
    for result in results:
        for t in result.get("topics") or []:
            topics.setdefault(t["id"], t)
        for a in result.get("areas") or []:
            areas.setdefault(a["id"], a.get("name") or a["id"])
    plain = {tid: t.get("name") or tid for tid, t in topics.items()}
    shared = {n for n in plain.values() if list(plain.values()).count(n) > 1}
    return {tid: topics[tid].get("label") or (
        f"{name} ({areas.get(topics[tid].get('area'), topics[tid].get('area'))})" if name in shared else name)
        for tid, name in plain.items()}


def _side(result: Mapping[str, Any], label: Mapping[str, Any] | None) -> dict:
    overall = result.get("overall") or {}
    coverage = result.get("coverage") or {}
    return {**(label or {}), "date": (label or {}).get("date", result.get("date")),
            "kb_version": result.get("kb_version"), "achieved": overall.get("achieved"),
            "current": overall.get("current"), "coverage": coverage.get("ratio"),
            "confidence": overall.get("confidence", coverage.get("confidence"))}


def compare(old: Mapping[str, Any], new: Mapping[str, Any], old_label: Mapping[str, Any] | None = None,
            new_label: Mapping[str, Any] | None = None, aliases: Mapping[str, str] | None = None) -> dict:
    """What changed from the ``old`` audit to the ``new`` one (labels: id, date, unit ... to show).

    ``aliases`` (old action id -> current id, the knowledge base's ``replaces:``) lets answers of
    an audit under an older knowledge base meet the same actions under their new ids.
    """
    stages = stage_ids(new)
    names = topic_names(new, old)
    aliases = dict(aliases or {})
    old_answers, new_answers = _answers(old), _answers(new)
    old_answers = {aliases.get(i, i): a for i, a in old_answers.items()}
    removed = sorted(set(old_answers) - set(new_answers))
    added = sorted(set(new_answers) - set(old_answers))
    renamed = sorted((o, n) for o, n in aliases.items() if n in old_answers and n in new_answers
                     and o in {a["item"] for a in old.get("answers") or []})
    kb_changed = old.get("kb_version") != new.get("kb_version") or bool(removed or added or renamed)
    topics_touched = {old_answers[i].get("topic") for i in removed} | {new_answers[i].get("topic") for i in added}

    # stages
    old_units = {(level, u.get("id")): u for level, u in _units(old)}
    stage_changes, lost, not_assessed = [], [], []
    for level, u in _units(new):
        if level == "topic":
            u = {**u, "name": names.get(u.get("id"), u.get("name"))}
        before = old_units.get((level, u.get("id")))
        if before is None:
            continue
        if not (_assessed(u) and _assessed(before)):
            not_assessed.append({"level": level, "id": u.get("id"), "name": u.get("name")})
            continue
        a0, a1 = stage_rank(stages, before.get("achieved")), stage_rank(stages, u.get("achieved"))
        if before.get("achieved") == u.get("achieved") and before.get("current") == u.get("current"):
            continue
        change = {"level": level, "id": u.get("id"), "name": u.get("name"),
                  "from": {"achieved": before.get("achieved"), "current": before.get("current")},
                  "to": {"achieved": u.get("achieved"), "current": u.get("current")},
                  "direction": "up" if a1 > a0 else "down" if a1 < a0 else "same",
                  "kb_change": level == "topic" and u.get("id") in topics_touched}
        stage_changes.append(change)
        if change["direction"] == "down":
            lost.append(change)

    # actions
    went_back, newly_done, other_moves = [], [], []
    for item, a in new_answers.items():
        b = old_answers.get(item)
        if b is None or a.get("status") == b.get("status"):
            continue
        s0, s1 = b.get("status"), a.get("status")
        move = {**_brief_action(a, names), "from": s0, "to": s1}
        if s0 in LEVELS and s1 in LEVELS and LEVELS[s1] < LEVELS[s0]:
            went_back.append(move)
        elif s1 == DONE:
            newly_done.append(move)
        else:
            other_moves.append(move)

    # red flags
    old_flags = {f["id"]: f for f in old.get("red_flags") or []}
    new_flags = {f["id"]: f for f in new.get("red_flags") or []}

    def flag(f):
        return {"id": f["id"], "title": f.get("title"), "severity": f.get("severity"), "message": f.get("message")}

    def by_severity(flags):
        return sorted((flag(f) for f in flags), key=lambda f: (SEVERITY_ORDER.get(f["severity"], 9), f["id"]))

    raised = by_severity(f for i, f in new_flags.items() if i not in old_flags)
    cleared = by_severity(f for i, f in old_flags.items() if i not in new_flags)

    # recommendations of the earlier audit that are done now
    completed = []
    for r in old.get("recommendations") or []:
        now = new_answers.get(aliases.get(r.get("item"), r.get("item")))
        if now is not None and now.get("status") == DONE:
            completed.append({"item": r["item"], "text": r.get("text"), "topic": r.get("topic"),
                              "topic_name": names.get(r.get("topic"), r.get("topic")),
                              "stage": r.get("stage"), "priority": r.get("priority"), "was": r.get("status")})

    # facets
    old_facets = {f["id"]: f for f in old.get("facets") or []}
    facets = []
    for f in new.get("facets") or []:
        b = old_facets.get(f["id"])
        if b is None:
            continue
        s0, s1 = b.get("score"), f.get("score")
        facets.append({"id": f["id"], "name": f.get("name"), "from": s0, "to": s1,
                       "change": None if s0 is None or s1 is None else s1 - s0,
                       "band_from": b.get("band"), "band_to": f.get("band")})

    order = {level: n for n, level in enumerate(LEVEL_ORDER)}
    stage_changes.sort(key=lambda c: (order[c["level"]], {"down": 0, "up": 1, "same": 2}[c["direction"]]))
    lost.sort(key=lambda c: order[c["level"]])
    return {
        "from": _side(old, old_label),
        "to": _side(new, new_label),
        "regressions": {"stages": lost, "actions": went_back, "red_flags": raised},
        "stage_changes": stage_changes,
        "actions_done": newly_done,
        "actions_changed": other_moves,
        "red_flags": {"raised": raised, "cleared": cleared},
        "recommendations_completed": completed,
        "facets": facets,
        "coverage": {"from": (old.get("coverage") or {}).get("ratio"), "to": (new.get("coverage") or {}).get("ratio")},
        "not_assessed": not_assessed,
        "knowledge_base": {"from": old.get("kb_version"), "to": new.get("kb_version"), "changed": kb_changed,
                           "actions_removed": [_brief_action(old_answers[i], names) for i in removed],
                           "actions_added": [_brief_action(new_answers[i], names) for i in added],
                           "actions_renamed": [{"from": o, "to": n} for o, n in renamed]},
        "checklist_done": {"from": checklist_done(old_answers), "to": checklist_done(new_answers)},
    }


def trend(points: Sequence[Mapping[str, Any]]) -> dict:
    """The programme's and each dimension's stage over audits, from stored summaries.

    ``points``: oldest first, each ``{"id", "date", "unit", "summary": {"overall", "dimensions"}}``
    (the store's summary of an audit). Stage ranks: 0 none, 1 A, 2 B ...
    """
    series: dict[str, dict] = {}
    for n, p in enumerate(points):
        summary = p.get("summary") or {}
        units = [summary.get("overall") or {}] + list(summary.get("dimensions") or [])
        for u in units:
            key = u.get("id") or "programme"
            entry = series.setdefault(key, {"id": key, "name": u.get("name") or key, "points": []})
            entry["points"].append({"audit": n, "achieved": u.get("achieved"), "current": u.get("current"),
                                    "score": u.get("score"), "assessed": u.get("assessed", True) is not False})
    return {"audits": [{"id": p.get("id"), "date": p.get("date"), "unit": p.get("unit")} for p in points],
            "series": list(series.values())}


# --- what changed, in words: the executive summary of a re-audit -------------------------------

LEVEL_WORDS = {"programme": "", "dimension": "dimension ", "area": "area ", "topic": "topic "}


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _and(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _flag_words(f: Mapping[str, Any]) -> str:
    """A red flag by its title and what it says (stage-skipping flags share a title, one per topic)."""
    if f.get("title") and f.get("message"):
        return f"{f['title']} \u2014 {f['message']}"
    return f.get("title") or f.get("message") or f.get("id")


def checklist_done(statuses: Mapping[str, Any]) -> dict:
    """How much of the checklist is done: ``{done, applicable, share}`` over the actions a result
    holds (``na`` left out of the denominator, as everywhere; unknown counts as not done)."""
    from collections import Counter
    try:
        counts = Counter(statuses.values())             # statuses by item (a stored summary)
    except TypeError:                                   # answers by item
        counts = Counter(s.get("status") for s in statuses.values())
    done, applicable = counts[DONE], len(statuses) - counts[NA]
    return {"done": done, "applicable": applicable, "share": round(done / applicable, 4) if applicable else None}


def _pct_text(share) -> str:
    return "\u2013" if share is None else f"{round(share * 100)}%"


def change_summary(comparison: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> dict:
    """What a re-audit's executive summary says first: what went backwards since the earlier
    audit, then what improved, each item a sentence in names with the rule and the facts it rests on.

    ``comparison`` is :func:`compare` of ``old`` and ``new``. Went backwards, in this order: the
    programme's and each dimension's stage lost, each foundation topic that fell back (lost a
    stage or had actions go backwards), red flags newly raised (most severe first), the areas and
    the other topics that lost a stage (one sentence each), a smaller share of the checklist done,
    and the actions of other topics gone backwards. Improved: the programme's and dimensions'
    stages gained, red flags cleared, areas and topics that gained a stage, actions newly done and
    a larger share of the checklist done (movement within a stage). Foundation topics are the
    rules' ``foundation_topics`` parameter as the new result records it.
    """
    stages = {s["id"]: s.get("name") or "" for s in new.get("stages") or []}
    foundation = set((new.get("parameters") or {}).get("foundation_topics") or [])
    since = comparison.get("from") or {}
    when = since.get("date") or "the earlier audit"
    now = (comparison.get("to") or {}).get("date") or "this audit"

    def label(stage):
        return f"stage {stage} {stages.get(stage, '')}".rstrip() if stage else "no stage achieved"

    def short(stage):
        return stage or "none"

    def facts(change):
        return [f"{when}: {change.get('id')} achieved={short(change['from']['achieved'])}",
                f"{now}: {change.get('id')} achieved={short(change['to']['achieved'])}"]

    def moved(change):
        return {"level": change["level"], "id": change.get("id"), "name": change.get("name"),
                "from": change["from"]["achieved"], "to": change["to"]["achieved"]}

    def unit_item(change, lost):
        name = change.get("name") or change.get("id")
        who = f"The {name}" if change["level"] == "programme" else f"Dimension {name}"
        verb = "fell back" if lost else "moved up"
        return {"kind": "stage_lost" if lost else "stage_gained", **moved(change),
                "text": f"{who} {verb} from {label(change['from']['achieved'])} to {label(change['to']['achieved'])}",
                "rule": f"compare.stage.{'lost' if lost else 'gained'}", "because": facts(change)}

    def group_item(changes, level, lost):
        words = {"area": ("area", "areas"), "topic": ("topic", "topics")}[level]
        parts = [f"{c.get('name') or c.get('id')} ({short(c['from']['achieved'])} \u2192 {short(c['to']['achieved'])})"
                 for c in changes]
        return {"kind": f"{level}s_{'lost' if lost else 'gained'}", "units": [moved(c) for c in changes],
                "text": f"{_count(len(changes), *words)} {'fell back' if lost else 'moved up'} a stage: {_and(parts)}",
                "rule": f"compare.stage.{'lost' if lost else 'gained'}",
                "because": [b for c in changes for b in facts(c)]}

    lost = comparison["regressions"]["stages"]
    gained = [c for c in comparison["stage_changes"] if c["direction"] == "up"]
    back = comparison["regressions"]["actions"]

    regressed: list[dict] = [unit_item(c, True) for c in lost if c["level"] in ("programme", "dimension")]
    lost_topics = {c.get("id"): c for c in lost if c["level"] == "topic"}
    back_by_topic: dict[str, list] = {}
    for a in back:
        back_by_topic.setdefault(a.get("topic"), []).append(a)
    topic_names_ = {t["id"]: t.get("label") or t.get("name") or t["id"] for t in new.get("topics") or []}
    foundation_back = [t for t in (new.get("parameters") or {}).get("foundation_topics") or []
                       if t in lost_topics or t in back_by_topic]
    for topic in foundation_back:
        name = topic_names_.get(topic, topic)
        actions = back_by_topic.get(topic, [])
        parts = []
        stage = lost_topics.get(topic)
        if stage is not None:
            parts.append(f"from {label(stage['from']['achieved'])} to {label(stage['to']['achieved'])}")
        if actions:
            parts.append(f"{_count(len(actions), 'action', 'actions')} went backwards ("
                         + "; ".join(f"{a.get('text')}: {LABELS.get(a['from'], a['from'])} \u2192 "
                                     f"{LABELS.get(a['to'], a['to'])}" for a in actions) + ")")
        regressed.append({
            "kind": "foundation_fell_back", "level": "topic", "id": topic, "name": name,
            "from": stage["from"]["achieved"] if stage else None, "to": stage["to"]["achieved"] if stage else None,
            "actions": [a["item"] for a in actions],
            "text": f"{name}, a foundation of the programme, fell back " + "; ".join(parts) if stage is not None
                    else f"{name}, a foundation of the programme, fell back: " + "; ".join(parts),
            "rule": "compare.regression.foundation",
            "because": (facts(stage) if stage else []) + [f"{a['item']}={a['from']}\u2192{a['to']}" for a in actions]})

    for f in comparison["red_flags"]["raised"]:
        regressed.append({"kind": "red_flag_raised", "id": f["id"], "severity": f.get("severity"),
                          "text": f"A red flag is raised ({f.get('severity')} severity): {_flag_words(f)}",
                          "rule": "compare.red_flag.raised", "because": [f"{now}: {f['id']} raised"]})

    areas_lost = [c for c in lost if c["level"] == "area"]
    if areas_lost:
        regressed.append(group_item(areas_lost, "area", True))
    topics_lost = [c for c in lost if c["level"] == "topic" and c.get("id") not in foundation]
    if topics_lost:
        regressed.append(group_item(topics_lost, "topic", True))

    before, after = checklist_done(_answers(old)), checklist_done(_answers(new))
    checklist = None
    if before["share"] is not None and after["share"] is not None and before["share"] != after["share"]:
        up = after["share"] > before["share"]
        checklist = {"kind": "checklist", "from": before, "to": after,
                     "text": f"{_pct_text(after['share'])} of the applicable checklist actions done "
                             f"({after['done']} of {after['applicable']}), {'up' if up else 'down'} from "
                             f"{_pct_text(before['share'])} ({before['done']} of {before['applicable']})",
                     "rule": "compare.checklist",
                     "because": [f"{when}: done={before['done']}/{before['applicable']}",
                                 f"{now}: done={after['done']}/{after['applicable']}"]}
        if not up:
            regressed.append(checklist)

    others = [a for a in back if a.get("topic") not in foundation]
    if others:
        topics = sorted({a.get("topic_name") or a.get("topic") for a in others})
        regressed.append({"kind": "actions_back", "actions": [a["item"] for a in others],
                          "text": f"{_count(len(others), 'action', 'actions')} of "
                                  f"{_count(len(topics), 'topic', 'topics')} went backwards: {_and(topics)}",
                          "rule": "compare.regression.actions",
                          "because": [f"{a['item']}={a['from']}\u2192{a['to']}" for a in others]})

    improved = [unit_item(c, False) for c in gained if c["level"] in ("programme", "dimension")]
    for f in comparison["red_flags"]["cleared"]:
        improved.append({"kind": "red_flag_cleared", "id": f["id"], "severity": f.get("severity"),
                         "text": f"A red flag is cleared: {_flag_words(f)}",
                         "rule": "compare.red_flag.cleared", "because": [f"{now}: {f['id']} no longer raised"]})
    for level in ("area", "topic"):
        group = [c for c in gained if c["level"] == level]
        if group:
            improved.append(group_item(group, level, False))
    done = comparison["actions_done"]
    if done:
        improved.append({"kind": "actions_done", "actions": [a["item"] for a in done],
                         "text": f"{_count(len(done), 'action', 'actions')} newly done",
                         "rule": "compare.actions_done",
                         "because": [f"{a['item']}={a['from']}\u2192done" for a in done]})
    if checklist is not None and checklist is not (regressed[-1] if regressed else None) and \
            checklist["to"]["share"] > checklist["from"]["share"]:
        improved.append(checklist)

    text = (f"Since the audit of {when}, "
            + (f"{_count(len(regressed), 'thing went', 'things went')} backwards" if regressed
               else "nothing went backwards")
            + (f" and {len(improved)} improved." if improved else " and nothing improved."))
    return {"since": {k: since.get(k) for k in ("id", "date", "unit", "assessor", "achieved", "current")},
            "regressed": regressed, "improved": improved, "checklist": {"from": before, "to": after},
            "text": text}
