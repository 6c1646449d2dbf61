"""Assessment history: saved audits of organisations and their units (SQLAlchemy Core + Alembic).

The public API (used by the CLI and the web questionnaire)::

    from kam_advisor.store import open_store, save_assessment, sources_from_files

    store = open_store("sqlite:///history.db")      # None: KAM_ADVISOR_DB or the default file
    audit_id = save_assessment(store, result, sources_from_files(paths),
                               organisation="Acme", unit="EMEA", date="2026-11-01", assessor="J. Doe")
    store.audits("Acme")          # [AuditSummary, ...] oldest first; unit="EMEA" or "" (whole org)
    store.load(audit_id)          # StoredAudit(audit, result, sources)
    store.export("Acme"); store.import_document(doc); store.delete(audit_id)

``result`` is the `assess` result document (kam_advisor.results.assessment); ``sources`` are
the respondents' raw answers (:class:`Source`), kept for re-assessment. Errors are
:class:`StoreError` (a DataError: one line, exit code 2).
"""

from kam_advisor.store.audits import (AuditSummary, Source, Store, StoredAudit, open_store, questionnaire_version,
                                      sources_from_files, summarise)
from kam_advisor.store.db import HEAD, StoreError, default_url


def save_assessment(store: Store, result: dict, sources=(), **details) -> str:
    """Save one assessment result with its answers; returns the new audit id. See Store.save."""
    return store.save(result, sources, **details)


def audits(store: Store, organisation: str, unit: str | None = None) -> list[AuditSummary]:
    return store.audits(organisation, unit)


def load(store: Store, audit_id: str) -> StoredAudit:
    return store.load(audit_id)


__all__ = ["AuditSummary", "HEAD", "Source", "Store", "StoreError", "StoredAudit", "audits", "default_url", "load",
           "open_store", "questionnaire_version", "save_assessment", "sources_from_files", "summarise"]
