"""What changed between two versions of the knowledge base's checklist, and whether the version
number says so.

Actions are matched by id, and across a rename through the newer version's ``replaces:``.
Reported: actions added, removed, renamed, reworded, moved to another topic, moved to another
stage. The version rule (semantic versioning of the knowledge base, README "Assessment
history"): a removed action or one moved to another stage changes what stored answers mean, so
it needs a major bump; added, renamed, reworded or re-topiced actions need a minor bump; no
change to the checklist needs none.
"""

from __future__ import annotations

from typing import Any

MAJOR, MINOR, PATCH, NONE = "major", "minor", "patch", "none"
_ORDER = {NONE: 0, PATCH: 1, MINOR: 2, MAJOR: 3}


def _version(text: str) -> tuple[int, int, int] | None:
    parts = str(text).split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def bump_of(old: str, new: str) -> str | None:
    """'major', 'minor', 'patch' or 'none' from one version to the next; None if not x.y.z or going back."""
    a, b = _version(old), _version(new)
    if a is None or b is None or b < a:
        return None
    if b[0] > a[0]:
        return MAJOR
    if b[1] > a[1]:
        return MINOR
    return PATCH if b[2] > a[2] else NONE


def diff(old, new) -> dict[str, Any]:
    """The checklist changes from knowledge base ``old`` to ``new`` (both loaded KnowledgeBase)."""
    aliases = {o: n for o, n in new.aliases.items() if o in old.items}
    matched = {o: aliases.get(o, o) for o in old.items if aliases.get(o, o) in new.items}
    targets = set(matched.values())

    def brief(item, kb) -> dict:
        return {"id": item.id, "text": item.text, "topic": item.topic, "topic_name": kb.topics[item.topic].label,
                "stage": item.stage}

    added = [brief(i, new) for i in new.items.values() if i.id not in targets]
    removed = [brief(i, old) for i in old.items.values() if i.id not in matched]
    renamed, reworded, moved_topic, moved_stage = [], [], [], []
    for o, n in matched.items():
        a, b = old.items[o], new.items[n]
        if o != n:
            renamed.append({"from": o, "to": n, "text": b.text})
        if a.text != b.text:
            reworded.append({"id": n, "from": a.text, "to": b.text})
        if a.topic != b.topic:
            moved_topic.append({"id": n, "text": b.text, "from": a.topic, "to": b.topic,
                                "from_name": old.topics[a.topic].label, "to_name": new.topics[b.topic].label})
        if a.stage != b.stage:
            moved_stage.append({"id": n, "text": b.text, "from": a.stage, "to": b.stage})
    needed = MAJOR if removed or moved_stage else MINOR if added or renamed or reworded or moved_topic else NONE
    made = bump_of(old.version, new.version)
    ok = made is not None and _ORDER[made] >= _ORDER[needed]
    if made is None:
        verdict = f"version {old.version} -> {new.version} is not a step forward in x.y.z"
    elif ok:
        verdict = f"version {old.version} -> {new.version} ({made}) fits the changes (need {needed})"
    else:
        why = "actions removed or moved to another stage" if needed == MAJOR else "actions added or changed"
        verdict = f"version {old.version} -> {new.version} is a {made} bump, but {why} need a {needed} bump"
    return {"from": old.version, "to": new.version, "added": added, "removed": removed, "renamed": renamed,
            "reworded": reworded, "moved_topic": moved_topic, "moved_stage": moved_stage,
            "bump": {"made": made, "needed": needed, "ok": ok, "verdict": verdict}}
