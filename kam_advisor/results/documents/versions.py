"""Each document kind's current ``schema_version`` and the stamp that puts it in a document.

Kept apart from the models so that building a result does not import the model library."""

from __future__ import annotations

FIRST_VERSION = 1   # every document written before documents carried `schema_version`

# KIND (as `kam-advisor schema KIND` names it) -> its current schema version
VERSIONS: dict[str, int] = {
    "assessment": 2,
    "account": 3,
    "plan": 2,
    "portfolio": 3,
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


def version_of(doc) -> int:
    """The schema version a document was written in (:data:`FIRST_VERSION` when it names none)."""
    found = doc.get("schema_version")
    return found if isinstance(found, int) and not isinstance(found, bool) else FIRST_VERSION


def upgrade(doc, kind: str) -> dict:
    """A document of an older schema version as the current version holds it, one step at a
    time: version 1 (written before documents carried ``schema_version``) differs from version 2
    by that field alone; version 3 of an account and a portfolio adds the ratings left out
    (``warnings``, empty for a document that had none). A document of the current or a newer
    version is returned as it is (fields are only added)."""
    found = version_of(doc)
    if found >= VERSIONS[kind]:
        return doc if isinstance(doc, dict) else dict(doc)
    out = stamp({k: v for k, v in doc.items() if k != "schema_version"}, kind)
    if found < 3 and kind in ("account", "portfolio"):
        out = _with_warnings(out) if kind == "account" else {
            **out, "accounts": [_with_warnings(a) for a in out.get("accounts") or []],
            "warnings": out.get("warnings", [])}
    return out


def _with_warnings(account: dict) -> dict:
    """An account of schema version 2 with version 3's ``warnings`` right after ``key_list``."""
    if "warnings" in account or not isinstance(account, dict):
        return account
    out = {}
    for key, value in account.items():
        out[key] = value
        if key == "key_list":
            out["warnings"] = []
    out.setdefault("warnings", [])
    return out


def upgrade_result(doc):
    """A stored result (programme, account or plan, by its ``kind``) upgraded; anything else (a
    record damaged outside kam-advisor) as it is."""
    if not isinstance(doc, dict):
        return doc
    kind = BY_FIELD.get(doc.get("kind")) if isinstance(doc.get("kind"), str) else None
    return upgrade(doc, kind) if kind is not None else doc
