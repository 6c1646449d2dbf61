"""Engagements of the web questionnaire: an organisation, a questionnaire, a link per respondent.

A consultant opens an engagement; each respondent gets a secret token (192 random bits, the
last part of their link) and answers online; every answer is saved at once, one row per
question, so respondents answering at the same time never overwrite each other. Closing the
engagement freezes the answers (the links stop working) and records the audit saved in the
history. Names and answers reach the database only as bound parameters.

The web questionnaire's signing secret and admin token live here too (:func:`web_secrets`), so
that a restarted server, or another of its worker processes, accepts the same links and forms.
Closing is one transaction with saving the audit: two closes at once save one audit.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

import orjson
import sqlalchemy as sa

from kam_advisor.store import db
from kam_advisor.store.audits import Source, Store, check_name
from kam_advisor.store.db import StoreError
from kam_advisor.store.schema import engagements as engagements_t, respondents as respondents_t, \
    web_answers as answers_t, web_settings as settings_t

TOKEN_BYTES = 24          # 192 bits; the issue asks for at least 128
SECRET_BYTES = 32         # the HMAC key of the forms' CSRF tokens
MAX_RESPONDENTS = 200
RESULT_BY_DEFAULT = ("readiness",)   # questionnaires whose respondents see their result unless turned off


@dataclass(frozen=True)
class Respondent:
    token: str
    engagement_id: str
    position: int
    label: str
    updated_at: str | None
    finished_at: str | None
    answered: int = 0


@dataclass(frozen=True)
class Engagement:
    id: str
    organisation: str
    questionnaire: str
    created_at: str
    closed_at: str | None
    audit_id: str | None
    respondents: tuple[Respondent, ...] = ()
    show_result: bool = False

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _label(label: str) -> str:
    label = check_name(label.strip() if isinstance(label, str) else label, "respondent", required=True)
    if len(label) > 200:
        raise StoreError("respondent name is longer than 200 characters")
    return label


def create(store: Store, organisation: str, questionnaire: str, respondents: list[str],
           show_result: bool | None = None) -> str:
    """A new engagement with one link per respondent; returns its id. ``show_result``: whether
    respondents see their own result when they finish (None: yes for the readiness screening)."""
    organisation = check_name(organisation.strip() if isinstance(organisation, str) else organisation,
                              "organisation", required=True)
    labels = [_label(r) for r in respondents]
    if len(labels) > MAX_RESPONDENTS:
        raise StoreError(f"at most {MAX_RESPONDENTS} respondents per engagement")
    if len(set(labels)) != len(labels):
        raise StoreError("two respondents have the same name; give each their own (name and role)")
    engagement_id = secrets.token_hex(6)
    now = _now()
    with db.writing(store.engine) as conn:
        conn.execute(engagements_t.insert(), {"id": engagement_id, "organisation": organisation,
                                              "questionnaire": questionnaire, "created_at": now,
                                              "show_result": (questionnaire in RESULT_BY_DEFAULT
                                                              if show_result is None else bool(show_result))})
        for position, label in enumerate(labels, start=1):
            conn.execute(respondents_t.insert(), {"token": new_token(), "engagement_id": engagement_id,
                                                  "position": position, "label": label})
    return engagement_id


def add_respondent(store: Store, engagement_id: str, label: str) -> str:
    label = _label(label)
    with db.writing(store.engine) as conn:
        found = get(store, engagement_id, conn)
        if found is None or found.closed:
            raise StoreError("no open engagement with that id")
        if any(r.label == label for r in found.respondents):
            raise StoreError(f"respondent '{label}' is already in this engagement")
        token = new_token()
        conn.execute(respondents_t.insert(), {"token": token, "engagement_id": engagement_id,
                                              "position": len(found.respondents) + 1, "label": label})
    return token


def _engagement(row, respondents=()) -> Engagement:
    return Engagement(id=row.id, organisation=row.organisation, questionnaire=row.questionnaire,
                      created_at=row.created_at, closed_at=row.closed_at, audit_id=row.audit_id,
                      respondents=tuple(respondents), show_result=bool(row.show_result))


def _respondents(conn, engagement_id: str) -> list[Respondent]:
    counts = (sa.select(answers_t.c.token, sa.func.count().label("n")).where(answers_t.c.value != "null")
              .group_by(answers_t.c.token).subquery())
    rows = conn.execute(sa.select(respondents_t, counts.c.n).select_from(
        respondents_t.outerjoin(counts, counts.c.token == respondents_t.c.token))
        .where(respondents_t.c.engagement_id == engagement_id).order_by(respondents_t.c.position)).all()
    return [Respondent(token=r.token, engagement_id=r.engagement_id, position=r.position, label=r.label,
                       updated_at=r.updated_at, finished_at=r.finished_at, answered=r.n or 0) for r in rows]


def get(store: Store, engagement_id: str, conn=None) -> Engagement | None:
    """One engagement with its respondents, or None."""
    if not isinstance(engagement_id, str) or len(engagement_id) > 32:
        return None

    def read(c):
        row = c.execute(sa.select(engagements_t).where(engagements_t.c.id == engagement_id)).first()
        return None if row is None else _engagement(row, _respondents(c, engagement_id))

    if conn is not None:
        return read(conn)
    with store.engine.connect() as c:
        return read(c)


def all_engagements(store: Store) -> list[Engagement]:
    """Every engagement, newest first, with its respondents."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(engagements_t).order_by(engagements_t.c.created_at.desc(),
                                                              engagements_t.c.id)).all()
        return [_engagement(r, _respondents(conn, r.id)) for r in rows]


def respondent(store: Store, token: str) -> tuple[Engagement, Respondent] | None:
    """The engagement and respondent of a link's token, or None (unknown token). One query;
    the engagement comes without its other respondents (every page a respondent opens asks)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(respondents_t, *[c.label(f"e_{c.name}") for c in engagements_t.c])
                           .join(engagements_t, engagements_t.c.id == respondents_t.c.engagement_id)
                           .where(respondents_t.c.token == token)).first()
    if row is None:
        return None
    engagement = Engagement(id=row.e_id, organisation=row.e_organisation, questionnaire=row.e_questionnaire,
                            created_at=row.e_created_at, closed_at=row.e_closed_at, audit_id=row.e_audit_id,
                            show_result=bool(row.e_show_result))
    return engagement, Respondent(token=row.token, engagement_id=row.engagement_id, position=row.position,
                                  label=row.label, updated_at=row.updated_at, finished_at=row.finished_at)


def answers(store: Store, token: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A respondent's answers (canonical values) and notes, by question id."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(answers_t).where(answers_t.c.token == token)).all()
    values = {r.question: orjson.loads(r.value) for r in rows}
    return ({qid: v for qid, v in values.items() if v is not None},
            {r.question: r.note for r in rows if r.note})


def save_answers(store: Store, token: str, given: Mapping[str, Any], notes: Mapping[str, str | None],
                 finished: bool = False) -> None:
    """Save a page of answers (None removes one; a note is kept even without an answer) in one
    transaction; refused once closed."""
    now = _now()
    with db.writing(store.engine) as conn:
        closed = conn.execute(sa.select(engagements_t.c.closed_at)
                              .join(respondents_t, respondents_t.c.engagement_id == engagements_t.c.id)
                              .where(respondents_t.c.token == token)).first()
        if closed is None or closed.closed_at is not None:
            raise StoreError("this questionnaire is closed")
        changed = sorted(set(given) | set(notes))
        if changed:
            conn.execute(answers_t.delete().where(answers_t.c.token == token, answers_t.c.question.in_(changed)))
            rows = [{"token": token, "question": qid, "value": orjson.dumps(given.get(qid)).decode(),
                     "note": notes.get(qid) or None, "updated_at": now}
                    for qid in changed if given.get(qid) is not None or notes.get(qid)]   # a note alone is kept too
            if rows:
                conn.execute(answers_t.insert(), rows)
        changes = {"updated_at": now}
        if finished:
            changes["finished_at"] = now
        conn.execute(respondents_t.update().where(respondents_t.c.token == token).values(**changes))


def set_show_result(store: Store, engagement_id: str, show: bool) -> None:
    """Whether the respondents of an engagement see their own result when they finish."""
    with db.writing(store.engine) as conn:
        conn.execute(engagements_t.update().where(engagements_t.c.id == engagement_id)
                     .values(show_result=bool(show)))


def close(store: Store, engagement_id: str, audit_id: str | None) -> bool:
    """Close an engagement: its links stop working; the audit saved from it is recorded.
    Returns whether this call closed it (False: it was closed already)."""
    with db.writing(store.engine) as conn:
        return _close(conn, engagement_id, audit_id)


def _close(conn, engagement_id: str, audit_id: str | None) -> bool:
    # the condition on closed_at makes two closes at once close once: SQLite's write lock
    # orders them; on PostgreSQL the second waits for the row and finds it closed
    done = conn.execute(engagements_t.update().where(engagements_t.c.id == engagement_id,
                                                     engagements_t.c.closed_at.is_(None))
                        .values(closed_at=_now(), audit_id=audit_id))
    return done.rowcount == 1


def close_with_audit(store: Store, engagement_id: str, result: Mapping[str, Any] | None,
                     sources: list[Source], **details) -> tuple[str | None, bool]:
    """Close an engagement and save its combined result in the history, in one transaction.
    Returns (the engagement's audit id, whether this call closed it): a second close, even one
    sent at the same moment (a double click, another worker), saves nothing."""
    with db.writing(store.engine) as conn:
        # the engagement's row locked first (SQLite: the write lock BEGIN IMMEDIATE took; on
        # PostgreSQL a second close waits here for the first to commit, then sees it closed)
        query = sa.select(engagements_t.c.closed_at, engagements_t.c.audit_id).where(
            engagements_t.c.id == engagement_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise StoreError("no engagement with that id")
        if row.closed_at is not None:
            return row.audit_id, False
        audit_id = store.save_in(conn, result, sources, **details) if result is not None else None
        _close(conn, engagement_id, audit_id)
    return audit_id, True


# --------------------------------------------------------------------------- secrets


@dataclass(frozen=True)
class WebSecrets:
    secret: bytes          # the HMAC key of the forms' CSRF tokens
    admin_token: str       # the consultant's token (``/admin?token=...``)


def web_secrets(store: Store, new_admin_token: bool = False) -> WebSecrets:
    """The signing secret and admin token kept in the store, made on first use (and the admin
    token made anew with ``new_admin_token``), so that every restart and every worker process
    of ``serve`` shares them."""
    for attempt in range(3):
        try:
            with db.writing(store.engine) as conn:
                if conn.dialect.name == "postgresql":   # one process makes them; the others read them
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72451402)")
                rows = dict(conn.execute(sa.select(settings_t.c.name, settings_t.c.value)).all())
                now = _now()
                if "secret" not in rows:
                    rows["secret"] = secrets.token_hex(SECRET_BYTES)
                    conn.execute(settings_t.insert(), {"name": "secret", "value": rows["secret"], "updated_at": now})
                if "admin_token" not in rows or new_admin_token:
                    rows["admin_token"] = secrets.token_urlsafe(TOKEN_BYTES)
                    conn.execute(settings_t.delete().where(settings_t.c.name == "admin_token"))
                    conn.execute(settings_t.insert(), {"name": "admin_token", "value": rows["admin_token"],
                                                       "updated_at": now})
            _keep_private(store)
            return WebSecrets(secret=bytes.fromhex(rows["secret"]), admin_token=rows["admin_token"])
        except sa.exc.IntegrityError:       # pragma: no cover - another process made them first
            if attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _keep_private(store: Store) -> None:
    """A SQLite file that holds the secrets (and the answers) is readable by its owner only."""
    import os
    import stat
    if store.engine.dialect.name != "sqlite" or not store.engine.url.database:
        return
    for suffix in ("", "-wal", "-shm"):
        path = store.engine.url.database + suffix
        try:
            info = os.stat(path)
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and info.st_mode & 0o077:
                os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
        except OSError:
            pass


def read_web_secrets(store: Store) -> WebSecrets | None:
    """The secrets as kept (None before ``serve`` first made them); never writes."""
    with store.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(settings_t.c.name, settings_t.c.value)).all())
    if "secret" not in rows or "admin_token" not in rows:
        return None
    return WebSecrets(secret=bytes.fromhex(rows["secret"]), admin_token=rows["admin_token"])
