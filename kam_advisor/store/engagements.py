"""Engagements of the web questionnaire: an organisation, a questionnaire, a link per respondent.

A consultant opens an engagement; each respondent gets a secret token (192 random bits, the
last part of their link) and answers online; every answer is saved at once, one row per
question, so respondents answering at the same time never overwrite each other. Closing the
engagement freezes the answers (the links stop working) and records the audit saved in the
history. Names and answers reach the database only as bound parameters.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

import orjson
import sqlalchemy as sa

from kam_advisor.store import db
from kam_advisor.store.audits import Store, check_name
from kam_advisor.store.db import StoreError
from kam_advisor.store.schema import engagements as engagements_t, respondents as respondents_t, \
    web_answers as answers_t

TOKEN_BYTES = 24          # 192 bits; the issue asks for at least 128
MAX_RESPONDENTS = 200


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


def create(store: Store, organisation: str, questionnaire: str, respondents: list[str]) -> str:
    """A new engagement with one link per respondent; returns its id."""
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
                                              "questionnaire": questionnaire, "created_at": now})
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
                      respondents=tuple(respondents))


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
    """The engagement and respondent of a link's token, or None (unknown token)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(respondents_t).where(respondents_t.c.token == token)).first()
        if row is None:
            return None
        found = get(store, row.engagement_id, conn)
    return found, next(r for r in found.respondents if r.token == token)


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
        row = conn.execute(sa.select(respondents_t.c.engagement_id).where(respondents_t.c.token == token)).first()
        closed = row is not None and conn.execute(sa.select(engagements_t.c.closed_at).where(
            engagements_t.c.id == row.engagement_id)).scalar()
        if row is None or closed:
            raise StoreError("this questionnaire is closed")
        for qid in set(given) | set(notes):
            conn.execute(answers_t.delete().where(answers_t.c.token == token, answers_t.c.question == qid))
            value, note = given.get(qid), notes.get(qid)
            if value is not None or note:       # a note alone is kept too (value null)
                conn.execute(answers_t.insert(), {"token": token, "question": qid, "value": orjson.dumps(value).decode(),
                                                  "note": note or None, "updated_at": now})
        changes = {"updated_at": now}
        if finished:
            changes["finished_at"] = now
        conn.execute(respondents_t.update().where(respondents_t.c.token == token).values(**changes))


def close(store: Store, engagement_id: str, audit_id: str | None) -> None:
    """Close an engagement: its links stop working; the audit saved from it is recorded."""
    with db.writing(store.engine) as conn:
        conn.execute(engagements_t.update().where(engagements_t.c.id == engagement_id,
                                                  engagements_t.c.closed_at.is_(None))
                     .values(closed_at=_now(), audit_id=audit_id))
