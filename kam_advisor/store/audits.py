"""The assessment history: save, list, load, export, import and delete audits.

Every write is one transaction: an audit is stored with all its answers or not at all. Names
(organisation, unit, assessor) are data: they reach the database only as bound parameters.
The full ``assess`` result is kept as JSON text; the few fields ``history`` and the trend chart
need are copied into columns (and a small JSON summary) when the audit is saved, so listing an
organisation's history never parses a result.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import orjson
import sqlalchemy as sa

from kam_advisor.results.documents.versions import upgrade_result, version_of
from kam_advisor import __version__
from kam_advisor.data.errors import DataError
from kam_advisor.store import db
from kam_advisor.store.db import StoreError
from kam_advisor.store.schema import answers as answers_t, audit_scores as scores_t, audits as audits_t, \
    responses as responses_t, targets as targets_t

EXPORT_FORMAT = "kam-advisor-history"
EXPORT_VERSION = 1
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STAGE_IDS = ("A", "B", "C", "D")  # the stages of knowledge/stages.yaml; a stored target must be one
_ID = re.compile(r"^[0-9a-f]{12}$")
MIN_PREFIX = 4


@dataclass(frozen=True)
class Source:
    """One respondent's answers file as written: the input a re-assessment starts from."""

    questionnaire: str
    answers: Mapping[str, Any]                 # question id -> the answer as written
    notes: Mapping[str, str] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    respondent: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class AuditSummary:
    """One row of ``history``: who, when, what stage, how sure, how many red flags."""

    id: str
    organisation: str
    unit: str | None
    date: str
    assessor: str | None
    saved_at: str
    questionnaire: str | None
    questionnaire_version: str | None
    kb_version: str | None
    tool_version: str | None
    respondents: list[str]
    stage_achieved: str | None
    stage_current: str | None
    confidence: str | None
    coverage: float | None
    red_flags: int
    summary_json: str | None = field(default=None, repr=False)   # JSON of `summarise(result)`

    @cached_property
    def summary(self) -> dict:
        """Stages and scores of the programme and dimensions, facet scores, action statuses
        (see :func:`summarise`); parsed when first read. Listings read without it say so."""
        if self.summary_json is None:
            raise ValueError(f"audit {self.id} was listed without its summary (Store.audits(summaries=True))")
        return _stored_object(self.summary_json)

    def as_json(self) -> dict:
        return {"id": self.id, "organisation": self.organisation, "unit": self.unit, "date": self.date,
                "assessor": self.assessor, "saved_at": self.saved_at, "questionnaire": self.questionnaire,
                "questionnaire_version": self.questionnaire_version, "kb_version": self.kb_version,
                "tool_version": self.tool_version, "respondents": list(self.respondents),
                "achieved": self.stage_achieved, "current": self.stage_current, "confidence": self.confidence,
                "coverage": self.coverage, "red_flags": self.red_flags}


@dataclass(frozen=True)
class StoredAudit:
    """A saved audit whole: its summary, the full result and the respondents' answers."""

    audit: AuditSummary
    result: dict
    sources: list[Source]


# --- reading answers files into sources -------------------------------------------------------

def sources_from_files(paths: Sequence[str | Path]) -> list[Source]:
    """The raw answers of each answers file (already checked by the assessment that used them)."""
    from kam_advisor.answers.check import read_answers   # YAML, JSON or a filled workbook
    out = []
    for p in paths:
        af, _ = read_answers(p)
        out.append(Source(questionnaire=af.questionnaire, answers=dict(af.answers), notes=dict(af.notes),
                          facts=dict(af.facts), respondent=af.respondent, file=Path(af.path).name))
    return out


def questionnaire_version(questionnaire_id: str | None) -> str | None:
    """The version of a built-in questionnaire (None for one the tool does not ship)."""
    if not questionnaire_id:
        return None
    from kam_advisor.answers.loader import load
    try:
        return str(load(questionnaire_id).version)
    except DataError:
        return None


# --- shaping ---------------------------------------------------------------------------------

def summarise(result: Mapping[str, Any]) -> dict:
    """What ``history``, the trend chart and the units roll-up read without parsing the result:
    the stages, stages and scores of the programme and dimensions, facet scores, action statuses
    and the red flags (id, severity, title, message)."""
    def unit(u: Mapping[str, Any]) -> dict:
        out = {"id": u.get("id"), "name": u.get("name"), "achieved": u.get("achieved"),
               "current": u.get("current"), "score": u.get("score")}
        if "assessed" in u:
            out["assessed"] = u["assessed"]
        return out
    overall = result.get("overall") or {}
    return {"stages": [{"id": s.get("id"), "name": s.get("name")} for s in result.get("stages") or []],
            "overall": unit(overall),
            "dimensions": [unit(d) for d in result.get("dimensions") or []],
            "facets": [{"id": f.get("id"), "name": f.get("name"), "score": f.get("score")}
                       for f in result.get("facets") or []],
            "statuses": {a["item"]: a.get("status") for a in result.get("answers") or []},
            "red_flags": [{"id": f.get("id"), "severity": f.get("severity"), "title": f.get("title"),
                           "message": f.get("message")} for f in result.get("red_flags") or []]}


def check_name(value: str | None, what: str, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and value == "" and not required):
        if required:
            raise StoreError(f"no {what}: give --{'org' if what == 'organisation' else what} NAME")
        return None
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} name must be non-empty text (got {value!r})")
    if "\x00" in value:
        raise StoreError(f"{what} name {value!r} holds a NUL character")
    return value


def check_date(value: Any, where: str = "--date") -> str:
    text = value.isoformat() if isinstance(value, _dt.date) else str(value)
    if not _DATE.match(text):
        raise StoreError(f"{where}: expected a date YYYY-MM-DD (got {text!r})")
    try:
        _dt.date.fromisoformat(text)
    except ValueError:
        raise StoreError(f"{where}: no such date {text!r}") from None
    return text


def _stored_object(text) -> dict:
    """A stored JSON object (a result, a summary); ``{}`` when the record holds anything else (a
    record damaged outside kam-advisor): one record never breaks reading the others."""
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _row_summary(row) -> AuditSummary:
    return AuditSummary(id=row.id, organisation=row.organisation, unit=row.unit, date=row.date,
                        assessor=row.assessor, saved_at=row.saved_at, questionnaire=row.questionnaire,
                        questionnaire_version=row.questionnaire_version, kb_version=row.kb_version,
                        tool_version=row.tool_version, respondents=orjson.loads(row.respondents),
                        stage_achieved=row.stage_achieved, stage_current=row.stage_current,
                        confidence=row.confidence, coverage=row.coverage, red_flags=row.red_flags,
                        summary_json=getattr(row, "summary", None))


def _record(result, sources, *, organisation, unit, date, assessor, questionnaire_version,
            audit_id=None, saved_at=None, sector=None, size_band=None):
    """The rows of one audit: (audits row, responses rows, answers rows, audit_scores rows), checked."""
    from kam_advisor.data.peers import check_size, normalise_sector
    from kam_advisor.store.scores import score_rows
    org = check_name(organisation if organisation is not None else result.get("organisation"),
                     "organisation", required=True)
    unit = check_name(unit, "unit")
    assessor = check_name(assessor if assessor is not None else result.get("assessor"), "assessor")
    when = check_date(date) if date else (check_date(result["date"], "the answers' date") if result.get("date")
                                          else _dt.date.today().isoformat())
    overall = result.get("overall") or {}
    coverage = result.get("coverage") or {}
    audit_id = audit_id or uuid.uuid4().hex[:12]
    answer_rows, response_rows = [], []
    for position, src in enumerate(sources):
        response_rows.append({"audit_id": audit_id, "position": position, "respondent": src.respondent,
                              "file": src.file, "questionnaire": src.questionnaire, "facts": _json(dict(src.facts))})
        for question, value in src.answers.items():
            answer_rows.append({"audit_id": audit_id, "position": position, "question": question,
                                "value": _json(value), "note": src.notes.get(question)})
    row = {"id": audit_id, "organisation": org, "unit": unit, "date": when, "assessor": assessor,
           "saved_at": saved_at or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds"),
           "questionnaire": result.get("questionnaire"), "questionnaire_version": questionnaire_version,
           "kb_version": result.get("kb_version"),
           "tool_version": (result.get("tool") or {}).get("version", __version__),
           "respondents": _json(list(result.get("respondents") or [s.respondent for s in sources if s.respondent])),
           "stage_achieved": overall.get("achieved"), "stage_current": overall.get("current"),
           "confidence": overall.get("confidence", coverage.get("confidence")),
           "coverage": coverage.get("ratio"), "red_flags": len(result.get("red_flags") or []),
           "answer_count": len(answer_rows), "summary": _json(summarise(result)),
           "facts": _json(result.get("facts") or {}), "result": _json(result),
           "schema_version": version_of(result)}
    for key, value in (("sector", normalise_sector(sector, "sector")),
                       ("size_band", check_size(size_band, where="size_band"))):
        if value is not None:      # the peer group (schema 5), when given
            row[key] = value
    return row, response_rows, answer_rows, score_rows(audit_id, result)



_SUMMARY_COLUMNS = [c for c in audits_t.c if c.name not in ("result", "facts", "answer_count")]
_LIST_COLUMNS = [c for c in _SUMMARY_COLUMNS if c.name != "summary"]
_ORDER = (audits_t.c.date, sa.func.coalesce(audits_t.c.unit, ""), audits_t.c.saved_at, audits_t.c.id)


class Store:
    """An open history database. Use :func:`open_store` to get one."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- writing ---

    def save(self, result: Mapping[str, Any], sources: Sequence[Source] = (), *, organisation: str | None = None,
             unit: str | None = None, date: str | None = None, assessor: str | None = None,
             questionnaire_version: str | None = None, audit_id: str | None = None,
             saved_at: str | None = None, sector: str | None = None, size_band: str | None = None) -> str:
        """Store one assessment (the `assess` result and the answers it came from); returns its id.

        organisation, date and assessor default to the result's; the date to today when the
        answers name none. ``sector`` (free text) and ``size_band`` (rules/benchmark/peers.yaml)
        place it in a peer group. One transaction: the audit is stored whole or not at all.
        """
        with db.writing(self.engine) as conn:
            return self.save_in(conn, result, sources, organisation=organisation, unit=unit, date=date,
                                assessor=assessor, questionnaire_version=questionnaire_version, audit_id=audit_id,
                                saved_at=saved_at, sector=sector, size_band=size_band)

    def save_in(self, conn, result: Mapping[str, Any], sources: Sequence[Source] = (), **details) -> str:
        """:meth:`save` within a writing transaction the caller holds (``db.writing``), so that
        saving the audit and another change (closing a web engagement) are one transaction."""
        record = _record(result, sources, **{"organisation": None, "unit": None, "date": None, "assessor": None,
                                             "questionnaire_version": None, "audit_id": None, "saved_at": None,
                                             "sector": None, "size_band": None, **details})
        self._insert(conn, *record)
        return record[0]["id"]

    @staticmethod
    def _insert(conn, row, response_rows, answer_rows, score_rows=()) -> None:
        conn.execute(audits_t.insert(), row)
        if response_rows:
            conn.execute(responses_t.insert(), response_rows)
        if answer_rows:
            conn.execute(answers_t.insert(), answer_rows)
        if score_rows:
            conn.execute(scores_t.insert(), list(score_rows))

    def delete(self, audit_id: str) -> AuditSummary:
        """Remove one audit and its answers (one transaction); returns what was removed."""
        with db.writing(self.engine) as conn:
            found = self._summary(conn, self._resolve(conn, audit_id))
            for table in (answers_t, responses_t, scores_t):
                conn.execute(table.delete().where(table.c.audit_id == found.id))
            conn.execute(audits_t.delete().where(audits_t.c.id == found.id))
        return found

    def set_target(self, organisation: str, stage: str, by_date: str | None = None, unit: str | None = None) -> None:
        org = check_name(organisation, "organisation", required=True)
        unit = check_name(unit, "unit") or ""
        by = check_date(by_date, "--by") if by_date else None
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")
        with db.writing(self.engine) as conn:
            conn.execute(targets_t.delete().where(targets_t.c.organisation == org, targets_t.c.unit == unit))
            conn.execute(targets_t.insert(), {"organisation": org, "unit": unit, "stage": stage,
                                              "by_date": by, "set_at": now})

    # --- reading ---

    def target(self, organisation: str, unit: str | None = None) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(targets_t).where(targets_t.c.organisation == organisation,
                                                         targets_t.c.unit == (unit or ""))).first()
        if row is None:
            return None
        if row.stage not in STAGE_IDS or (row.by_date is not None and not _DATE.match(str(row.by_date))):
            return None  # a record this tool did not write (an older import): never let it break reading
        return {"stage": row.stage, "by": row.by_date, "set_at": row.set_at}

    def organisations(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audits_t.c.organisation, sa.func.count())
                                .group_by(audits_t.c.organisation).order_by(audits_t.c.organisation)).all()
        return [(r[0], r[1]) for r in rows]

    def audits(self, organisation: str, unit: str | None = None, summaries: bool = True) -> list[AuditSummary]:
        """An organisation's audits, oldest first. unit None: all; "": the whole organisation only.

        ``summaries=False`` leaves out each audit's summary (stages, scores, statuses): a listing
        such as ``history`` is faster without it; :meth:`summaries` reads it for a few audits.
        """
        query = sa.select(*(_SUMMARY_COLUMNS if summaries else _LIST_COLUMNS)).where(
            audits_t.c.organisation == organisation)
        if unit == "":
            query = query.where(audits_t.c.unit.is_(None))
        elif unit is not None:
            query = query.where(audits_t.c.unit == unit)
        with self.engine.connect() as conn:
            return [_row_summary(r) for r in conn.execute(query.order_by(*_ORDER))]

    def load(self, audit_id: str) -> StoredAudit:
        """One audit whole, by id or a unique prefix of at least four characters."""
        with self.engine.connect() as conn:
            full = self._resolve(conn, audit_id)
            row = conn.execute(sa.select(audits_t).where(audits_t.c.id == full)).one()
            sources = self._sources(conn, full)
        return StoredAudit(audit=_row_summary(row), result=upgrade_result(_stored_object(row.result)), sources=sources)

    def summaries(self, ids: Iterable[str]) -> dict[str, dict]:
        """The summaries (:func:`summarise`) of several audits, by full id."""
        ids = list(ids)
        out: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for chunk in range(0, len(ids), 500):
                for r in conn.execute(sa.select(audits_t.c.id, audits_t.c.summary)
                                      .where(audits_t.c.id.in_(ids[chunk:chunk + 500]))):
                    out[r.id] = _stored_object(r.summary)
        return out

    def results(self, ids: Iterable[str]) -> dict[str, dict]:
        """The full results of several audits (by full id), parsed."""
        ids = list(ids)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audits_t.c.id, audits_t.c.result).where(audits_t.c.id.in_(ids))).all()
        return {r.id: upgrade_result(_stored_object(r.result)) for r in rows}

    def _sources(self, conn, audit_id: str) -> list[Source]:
        answers: dict[int, list] = {}
        for a in conn.execute(sa.select(answers_t).where(answers_t.c.audit_id == audit_id)
                              .order_by(answers_t.c.position, answers_t.c.question)):
            answers.setdefault(a.position, []).append(a)
        out = []
        for r in conn.execute(sa.select(responses_t).where(responses_t.c.audit_id == audit_id)
                              .order_by(responses_t.c.position)):
            rows = answers.get(r.position, [])
            out.append(Source(questionnaire=r.questionnaire, respondent=r.respondent, file=r.file,
                              facts=orjson.loads(r.facts),
                              answers={a.question: orjson.loads(a.value) for a in rows},
                              notes={a.question: a.note for a in rows if a.note is not None}))
        return out

    def _summary(self, conn, audit_id: str) -> AuditSummary:
        return _row_summary(conn.execute(sa.select(*_SUMMARY_COLUMNS).where(audits_t.c.id == audit_id)).one())

    def _resolve(self, conn, audit_id: str) -> str:
        text = (audit_id or "").strip().lower()
        if not re.fullmatch(r"[0-9a-f]{%d,12}" % MIN_PREFIX, text):
            raise StoreError(f"audit id {audit_id!r}: expected {MIN_PREFIX} to 12 hexadecimal characters "
                             "(see kam-advisor history ORG)")
        found = conn.execute(sa.select(audits_t.c.id).where(audits_t.c.id.startswith(text, autoescape=True))
                             .limit(2)).scalars().all()
        if not found:
            raise StoreError(f"no audit '{audit_id}' in {self.url}")
        if len(found) > 1:
            raise StoreError(f"audit id '{audit_id}' is ambiguous: give more characters")
        return found[0]

    def resolve(self, audit_id: str) -> str:
        with self.engine.connect() as conn:
            return self._resolve(conn, audit_id)

    # --- export / import ---

    def export(self, organisation: str) -> dict:
        """Every audit of an organisation, with its answers and result, and its targets: plain JSON data."""
        org = check_name(organisation, "organisation", required=True)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audits_t).where(audits_t.c.organisation == org).order_by(*_ORDER)).all()
            if not rows:
                raise StoreError(f"no audits of '{org}' in {self.url}")
            audits = []
            for row in rows:
                s = _row_summary(row)
                audits.append({"id": s.id, "organisation": s.organisation, "unit": s.unit, "date": s.date,
                               "assessor": s.assessor, "saved_at": s.saved_at, "questionnaire": s.questionnaire,
                               "questionnaire_version": s.questionnaire_version, "kb_version": s.kb_version,
                               "tool_version": s.tool_version, "respondents": s.respondents,
                               "sector": row.sector, "size_band": row.size_band,
                               "responses": [{"respondent": src.respondent, "file": src.file,
                                              "questionnaire": src.questionnaire, "facts": dict(src.facts),
                                              "answers": {q: ({"value": v, "note": src.notes[q]} if q in src.notes
                                                              else {"value": v})
                                                          for q, v in src.answers.items()}}
                                             for src in self._sources(conn, s.id)],
                               "result": upgrade_result(orjson.loads(row.result))})
            targets = [{"unit": t.unit or None, "stage": t.stage, "by": t.by_date, "set_at": t.set_at}
                       for t in conn.execute(sa.select(targets_t).where(targets_t.c.organisation == org)
                                             .order_by(targets_t.c.unit))]
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "organisation": org, "audits": audits,
                "targets": targets}

    def import_document(self, doc: Any, path: str | None = None) -> tuple[int, int]:
        """Add the audits of an export not already here (by id); returns (added, already present).

        The whole document is checked before anything is written, and written in one transaction.
        """
        records = _read_export(doc, path)
        added = skipped = 0
        with db.writing(self.engine) as conn:
            present = set()
            ids = [r[0]["id"] for r, _ in records]
            for chunk in range(0, len(ids), 500):
                present |= set(conn.execute(sa.select(audits_t.c.id)
                                            .where(audits_t.c.id.in_(ids[chunk:chunk + 500]))).scalars())
            for record, _ in records:
                if record[0]["id"] in present:
                    skipped += 1
                    continue
                self._insert(conn, *record)
                present.add(record[0]["id"])
                added += 1
            for t in _read_targets(doc, path):
                exists = conn.execute(sa.select(targets_t.c.stage).where(
                    targets_t.c.organisation == t["organisation"], targets_t.c.unit == t["unit"])).first()
                if exists is None:
                    conn.execute(targets_t.insert(), t)
        return added, skipped


MAX_EXPORT_DEPTH = 64  # nesting of an export document; a result nests about 8
MAX_EXPORT_BYTES = 256 * 1024 * 1024  # a full audit with its answers exports to about 450 KB
MAX_EXPORT_VALUES = 2_000_000  # ',', '[' and '{' in the text: about 11,000 per full audit, so ~180 audits


def parse_export(data: bytes, path=None) -> Any:
    """The JSON document of an export file's bytes, or one line saying why not: UTF-8 only (a
    UTF-16 file is named as such), at most MAX_EXPORT_VALUES values (counted on the bytes before
    parsing, so that memory stays bounded), not nested too deep."""
    if len(data) > MAX_EXPORT_BYTES:
        raise DataError(f"file too large (over {MAX_EXPORT_BYTES:,} bytes)", path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(data) > 1 and (data[0] == 0 or data[1] == 0)):
        raise DataError("not UTF-8 text (it looks like UTF-16); save the export as UTF-8 JSON", path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"not UTF-8 text (byte {err.start + 1}); save the export as UTF-8 JSON", path) from None
    values = data.count(b",") + data.count(b"[") + data.count(b"{")
    if values > MAX_EXPORT_VALUES:
        raise DataError(f"holds about {values:,} values, over the {MAX_EXPORT_VALUES:,} an import takes at once "
                        "(about 180 full audits)", path)
    import json
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"not JSON: {err.msg} (column {err.colno})", path, err.lineno) from None
    except RecursionError:
        raise DataError(f"nested more than {MAX_EXPORT_DEPTH} levels deep; not an export of kam-advisor", path) from None
    except ValueError as err:  # e.g. a number of more than 4,300 digits
        raise DataError(f"not JSON this tool reads ({' '.join(str(err).split())[:80]})", path) from None
    _read_export(doc, path)  # the schema, then every record built and checked (dates, names): nothing written yet
    _read_targets(doc, path)
    return doc


def _depth_ok(doc: Any, limit: int = MAX_EXPORT_DEPTH) -> bool:
    """Whether ``doc`` nests at most ``limit`` levels (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return True


def _json_place(steps) -> str:
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "the document"


def check_export(doc: Any, path=None) -> None:
    """Refuse an export document that does not hold, on one line naming the field (a JSON path
    such as ``audits[3].result.overall.achieved``) and what was expected: before anything is written."""
    from kam_advisor.data import schema
    from kam_advisor.data.neutral import quoted
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise DataError(f"format: expected a kam-advisor history export (\"format\": \"{EXPORT_FORMAT}\")", path)
    if doc.get("version") != EXPORT_VERSION:
        version = doc.get("version")
        raise DataError(f"version: export version {quoted(version) if isinstance(version, str) else repr(version)[:80]} "
                        "is not one this tool reads "
                        f"({EXPORT_VERSION})", path)
    if not _depth_ok(doc):
        raise DataError(f"nested more than {MAX_EXPORT_DEPTH} levels deep; not an export of kam-advisor", path)
    validator = schema._compiled("history-export")
    error = next(validator.iter_errors(doc), None)  # the first only: a document may hold a million
    if error is None:
        return
    message = schema._format(error, doc, None, {}).message
    message = re.sub(r"^record '[^']*': ", "", message)
    last = error.absolute_path[-1] if error.absolute_path else None
    if isinstance(last, str) and message.startswith(last + " "):
        message = message[len(last) + 1:]  # the place names the field already
    if len(message) > 160:
        message = message[:159] + "\u2026"
    raise DataError(f"{_json_place(error.absolute_path)}: {message}", path)


def _read_export(doc: Any, path) -> list:
    def fail(place, message):
        raise DataError(f"{place}: {message}", path)
    check_export(doc, path)
    audits = doc.get("audits")
    if not isinstance(audits, list):
        fail("audits", "expected a list of audits")
    out, seen = [], set()
    for n, a in enumerate(audits):
        place = f"audits[{n}]"
        if not isinstance(a, dict):
            fail(place, "expected an object")
        for key in ("id", "organisation", "date", "saved_at", "result", "responses"):
            if key not in a:
                fail(place, f"missing '{key}'")
        if not isinstance(a["id"], str) or not _ID.match(a["id"]):
            fail(f"{place}.id", f"expected 12 hexadecimal characters (got {a['id']!r})")
        if a["id"] in seen:
            fail(f"{place}.id", f"audit '{a['id']}' appears twice")
        seen.add(a["id"])
        if not isinstance(a["result"], dict):
            fail(f"{place}.result", "expected the assessment result (an object)")
        if not isinstance(a["responses"], list):
            fail(f"{place}.responses", "expected a list of answers files")
        sources = []
        for m, r in enumerate(a["responses"]):
            rplace = f"{place}.responses[{m}]"
            if not isinstance(r, dict) or not isinstance(r.get("answers"), dict) or \
                    not isinstance(r.get("questionnaire"), str):
                fail(rplace, "expected an object with 'questionnaire' and 'answers'")
            answers, notes = {}, {}
            for q, v in r["answers"].items():
                if not isinstance(v, dict) or "value" not in v:
                    fail(f"{rplace}.answers.{q}", "expected {\"value\": ..., \"note\": ...}")
                answers[q] = v["value"]
                if v.get("note") is not None:
                    notes[q] = str(v["note"])
            sources.append(Source(questionnaire=r["questionnaire"], answers=answers, notes=notes,
                                  facts=dict(r.get("facts") or {}), respondent=r.get("respondent"), file=r.get("file")))
        try:
            record = _record(a["result"], sources, organisation=a["organisation"], unit=a.get("unit"),
                                   date=a["date"], assessor=a.get("assessor"),
                                   questionnaire_version=a.get("questionnaire_version"), audit_id=a["id"],
                                   saved_at=str(a["saved_at"]), sector=a.get("sector"), size_band=a.get("size_band"))
        except DataError as err:         # a bad name, date, sector or size band
            fail(place, err.message)
        except (TypeError, ValueError, KeyError, AttributeError) as err:  # a result this tool did not write
            fail(f"{place}.result", f"not an assessment result of kam-advisor ({type(err).__name__})")
        row = record[0]
        for key in ("questionnaire", "kb_version", "tool_version"):   # as exported, not re-derived
            if key in a:
                row[key] = a[key]
        if "respondents" in a:
            row["respondents"] = _json(a["respondents"])
        out.append((record, a))
    return out


def _read_targets(doc: dict, path) -> list[dict]:
    out = []
    for n, t in enumerate(doc.get("targets") or []):
        if not isinstance(t, dict) or t.get("stage") not in STAGE_IDS or "set_at" not in t:
            raise DataError(f"targets[{n}]: expected an object with 'stage' (one of {', '.join(STAGE_IDS)}) "
                            "and 'set_at'", path)
        if t.get("by") is not None:
            try:
                check_date(t["by"], f"targets[{n}].by")
            except StoreError as err:
                raise DataError(err.message, path) from None
        out.append({"organisation": doc["organisation"], "unit": t.get("unit") or "", "stage": t["stage"],
                    "by_date": t.get("by"), "set_at": str(t["set_at"])})
    return out


def open_store(url: str | None = None, upgrade: bool = True, write: bool = True) -> Store:
    """Open (and create or migrate) the history database at a SQLAlchemy URL.

    None: ``KAM_ADVISOR_DB`` or the default SQLite file. A database written by a newer version
    of the tool raises StoreError and is left untouched; an older one is migrated (unless
    ``upgrade`` is False, then StoreError asks for ``kam-advisor db upgrade``).

    ``write=False`` is for a command that only reads (history, show, compare, export, report
    --progress, ...): it never creates or migrates a database, never switches its journal mode,
    and a place without kam-advisor's schema (no file yet, another program's database) raises
    :class:`~kam_advisor.store.db.NoHistory` saying to run ``db upgrade`` or a saving command.
    """
    engine = db.create_engine(url or db.default_url(create=write), write=write)
    try:
        revision = db.check_revision(engine)
    except BaseException:
        engine.dispose()
        raise
    shown = engine.url.render_as_string(hide_password=True)
    if revision is None and not write:
        engine.dispose()
        raise db.NoHistory(f"{shown}: holds no kam-advisor history (no schema; left untouched): run "
                           "kam-advisor db upgrade to add it there, or save an assessment (assess --save)")
    if revision != db.HEAD:
        if not upgrade or not write:
            engine.dispose()
            raise StoreError(f"{shown}: schema {revision or 'none'} "
                             f"is older than this tool's ({db.HEAD}): run kam-advisor db upgrade")
        db.upgrade(engine)
    return Store(engine)
