"""Re-assessing a stored audit under the current knowledge base and rules.

A stored result holds the status of every checklist action as the questionnaire mapped the
answers, the combined facts and the notes: that is the evidence inference reads, so the audit
can be assessed again without its questionnaire. Answers follow renamed actions (the current
knowledge base's ``replaces:``); answers to actions the knowledge base no longer has, and facts
the rules no longer declare, are kept in the result's ``reassessment`` record and reported,
never silently dropped (the stored audit keeps every raw answer too).
"""

from __future__ import annotations

from typing import Any, Mapping

from kam_advisor.answers.files import Evidence
from kam_advisor.data.vocab import UNANSWERED
from kam_advisor.results.assessment import assess_evidence
from kam_advisor.results.bases import load_bases


def reassess(stored: Mapping[str, Any], kb_dir=None, rules_dir=None) -> dict:
    """The `assess` result of a stored result's evidence under the current knowledge base, with a
    ``reassessment`` record: the versions, the answers carried over renames and those left out."""
    kb, base = load_bases(kb_dir, rules_dir)
    aliases = kb.aliases
    statuses, notes, provenance, renamed, removed = {}, {}, {}, [], []
    for a in stored.get("answers") or []:
        old = a["item"]
        if a.get("status") in (None, UNANSWERED):
            continue
        new = aliases.get(old, old)
        if new not in kb.items:
            removed.append({"item": old, "text": a.get("text"), "topic": a.get("topic"), "status": a["status"],
                            "note": a.get("note")})
            continue
        if new in statuses:          # two old actions merged into one: keep the first, report the other
            removed.append({"item": old, "text": a.get("text"), "topic": a.get("topic"), "status": a["status"],
                            "note": a.get("note"), "merged_into": new})
            continue
        statuses[new] = a["status"]
        provenance[new] = (f"{old}={a['status']}",)
        if a.get("note") is not None:
            notes[new] = a["note"]
        if new != old:
            renamed.append({"from": old, "to": new, "status": a["status"]})
    facts = {k: v for k, v in (stored.get("facts") or {}).items() if k in base.facts}
    dropped_facts = {k: v for k, v in (stored.get("facts") or {}).items() if k not in base.facts}
    evidence = Evidence(questionnaire=stored.get("questionnaire") or "", statuses=statuses, facts=facts,
                        provenance=provenance, notes=notes, respondents=tuple(stored.get("respondents") or ()),
                        organisation=stored.get("organisation"), date=stored.get("date"),
                        assessor=stored.get("assessor"))
    result = assess_evidence(evidence, kb, base, perception_gaps=stored.get("perception_gaps") or [])
    result["reassessment"] = {"from_kb_version": stored.get("kb_version"), "to_kb_version": kb.version,
                              "renamed": renamed, "removed_answers": removed, "removed_facts": dropped_facts}
    return result
