"""Assessment: answers files in, the result (plain data, the `assess` JSON contract) out.

Turns answers into evidence, runs inference and shapes its findings into the documented
result (the `assess` JSON contract in the README).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Sequence

import orjson

from kam_advisor import __version__
from kam_advisor.results.bases import load_bases
from kam_advisor.results.documents.versions import VERSIONS
from kam_advisor.answers.files import Evidence
from kam_advisor.data.errors import DataError
from kam_advisor.data.vocab import OPEN_ORDER, PRIORITY_ORDER, SEVERITY_ORDER, UNANSWERED
from kam_advisor.reasoning.inference import PROGRAMME, Inference, infer

STATUS_ORDER = {s: n for n, s in enumerate(OPEN_ORDER)}


def evidence_from_files(paths: Sequence[str | Path], kb, fact_specs, questionnaires=None) -> tuple[Evidence, list[dict]]:
    from kam_advisor.answers import evidence as evidence_mod
    for p in paths:
        if not os.path.lexists(p):
            raise DataError("answers file not found", p)
    return evidence_mod.load_evidence([str(p) for p in paths], kb, fact_specs, root=questionnaires)


def assess_answers(answer_files: Sequence, kb_dir=None, rules_dir=None) -> dict:
    """Assess answers already read (AnswerFile objects, one per respondent, one questionnaire)."""
    from kam_advisor.answers import evidence as evidence_mod
    kb, base = load_bases(kb_dir, rules_dir)
    evidence, gaps = evidence_mod.evidence_of([(af, None) for af in answer_files], kb, base.facts)
    return assess_evidence(evidence, kb, base, perception_gaps=gaps)


def assess_evidence(evidence: Evidence, kb=None, base=None, perception_gaps=None) -> dict:
    """The programme pipeline's result for evidence (whatever its questionnaire produces)."""
    if kb is None or base is None:
        kb, base = load_bases()
    run = infer(evidence, kb, base)
    return build_result(evidence, kb, base, run, perception_gaps or [])


# --- shaping the result ---------------------------------------------------------------------

def _state(run: Inference, unit: str) -> dict:
    f = run.findings.get(f"state:{unit}")
    if f is None:  # every unit gets a state when the rules are complete; say so if not
        raise DataError(f"the rules gave no stage for '{unit}' (check rules/stages.yaml)")
    return {"achieved": f.fields.get("achieved"), "current": f.fields.get("current"),
            "assessed": bool(f.fields.get("assessed")), "rule": f.rule, "because": list(f.because),
            "reason": f.text}


def _cells(kb, run: Inference, topic: str) -> tuple[dict, dict]:
    completion, cells = {}, {}
    for stage in kb.stage_ids:
        c = run.facts[f"cell:{topic}:{stage}"].fields
        met = run.findings.get(f"met:{topic}:{stage}")
        completion[stage] = None if c["known"] == 0 else round(c["ratio"], 4)
        cells[stage] = {k: c[k] for k in ("total", "done", "partial", "not_started", "na", "dont_know", "unanswered")}
        cells[stage]["met"] = bool(met and met.fields.get("met"))
        cells[stage]["status"] = met.fields.get("status") if met else None
    return completion, cells


def _score(kb, run: Inference, unit_topics: list[str]) -> int | None:
    pts = known = 0.0
    for t in unit_topics:
        for stage in kb.stage_ids:
            c = run.facts[f"cell:{t}:{stage}"].fields
            pts += c["points"]
            known += c["known"]
    return round(100 * pts / known) if known else None


def _transition_ranks(kb):
    """A function giving where a red flag's pitfall sits in the transition's steps: earlier steps
    come first (a missing sponsor before pay), flags about no step after them."""
    steps = {rid: n for n, rid in enumerate(rid for rid, r in kb.records.items() if r.kind == "transition-step")}

    def rank(kb_ref: str | None) -> int:
        record = kb.records.get(kb_ref) if kb_ref else None
        step = record.data.get("step") if record is not None else None
        return steps.get(step, len(steps))
    return rank


def _phases(base) -> list[dict]:
    return [dict(p) for p in base.param("phases")]


def _plan(base, kb, recs: list[dict], roadmap: dict, flags: list[dict], summary: dict, units: dict,
          unassessed: tuple[str, ...] = ()) -> dict:
    """Every action in one sequenced plan: red-flag actions, recommendations, then the roadmap's
    later actions, each in the phase its rule gave it (rules/plan.yaml names the phases). Two
    declared alignments follow (rules/plan.yaml): the lagging side of an unbalanced programme
    comes first, and the checklist actions on a red flag's subject move with the flag. A
    recommendation moved keeps the same phase, priority and reason in `recommendations`."""
    phases = _phases(base)
    index = {p["id"]: n for n, p in enumerate(phases)}
    params = base.params
    entries: list[dict] = []
    skipping = [f for f in flags if f.get("topic") and f.get("action")]
    for f in flags:
        if f.get("action") and f not in skipping:
            entries.append({"kind": "flag", "id": f["id"], "item": None, "text": f["action"], "topic": None,
                            "stage": None, "status": None, "priority": f["severity"], "reason": f["message"],
                            "rule": f["rule"], "because": f["because"], "phase": f["phase"]})
    # a foundation topic the answers do not show: assessing it comes first (the stage waits on it)
    for tid in unassessed:
        entries.append({"kind": "assess", "id": f"assess.{tid}", "item": None,
                        "text": str(params["assess_first_action"]).format(topic=kb.topics[tid].label),
                        "topic": tid, "stage": None, "status": None, "priority": "high",
                        "reason": str(params["assess_first_reason"]).format(topic=kb.topics[tid].label),
                        "rule": "plan.assess-first", "because": [f"state:{tid}"], "phase": phases[0]["id"]})
    planned = set()
    recs_by_item = {r["item"]: r for r in recs}
    for r in recs:
        planned.add(r["item"])
        entries.append({"kind": "action", "id": r["id"], "item": r["item"], "text": r["text"], "topic": r["topic"],
                        "stage": r["stage"], "status": r["status"], "priority": r["priority"], "reason": r["reason"],
                        "rule": r["rule"], "because": r["because"], "phase": r["phase"]})
    for step in roadmap["steps"]:
        for a in step["actions"]:
            if a["item"] not in planned:
                planned.add(a["item"])
                entries.append({"kind": "action", "id": f"roadmap.{a['item']}", "item": a["item"], "text": a["text"],
                                "topic": a["topic"], "stage": step["stage"], "status": a["status"],
                                "priority": a["priority"],
                                "reason": a["reason"], "rule": a["rule"], "because": a["because"],
                                "phase": a["phase"]})
    stage_rank = {s: n for n, s in enumerate(kb.stage_ids, 1)}
    first = phases[0]["id"] if phases else None

    moved: set[int] = set()

    def touch(e: dict, phase: str | None, priority: str | None, why: str, because: str) -> None:
        changed = False
        if phase is not None and index.get(e["phase"], 0) > index[phase]:
            e["phase"], changed = phase, True
        if priority is not None and PRIORITY_ORDER.get(e["priority"], 9) > PRIORITY_ORDER[priority]:
            e["priority"], changed = priority, True
        if changed and id(e) not in moved:
            # the rule's own reason justified the old phase and priority: one reason, the new one
            moved.add(id(e))
            e["reason"] = f"{kb.topics[e['topic']].label}: {why}" + (
                f"; {params['partly_done_reason']}"
                if e["status"] == "partial" else "")
        elif why not in e["reason"]:
            e["reason"] = f"{e['reason']}; {why}"
        if because not in e["because"]:
            e["because"] = list(e["because"]) + [because]

    # the lagging side first: actions of a lagging unit's topics up to the stage that unit works on
    lagging_side = set()
    for lag in summary.get("lagging", []):
        unit, current = lag["unit"], units.get(lag["unit"], {}).get("current")
        topics = {t.id for t in kb.topics.values() if unit in (t.area, t.dimension)}
        # in the action's reason, what runs ahead by dimension: the summary names each unit
        ahead = list(dict.fromkeys(
            kb.dimensions[kb.areas[a["unit"]].dimension].name if a["unit"] in kb.areas else a["name"]
            for a in lag.get("ahead", [])))
        why = str(params.get("lagging_plan_reason", "{name} lags behind: its work comes first")).format(
            name=lag["name"], ahead=_and(ahead) if ahead else "the programme")
        for e in entries:
            if e["kind"] == "action" and e["topic"] in topics and current and stage_rank[e["stage"]] <= stage_rank[current]:
                lagging_side.add(e["item"])
                touch(e, first, "high", why, f"lag:{unit}")
    # a red flag and the checklist actions on its subject move together
    subjects = params.get("flag_actions") or {}
    gap = int(params.get("flag_phase_gap", 0))

    removes = {f["id"]: frozenset(subjects.get(f["rule"].rsplit(".high", 1)[0], subjects.get(f["rule"], [])))
               for f in flags}

    def subject_of(f: dict) -> frozenset[str]:
        """The checklist actions that remove the flag (rules/plan.yaml `flag_actions`), read once."""
        return removes[f["id"]]

    planned_flags = [f for f in flags if f.get("action") and f.get("phase") in index]
    # each action's place in the transition's order: its step, then its place in the step's list
    # (appoint the managers, then train them)
    step_of = {i: (int(r.data.get("number") or 0), n) for r in kb.records.values() if r.kind == "transition-step"
               for n, i in enumerate(r.data.get("items") or ())}
    for _ in range(2 * len(phases) + 4):  # until nothing moves: each pass only moves things earlier or up
        # stage skipping: the earlier stages' own checklist actions carry the flag, not a second copy of them
        for f in skipping:
            late = max((b.rsplit(":", 1)[1] for b in f["because"] if b.startswith(f"cell:{f['topic']}:")),
                       key=lambda st: stage_rank.get(st, 0), default=None)
            why = str(params.get("skipping_plan_reason", "later-stage work already rests on it")).format(title=f["title"])
            for e in entries:
                if e["kind"] == "action" and e["topic"] == f["topic"] and late and \
                        stage_rank[e["stage"]] < stage_rank[late] and e["status"] in ("not_started", "partial"):
                    touch(e, f["phase"], "medium", why, f["id"])
        # a red flag is planned no later than the checklist actions on its subject: one cut, one time
        first_of = {e["item"]: index[e["phase"]] for e in entries if e["kind"] == "action"}
        # phases and priorities: a priority raised late (the transition's order) may call for
        # another pass (finish what is started at that priority too)
        before = [(f["phase"]) for f in planned_flags] + [(e["phase"], e["priority"]) for e in entries]
        for f in planned_flags:
            if f in skipping:
                continue
            earliest = min((first_of[t] for t in subject_of(f) if t in first_of), default=len(phases))
            if earliest < index[f["phase"]]:
                f["phase"] = phases[earliest]["id"]
                for e in entries:
                    if e["kind"] == "flag" and e["id"] == f["id"]:
                        e["phase"] = f["phase"]
        # and the checklist actions on its subject come in its phase or the next, never at low priority
        for f in planned_flags:
            if f in skipping:
                continue
            latest = phases[min(index[f["phase"]] + gap, len(phases) - 1)]["id"]
            why = str(params.get("flag_plan_reason", "moved with the red flag: {title}")).format(title=f["title"])
            subject = subject_of(f)
            for e in entries:
                if e["kind"] == "action" and e["item"] in subject and (
                        index[e["phase"]] > index[latest] or e["priority"] == "low"):
                    touch(e, latest, "medium", why, f["id"])
        # finish what is started: a partly done action never waits behind a not-started one of the
        # same topic at the same or a later stage
        by_topic: dict[str, list[dict]] = {}
        for n in entries:
            if n["kind"] == "action":
                by_topic.setdefault(n["topic"], []).append(n)
        for e in entries:
            if e["kind"] != "action" or e["status"] != "partial":
                continue
            ahead_of_it = [n for n in by_topic[e["topic"]]
                           if n["status"] != "partial" and stage_rank[n["stage"]] >= stage_rank[e["stage"]]]
            for n in ahead_of_it:
                if index[n["phase"]] < index[e["phase"]] or PRIORITY_ORDER.get(n["priority"], 9) < \
                        PRIORITY_ORDER.get(e["priority"], 9):
                    touch(e, n["phase"], n["priority"], str(params["finish_first_reason"]), f"rec.{n['item']}")
        # the transition's order (knowledge/transition.yaml): an action of an earlier step (appoint
        # the key account managers) is never planned after one of a later step (set the metrics, pay)
        stepped = [n for n in entries if n["kind"] == "action" and n["item"] in step_of]
        for e in stepped:
            k = step_of[e["item"]]
            # what an action rests on is work of its own stage or an earlier one: a later-stage
            # action of an earlier step (board members sponsoring accounts, stage D) waits its stage
            later = [n for n in stepped if step_of[n["item"]] > k and stage_rank[n["stage"]] >= stage_rank[e["stage"]]]
            for n in later:
                if index[n["phase"]] < index[e["phase"]] or PRIORITY_ORDER.get(n["priority"], 9) < \
                        PRIORITY_ORDER.get(e["priority"], 9):
                    touch(e, n["phase"], n["priority"], str(params["transition_order_reason"]), f"rec.{n['item']}")
        if before == [(f["phase"]) for f in planned_flags] + [(e["phase"], e["priority"]) for e in entries]:
            break
    # a flag whose own action is a checklist action: listed once, as the flag's action
    fixes = params.get("flag_fix_item") or {}
    item_stage = {e["item"]: e["stage"] for e in entries if e["kind"] == "action"}
    absorbed: dict[str, dict] = {}
    for f in planned_flags:
        item = fixes.get(f["rule"].rsplit(".high", 1)[0])
        entry = next((e for e in entries if e["kind"] == "action" and e["item"] == item), None)
        flag_entry = next((e for e in entries if e["kind"] == "flag" and e["id"] == f["id"]), None)
        if entry is not None and flag_entry is not None:
            flag_entry["item"], flag_entry["status"] = item, entry["status"]
            flag_entry["because"] = list(flag_entry["because"]) + [b for b in entry["because"]
                                                                   if b not in flag_entry["because"]]
            entries.remove(entry)
            absorbed[item] = (flag_entry, entry["priority"])
    order = {id(e): n for n, e in enumerate(entries)}
    carried: set[int] = set()

    flag_of = {e["id"]: e for e in entries if e["kind"] == "flag"}
    flag_step: dict[int, tuple] = {}
    for f in planned_flags:  # a flag's place in the transition: its own action's step, else its subject's first
        if f["id"] in flag_of:
            e = flag_of[f["id"]]
            flag_step[id(e)] = step_of.get(e["item"]) or min(
                (step_of[i] for i in subject_of(f) if i in step_of), default=(99, 0))

    def within(e: dict) -> tuple:
        """The order within a phase: what the previous phase had no room for, the foundations'
        assessment, then by urgency: a red flag before an action of the same urgency (the flag
        decides, its actions follow; the more severe first, then in the transition's order), the
        lagging side, then by stage, partly done first (finish what is started), an earlier
        transition step first (appoint before train before pay), then as the rules ranked them."""
        if e["kind"] == "assess":
            return (id(e) not in carried, 0, order[id(e)])
        if e["kind"] == "flag":
            return (id(e) not in carried, 1, SEVERITY_ORDER.get(e["priority"], 9), 0,
                    flag_step.get(id(e), (99, 0)), order[id(e)])
        return (id(e) not in carried, 1, PRIORITY_ORDER.get(e["priority"], 9), 1, e["item"] not in lagging_side,
                stage_rank.get(e["stage"], 0), STATUS_ORDER.get(e["status"], 9), step_of.get(e["item"], (99, 0)),
                order[id(e)])

    subject_flags: dict[str, list[dict]] = {}
    for f in planned_flags:
        if f not in skipping and f["id"] in flag_of:
            for item in subject_of(f):
                subject_flags.setdefault(item, []).append(flag_of[f["id"]])

    def needs(here: list[dict], in_phase: bool = False) -> dict[int, list[list[dict]]]:
        """What must not be planned after each entry of a phase: the foundations' assessment before
        everything, a more severe red flag before a less severe one, a red flag before the
        actions that remove it, the lagging side before other actions (a red flag's own actions
        apart), a partly done action before a not-started one of its topic at the same or a later
        stage, an earlier transition step before a later one (a flag carrying a step's action
        too)."""
        assess = [e for e in here if e["kind"] == "assess"]
        flag_rank = {id(e): (SEVERITY_ORDER.get(e["priority"], 9), flag_step.get(id(e), (99, 0)))
                     for e in here if e["kind"] == "flag"}
        flags_here = [e for e in here if e["kind"] == "flag"]
        lagging = [e for e in here if e["kind"] == "action" and e["item"] in lagging_side]
        partial: dict[str, list[dict]] = {}
        for e in here:
            if e["kind"] == "action" and e["status"] == "partial":
                partial.setdefault(e["topic"], []).append(e)
        stepped = [e for e in here if e["item"] in step_of]
        present = {id(e) for e in here}
        out = {}
        for e in here:  # each entry's needs as a few lists (shared, never copied): none holds the entry itself
            need = [] if e["kind"] == "assess" or not assess else [assess]
            if e["kind"] == "flag":  # the red flags in one order: the more severe first, then the transition's
                rank = flag_rank[id(e)]
                need.append([g for g in flags_here if flag_rank[id(g)] < rank])
            elif e["kind"] == "action":
                # the flag in the same phase or before; within the phase it comes first, unless this
                # action is an earlier transition step than the flag's own (define the role, then train)
                flagged = [f for f in subject_flags.get(e["item"], ()) if id(f) in present]
                if flagged:
                    need.append([f for f in flagged if not (in_phase and e["item"] in step_of and f["item"] in step_of
                                                            and step_of[e["item"]] < step_of[f["item"]])])
                elif e["item"] not in lagging_side and lagging:
                    need.append(lagging)
                if e["status"] != "partial" and e["topic"] in partial:
                    need.append([p for p in partial[e["topic"]] if stage_rank[e["stage"]] >= stage_rank[p["stage"]]])
            if e["item"] in step_of:
                rank = stage_rank.get(item_stage.get(e["item"]), 0)
                need.append([x for x in stepped if step_of[x["item"]] < step_of[e["item"]]
                             and stage_rank.get(item_stage.get(x["item"]), 0) <= rank])
            out[id(e)] = need
        return out

    notes = _fill_to_capacity(phases, entries, within, needs, carried, params)
    for f in planned_flags:  # a flag's record says the phase its entry is in
        if f["id"] in flag_of:
            f["phase"] = flag_of[f["id"]]["phase"]
    for f in skipping:  # the flag's phase is that of the earliest action carrying it
        carried = [index[e["phase"]] for e in entries if f["id"] in e["because"]]
        if carried:
            f["phase"] = phases[min(carried)]["id"]
    for e in entries:  # the recommendation says what the plan says
        r = recs_by_item.get(e["item"]) if e["kind"] == "action" and e["id"] == f"rec.{e['item']}" else None
        if r is not None:
            r.update(phase=e["phase"], priority=e["priority"], reason=e["reason"], because=e["because"])
    for item, (e, priority) in absorbed.items():  # a recommendation the flag's action carries: the flag's phase
        r = recs_by_item.get(item)
        if r is not None:
            why = str(params["flag_fix_reason"]).format(title=next(f["title"] for f in flags if f["id"] == e["id"]))
            r.update(phase=e["phase"], priority=priority,
                     reason=why + (f"; {params['partly_done_reason']}" if r["status"] == "partial" else ""))
    by_phase: dict[str, list[dict]] = {p["id"]: [] for p in phases}
    for e in entries:
        by_phase.setdefault(e["phase"], []).append(e)
    for pid, here in by_phase.items():
        by_phase[pid] = _in_order(here, within, needs(here, in_phase=True))
        for e in by_phase[pid]:
            del e["phase"]
    return {"phases": [{**p, **notes.get(p["id"], {}), "actions": by_phase.get(p["id"], [])} for p in phases]}


def _in_order(here: list[dict], within, need: dict[int, list[list[dict]]]) -> list[dict]:
    """The entries of a phase in their order (`within`), each after what it rests on (`need`);
    where two rest on each other, the order decides."""
    todo = sorted(here, key=within)
    placed: set[int] = set()
    for e in todo:  # most phases: the order already puts each entry after what it rests on
        if any(id(x) not in placed for chunk in need[id(e)] for x in chunk):
            break
        placed.add(id(e))
    else:
        return todo
    waiting = {id(e) for e in todo}
    out = []
    while todo:
        pick = next((e for e in todo if not any(id(x) in waiting for chunk in need[id(e)] for x in chunk)), todo[0])
        todo.remove(pick)
        waiting.discard(id(pick))
        out.append(pick)
    return out


def _fill_to_capacity(phases, entries, within, needs, carried: set[int], params) -> dict[str, dict]:
    """A phase that declares a `capacity` (rules/plan.yaml) holds no more entries than that; the
    rest is carried to the next phase, where it comes first. The phase takes its entries in order,
    each with what must not be planned after it (`needs`); one that does not fit waits with all
    that rests on it, and the next that fits is taken, so the phase is filled (a less severe red
    flag still never comes before a more severe one: it rests on it). A first entry that alone
    needs more than the capacity is taken whole. Returns each phase's note: how many entries it carries, or
    why it holds more than its capacity."""
    notes: dict[str, dict] = {}
    for n, phase in enumerate(phases[:-1]):
        cap = phase.get("capacity")
        here = sorted((e for e in entries if e["phase"] == phase["id"]), key=within)
        if cap is None or len(here) <= cap:
            continue
        need = needs(here)
        kept: set[int] = set()
        for e in here:
            if id(e) in kept:
                continue
            unit, todo = {id(e): e}, [e]
            while todo:
                for chunk in need[id(todo.pop())]:
                    for m in chunk:
                        if id(m) not in kept and id(m) not in unit:
                            unit[id(m)] = m
                            todo.append(m)
            if kept and len(kept) + len(unit) > cap:
                continue  # it waits with what it rests on; something smaller may still fit
            kept |= unit.keys()
        later = phases[n + 1]
        moved = [e for e in here if id(e) not in kept]
        for e in moved:
            e["phase"] = later["id"]
            e["because"] = list(e["because"]) + [f"capacity:{phase['id']}"]
            carried.add(id(e))
        words = {"phase": phase["name"].lower(), "capacity": cap, "count": len(moved), "kept": len(kept)}
        if moved:
            notes[later["id"]] = {"carried": len(moved), "note": str(params["capacity_carried_note"]).format(**words)}
        if len(kept) > cap:
            notes[phase["id"]] = {"note": str(params["capacity_over_note"]).format(**words)}
    return notes


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _summary(kb, run: Inference, overall: dict, topics: list[dict], flags: list[dict], coverage: dict,
             areas: list[dict], scope, min_share: float, base_params=None, views=None) -> dict:
    """The executive summary's facts, in names: headline, what lags and why, stage skipping,
    the achieved and current stages' hallmarks, and what a screening did not cover."""
    head = run.findings.get("headline")
    lags = sorted((f for f in run.findings.values() if f.type == "lag"), key=lambda f: f.id)
    topic_lags = [f for f in lags if f.fields.get("level") == "topic"]
    topic_area = {t.id: t.area for t in kb.topics.values()}
    lagging = []
    for f in lags:
        level = f.fields.get("level")
        if level == "topic":
            continue
        if level == "area" and any(g.fields.get("unit") == f.fields.get("dimension") for g in lags):
            continue  # its dimension is named already, with the topics that hold it back
        holding = [g.fields["name"] for g in topic_lags
                   if (g.fields.get("dimension") == f.fields["unit"] if level == "dimension"
                       else topic_area.get(g.fields["unit"]) == f.fields["unit"])]
        lagging.append({"unit": f.fields["unit"], "level": level, "name": f.fields["name"],
                        "achieved": f.fields.get("achieved"), "text": f.text, "held_back_by": holding,
                        "rule": f.rule, "because": list(f.because), "ahead": [], "risk": None})
    _add_imbalance(kb, run, base_params, lagging, topic_lags)
    skipping = run.findings.get("stage-skipping")
    skip = None
    if skipping is not None:
        by_id = {f["id"]: f for f in flags}
        order = {tid: n for n, tid in enumerate(kb.topics)}
        skipped = sorted((by_id[b] for b in skipping.because if b in by_id and by_id[b].get("topic")),
                         key=lambda f: order[f["topic"]])
        names = [f["topic_name"] for f in skipped]
        skip = {"text": skipping.text, "topics": names, "flags": [b for b in skipping.because if b in by_id],
                "rule": skipping.rule, "because": list(skipping.because)}
    status = {(t["id"], s): t["cells"][s]["status"] for t in topics for s in kb.stage_ids}
    under_way = float((base_params or {}).get("hallmark_under_way_share", 0.5))
    started = {(t["id"], s): (t["completion"][s] or 0) >= under_way for t in topics for s in kb.stage_ids}
    assessed = {t["id"] for t in topics if t["assessed"]}

    def hallmark_state(h, stage_id) -> str:
        """in_place, under_way, not_in_place or not_shown: by the topic's cell at the stage, or by
        the actions the phrase names where it names some."""
        st = status.get((h["topic"], stage_id))
        key = "in_place" if st == "met" else "not_in_place" if st == "unmet" else "not_shown"
        if key == "not_in_place" and started.get((h["topic"], stage_id)):
            key = "under_way"  # half-way or more but not met: never "still to do" whole
        if h.get("items"):  # the phrase names particular actions: they decide
            named = [item_status.get(i, UNANSWERED) for i in h["items"]]
            key = ("in_place" if all(x in ("done", "na") for x in named) and "done" in named
                   else "under_way" if any(x in ("done", "partial") for x in named)
                   else "not_in_place" if any(x == "not_started" for x in named) else "not_shown")
        return key

    def hallmarks(stage_id):
        if not stage_id:
            return None
        stage = kb.stage(stage_id)
        out = {"stage": stage.id, "name": stage.name, "description": stage.description,
               "in_place": [], "not_in_place": [], "not_shown": []}
        out["under_way"] = []
        for h in stage.hallmarks:
            key = hallmark_state(h, stage.id)
            out[key].append({"text": h["text"], "topic": h["topic"], "topic_name": kb.topics[h["topic"]].label})
        # what the client has beyond the typical stage: hallmarks of later stages already in place
        # beyond the stage, and beyond the next one when the summary describes that one too: each
        # hallmark in place is said once
        after = overall["current"] if stage.id == overall["achieved"] and overall["current"] not in (
            None, overall["achieved"]) else stage.id
        later = kb.stage_ids[kb.stage_ids.index(after) + 1:]
        # (never a topic whose later work skipped its earlier stages: the red flag condemns it)
        out["beyond"] = [{"text": h["text"], "topic": h["topic"], "topic_name": kb.topics[h["topic"]].label,
                          "stage": s.id}
                         for s in kb.stages if s.id in later for h in s.hallmarks
                         if hallmark_state(h, s.id) == "in_place" and h["topic"] not in skipped_topics]
        return out

    skipped_topics = {f["topic"] for f in flags if f.get("topic")}
    item_status = run.statuses
    hold = run.findings.get("holdback")
    screening = run.findings.get("screening")
    # areas a screening cannot assess even when fully answered: too few of their topics asked about
    asked = {kb.items[i].topic for i in (scope or ()) if i in kb.items}
    uncovered = [a["name"] for a in areas
                 if sum(t in asked for t in kb.areas[a["id"]].topics) < min_share * len(kb.areas[a["id"]].topics)]
    return {
        "headline": {"text": head.text if head else "", "rule": head.rule if head else None,
                     "because": list(head.because) if head else []},
        "lagging": lagging,
        "stage_skipping": skip,
        "achieved_stage": hallmarks(overall["achieved"]),
        "current_stage": hallmarks(overall["current"]) if overall["current"] != overall["achieved"] else None,
        "screening": {"text": screening.text, "scope": coverage["scope"], "total": coverage["total"],
                      "not_covered": uncovered, "rule": screening.rule,
                      "because": list(screening.because)} if screening else None,
        "not_assessed": [t["name"] for t in topics if t["id"] not in assessed],
        "perception": _perception(views or {}, base_params),
        "held_back": {"text": hold.text, "stage": hold.fields.get("stage"), "topics": list(hold.fields.get("topics") or []),
                      "rule": hold.rule, "because": list(hold.because)} if hold else None,
    }


def _add_imbalance(kb, run: Inference, params, lagging: list[dict], topic_lags) -> None:
    """Dimensions and areas two stages or more behind another of their level (rules
    `balance.*`): named with what runs ahead and why that is a risk (rules/summary.yaml's
    `balance_risks`, by dimension). An area whose dimension is named already is left out."""
    found = sorted((f for f in run.findings.values() if f.type == "imbalance"), key=lambda f: f.id)
    if not found:
        return
    risks = (params or {}).get("balance_risks") or {}
    by_unit: dict[str, list] = {}
    for f in found:
        by_unit.setdefault(f.fields["unit"], []).append(f)
    lagging_dims = {f.fields["unit"] for f in found if f.fields["level"] == "dimension"}
    entries = {e["unit"]: e for e in lagging}
    topic_area = {t.id: t.area for t in kb.topics.values()}
    for unit, fs in by_unit.items():
        first = fs[0]
        level = first.fields["level"]
        if level == "area" and first.fields.get("dimension") in lagging_dims and unit not in entries:
            continue  # its dimension is named already, with what runs ahead of it
        ahead = [{"unit": f.fields["ahead"], "name": f.fields["ahead_name"], "achieved": f.fields["ahead_achieved"]}
                 for f in sorted(fs, key=lambda f: (-(kb.stage_ids.index(f.fields["ahead_achieved"]) + 1),
                                                    f.fields["ahead"]))]
        risk = risks.get(unit) or risks.get(first.fields.get("dimension"))
        entry = entries.get(unit)
        if entry is None:
            holding = [g.fields["name"] for g in topic_lags
                       if (g.fields.get("dimension") == unit if level == "dimension"
                           else topic_area.get(g.fields["unit"]) == unit)]
            entry = {"unit": unit, "level": level, "name": first.fields["name"],
                     "achieved": first.fields.get("achieved"), "text": first.text, "held_back_by": holding,
                     "rule": first.rule, "because": [], "ahead": [], "risk": None}
            lagging.append(entry)
            entries[unit] = entry
        entry["ahead"] = ahead
        entry["risk"] = " ".join(str(risk).split()) if risk else None
        entry["because"] = entry["because"] + [f.id for f in fs if f.id not in entry["because"]]
    # dimensions before areas, then the furthest behind first
    lagging.sort(key=lambda e: (e["level"] != "dimension", 0 if e["achieved"] is None
                                else kb.stage_ids.index(e["achieved"]) + 1, e["unit"]))


def _perception(views: dict, params) -> dict | None:
    """A screening much rosier than the audit, as a governance finding for the summary: how many
    actions it rates higher and lower, the largest gaps, and the facts where it raises no flag the
    audit raises."""
    gaps, facts = views.get("view_gaps") or [], views.get("view_fact_gaps") or []
    between = views.get("perception_gaps") or []
    if not gaps and not facts and not between:
        return None
    params = params or {}
    higher = [g for g in gaps if g["spread"] > 0]
    lower = [g for g in gaps if g["spread"] < 0]
    higher_items = sorted({g["item"] for g in higher})
    lower_items = sorted({g["item"] for g in lower})
    rosy_facts = [f for f in facts if f["rosier"]]
    min_gaps = params["rosier_view_min_gaps"]
    ratio = params["rosier_view_ratio"]
    rosier = (len(higher_items) >= min_gaps and len(higher_items) >= ratio * len(lower_items)) or bool(rosy_facts)
    # each screening respondent against the audit, whichever way they differ
    people = sorted({r for g in gaps + facts for r in g.get("respondents", [])})
    by_respondent = []
    for r in people:
        up = {g["item"] for g in higher if r in g.get("respondents", [])}
        down = {g["item"] for g in lower if r in g.get("respondents", [])}
        rosy = [f for f in rosy_facts if r in f.get("respondents", [])]
        by_respondent.append({"respondent": r, "higher": len(up), "lower": len(down),
                              "rosier": (len(up) >= min_gaps and len(up) >= ratio * len(down)) or bool(rosy)})
    if by_respondent:
        rosier = any(b["rosier"] for b in by_respondent)
    # the largest gaps whichever way they run, rosier first when the screening is rosier
    largest = sorted(gaps, key=lambda g: (-abs(g["spread"]), -g["spread"] if rosier else 0, g["item"]))
    largest = largest[:params["rosier_view_largest"]]
    who = sorted({a["respondent"] for g in between for a in g.get("answers", []) if a.get("respondent")})
    return {"rosier": rosier, "higher": len(higher_items), "lower": len(lower_items),
            "largest": [{"item": g["item"], "text": g["text"], "topic_name": g["topic_name"], "view": g["view"],
                         "audit": g["audit"], "questionnaire_title": g["questionnaire_title"],
                         "respondents": list(g.get("respondents", []))} for g in largest],
            "facts": [{"fact": f["fact"], "text": f["text"], "view": f["view"], "audit": f["audit"],
                       "rosier": f["rosier"], "questionnaire_title": f["questionnaire_title"],
                       "respondents": list(f.get("respondents", []))} for f in facts],
            "between_respondents": {"questions": len(between), "respondents": who,
                                    "largest": [str(g.get("text") or "").strip().rstrip(".") for g in
                                                sorted(between, key=lambda g: (-(g.get("spread") or 0),
                                                                               str(g.get("question"))))[:5]]}
            if between else None,
            "by_respondent": by_respondent,
            "rule": "summary.perception", "because": [f"view_gap:{g['item']}" for g in largest]
            + [f"view_fact:{f['fact']}" for f in rosy_facts]}


def build_result(evidence: Evidence, kb, base, run: Inference, gaps: list[dict]) -> dict:
    stage_name = {s.id: s.name for s in kb.stages}
    programme_name = base.param("programme_name")
    overall = {**_state(run, PROGRAMME), "id": PROGRAMME, "name": programme_name}
    conf = run.findings.get("confidence")
    overall["confidence"] = conf.fields["level"] if conf else None
    overall["indicative"] = "screening" in run.findings

    dimensions = []
    for d in kb.dimensions.values():
        topics = [t.id for t in kb.topics.values() if t.dimension == d.id]
        state = _state(run, d.id)  # a unit the answers do not show carries no number either
        dimensions.append({"id": d.id, "name": d.name, **state,
                           "score": _score(kb, run, topics) if state["assessed"] else None})
    areas = []
    for a in kb.areas.values():
        topics = [t.id for t in kb.topics.values() if t.area == a.id]
        state = _state(run, a.id)
        areas.append({"id": a.id, "name": a.name, "dimension": a.dimension, **state,
                      "score": _score(kb, run, topics) if state["assessed"] else None})
    topics_out = []
    for t in kb.topics.values():
        completion, cells = _cells(kb, run, t.id)
        topics_out.append({"id": t.id, "name": t.name, "label": t.label, "area": t.area, "dimension": t.dimension,
                           **_state(run, t.id), "completion": completion, "cells": cells})

    facets = []
    for f in kb.facets.values():
        fact = run.facts[f"facet:{f.id}"].fields
        band = run.findings.get(f"band:{f.id}")
        facets.append({"id": f.id, "name": f.name, "score": fact["score"] if fact["known"] else None,
                       "band": band.fields["band"] if band else None,
                       "rule": band.rule if band else None,
                       "because": (list(band.because) if band else []) + [f"facet:{f.id}"],
                       "reason": band.text if band else f"{f.name}: not assessed, none of its "
                                                        f"{fact['total']} actions has a known answer",
                       "strongest": [x for x in fact["strongest"] if x != "none"],
                       "weakest": [x for x in fact["weakest"] if x != "none"]})

    order = {iid: n for n, iid in enumerate(kb.items)}
    stage_rank = {s: n for n, s in enumerate(kb.stage_ids)}

    def status(iid):
        return run.statuses.get(iid, UNANSWERED)

    recs = []
    for f in run.findings.values():
        if f.type != "recommendation":
            continue
        iid = f.fields["item"]
        recs.append({"id": f.id, "item": iid, "text": kb.items[iid].label, "topic": f.fields["topic"],
                     "stage": f.fields["stage"], "status": status(iid), "priority": f.meta.get("priority"),
                     "rank": None, "rule": f.rule, "because": [f"{b}={status(b)}" if b == iid else b for b in f.because],
                     "reason": f.text, "phase": f.meta.get("phase"), "topic_name": kb.topics[f.fields["topic"]].label})
    recs.sort(key=lambda r: (PRIORITY_ORDER.get(r["priority"], 9), stage_rank[r["stage"]],
                             STATUS_ORDER.get(r["status"], 9), order[r["item"]]))
    for n, r in enumerate(recs, 1):
        r["rank"] = n

    steps: dict[str, list] = {}
    for f in sorted((f for f in run.findings.values() if f.type == "roadmap"),
                    key=lambda f: (stage_rank[f.fields["stage"]], order[f.fields["item"]])):
        iid = f.fields["item"]
        steps.setdefault(f.fields["stage"], []).append(
            {"item": iid, "text": kb.items[iid].label, "topic": f.fields["topic"], "status": status(iid),
             "rule": f.rule, "because": list(f.because), "phase": f.meta.get("phase"), "reason": f.text,
             "topic_name": kb.topics[f.fields["topic"]].label, "priority": f.meta.get("priority") or "low"})
    roadmap = {"from": overall["achieved"],
               "to": None if overall["achieved"] == overall["current"] else overall["current"],
               "steps": [{"stage": s, "name": stage_name[s], "actions": steps[s]}
                         for s in kb.stage_ids if s in steps]}

    flags = []
    for f in run.findings.values():
        if f.type != "flag":
            continue
        spec = base.rules[f.rule]
        flags.append({"id": f.id, "severity": f.meta.get("severity"), "title": spec.title, "message": f.text,
                      "advice": f.meta.get("advice"), "source": spec.source, "kb_ref": spec.kb_ref,
                      "rule": f.rule, "because": list(f.because), "action": f.meta.get("action"),
                      "phase": f.meta.get("phase"), "source_title": kb.sources.get(spec.source, spec.source),
                      "topic": f.fields.get("topic"), "topic_name": f.fields.get("name")})
    rank = _transition_ranks(kb)
    flags.sort(key=lambda x: (SEVERITY_ORDER.get(x["severity"], 9), rank(x["kb_ref"]), x["id"]))

    cov = run.facts["coverage"].fields
    coverage = {"answered": cov["answered"], "total": cov["total"], "dont_know": cov["dont_know"], "na": cov["na"],
                "ratio": round(cov["ratio"], 4), "confidence": overall["confidence"],
                "rule": conf.rule if conf else None, "reason": conf.text if conf else None,
                "scope": cov["scope"], "scope_answered": cov["scope_answered"],
                "scope_ratio": round(cov["scope_ratio"], 4), "screening": cov["screening"]}

    answers = [{"item": i.id, "topic": i.topic, "stage": i.stage, "text": i.text, "status": status(i.id),
                "note": evidence.notes.get(i.id)} for i in kb.items.values()]

    answer = {i: f"{i}={status(i)}" for i in kb.items}  # an item id among the reasons gets its status
    trace = [{"id": f.id, "type": f.type, "rule": f.rule, "because": [answer.get(b, b) for b in f.because],
              "text": f.text}
             for f in sorted(list(run.findings.values()) + list(run.facts.values()), key=lambda f: f.id)]
    glossary = kb.models.get("glossary", {}).get("terms", [])

    view_gaps = [{**g, "text": kb.items[g["item"]].label, "topic": kb.items[g["item"]].topic,
                  "topic_name": kb.topics[kb.items[g["item"]].topic].label}
                 for g in evidence.extra.get("view_gaps", [])]
    view_fact_gaps = list(evidence.extra.get("view_fact_gaps", []))
    summary = _summary(kb, run, overall, topics_out, flags, coverage, areas, evidence.scope,
                       base.param("rollup_min_assessed_share"), base.params,
                       {"view_gaps": view_gaps, "view_fact_gaps": view_fact_gaps, "perception_gaps": gaps})
    units_current = {u["id"]: u for u in dimensions + areas}
    foundation = set(base.param("foundation_topics"))
    plan = _plan(base, kb, recs, roadmap, flags, summary, units_current,
                 tuple(t["id"] for t in topics_out if t["id"] in foundation and not t["assessed"]))
    recs.sort(key=lambda r: (PRIORITY_ORDER.get(r["priority"], 9), stage_rank[r["stage"]],
                             STATUS_ORDER.get(r["status"], 9), order[r["item"]]))
    for n, r in enumerate(recs, 1):
        r["rank"] = n
    return {
        "kind": "programme",
        "schema_version": VERSIONS["assessment"],
        "tool": {"name": "kam-advisor", "version": __version__},
        "kb_version": kb.version,
        "questionnaire": evidence.questionnaire,
        "questionnaire_title": evidence.extra.get("questionnaire_title"),
        "organisation": evidence.organisation,
        "assessor": evidence.assessor,
        "date": evidence.date,
        "respondents": list(evidence.respondents),
        "stages": [{"id": s.id, "name": s.name, "description": s.description} for s in kb.stages],
        "overall": overall,
        "summary": summary,
        "dimensions": dimensions,
        "areas": areas,
        "topics": topics_out,
        "facets": facets,
        "recommendations": recs,
        "plan": plan,
        "roadmap": roadmap,
        "red_flags": flags,
        "coverage": coverage,
        "answers": answers,
        "facts": {k: evidence.facts[k] for k in sorted(evidence.facts)},
        "perception_gaps": gaps,
        "view_gaps": view_gaps,
        "view_fact_gaps": view_fact_gaps,
        "views": list(evidence.extra.get("views", [])),
        "method": method_text(base, kb),
        "parameters": {name: base.params[name] for name in sorted(base.params)},
        "glossary": [{"term": t["term"], "meaning": t["meaning"]} for t in glossary],
        "sources": [{"id": k, "title": v} for k, v in kb.sources.items()],
        "trace": trace,
    }


def method_text(base, kb=None) -> list[str]:
    """The paragraphs of the report's Method page: the rules files' `method`, parameters filled,
    and any topic id a parameter holds (the foundation topics) given by its name: the Method page
    is read by clients."""
    if kb is None:
        return list(base.method)
    cached = _METHOD.get((id(base), id(kb)))
    if cached is None or cached[0] is not base or cached[1] is not kb:
        ids = sorted(kb.topics, key=len, reverse=True)
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(t) for t in ids) + r")\b") if ids else None
        texts = [pattern.sub(lambda m: kb.topics[m.group(0)].label, p) if pattern else p for p in base.method]
        cached = _METHOD[(id(base), id(kb))] = (base, kb, texts)
    return list(cached[2])


_METHOD: dict = {}  # (rules, knowledge base) -> the Method page's paragraphs, made once


def dumps(result: dict) -> str:
    """The result as JSON: stable key order as built, UTF-8, two-space indent, trailing newline.

    orjson writes the same text as ``json.dumps(result, indent=2, ensure_ascii=False)`` (a
    test holds them equal) about forty times faster: a tenth of a batch's time per file."""
    return dumps_utf8(result).decode()


def dumps_utf8(result: dict) -> bytes:
    """:func:`dumps` as UTF-8 bytes, for a file (no decoding and encoding again)."""
    try:
        return orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # what orjson does not write (a non-text key, a huge integer): as json does
        return (json.dumps(result, indent=2, ensure_ascii=False) + "\n").encode()
