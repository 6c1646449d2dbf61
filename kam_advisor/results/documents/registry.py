"""The registry of typed result documents: KIND -> model and ``schema_version``, the JSON Schema
generated from the model (`kam-advisor schema KIND`), loading and upgrading.

The results layer builds documents as plain data (dicts, in the documented key order) and
stamps each with its kind's ``schema_version``; the models here are their specification.
:func:`load` reads a document (a stored blob of any version, JSON from a file) into its model,
upgrading it first (:func:`upgrade`); :func:`as_dict` turns a model back into plain data, key
for key as written. Absent optional keys are ``msgspec.UNSET`` and stay absent.
"""

from __future__ import annotations

from typing import Any, Mapping

import msgspec

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.results.documents import account, assessment, history, plan, portfolio
from kam_advisor.results.documents.versions import BY_FIELD, FIRST_VERSION, VERSIONS, stamp, upgrade  # noqa: F401

# KIND -> (model, current schema version), as `kam-advisor schema KIND` names them
KINDS: dict[str, tuple[type, int]] = {
    kind: (model, VERSIONS[kind]) for kind, model in (
        ("assessment", assessment.Assessment), ("account", account.Account), ("plan", plan.Plan),
        ("portfolio", portfolio.Portfolio), ("history", history.History), ("compare", history.Compare),
        ("progress", history.Progress))}


def kind_of(name: str) -> str:
    """KIND checked: one of :data:`KINDS`, else a DataError saying which were meant."""
    if name in KINDS:
        return name
    raise DataError(f"unknown document kind '{name}': expected one of {', '.join(KINDS)}"
                    f"{did_you_mean(name, list(KINDS))}")


def version(kind: str) -> int:
    return KINDS[kind_of(kind)][1]


def schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of a KIND's document, generated from its model."""
    model, current = KINDS[kind_of(kind)]
    body = msgspec.json.schema(model)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"kam-advisor {kind} document",
            "x-schema-version": current, **body}


def load(doc: Mapping[str, Any], kind: str | None = None):
    """The typed model of a document (upgraded first); a DataError naming the field that does
    not hold when the document does not fit its kind's model."""
    kind = kind or BY_FIELD.get(str(doc.get("kind")))
    if kind is None:
        raise DataError(f"not a result document: its 'kind' is none of {', '.join(BY_FIELD)}")
    doc = upgrade(doc, kind)
    try:
        return msgspec.convert(doc, KINDS[kind][0])
    except msgspec.ValidationError as err:
        raise DataError(f"not {'an' if kind[0] in 'aeiou' else 'a'} {kind} document: {err}") from None


def as_dict(model) -> dict:
    """A model as plain data (dicts and lists), keys in the document's order, absent stays absent."""
    return msgspec.to_builtins(model)
