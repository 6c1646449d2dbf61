"""Each document kind's current ``schema_version`` and the stamp that puts it in a document.

Kept apart from the models so that building a result does not import the model library."""

from __future__ import annotations

FIRST_VERSION = 1   # every document written before documents carried `schema_version`

# KIND (as `kam-advisor schema KIND` names it) -> its current schema version
VERSIONS: dict[str, int] = {
    "assessment": 2,
    "account": 2,
    "plan": 2,
    "portfolio": 2,
    "history": 2,
    "compare": 2,
    "progress": 2,
}
# a document's own `kind` field -> its KIND (a programme's result is the assessment)
BY_FIELD = {"programme": "assessment", "account": "account", "plan": "plan", "portfolio": "portfolio"}


def stamp(doc: dict, kind: str) -> dict:
    """``doc`` with its kind's ``schema_version``: right after ``kind`` where the document names
    its kind, else first."""
    current = VERSIONS[kind]
    if "kind" in doc:
        out = {"kind": doc["kind"], "schema_version": current}
        out.update(doc)
        return out
    return {"schema_version": current, **doc}
