"""The web questionnaire: respondents answer in a browser, the consultant follows and reports.

A Starlette application rendered on the server with Jinja2 (autoescaped); plain HTML forms
that work without JavaScript. Respondents reach only their own questionnaire, through a
secret link ``/r/TOKEN``; consultant pages (``/admin``) need the admin token printed at
start-up (opening ``/admin?token=...`` once sets an HttpOnly, SameSite=Strict cookie).

Security: every form carries a CSRF token (an HMAC of the page's scope under a secret made
at start-up) and cross-origin posts are refused; every response carries a
Content-Security-Policy that allows no script at all; request bodies are limited in size;
unknown or expired tokens get a plain 404. Answers go to the assessment store
(:mod:`kam_advisor.store.engagements`): one row per answer, saved on every submit.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kam_advisor.answers import loader
from kam_advisor.answers.check import answer_hint, coerce_answer, visible_questions
from kam_advisor.answers.files import AnswerFile
from kam_advisor.answers.questionnaire import Question, Questionnaire
from kam_advisor.data.errors import DataError
from kam_advisor.data.vocab import SPECIAL, STATUSES, TITLES
from kam_advisor.store import Store, save_assessment
from kam_advisor.store import engagements as eng
from kam_advisor.store.audits import Source

HERE = Path(__file__).parent
MAX_BODY_BYTES = 256 * 1024            # a full-audit section with notes is a few KB
MAX_FORM_FIELDS = 2000
MAX_NOTE_CHARS = 4000
ADMIN_COOKIE = "kam_admin"
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# the report is one self-contained page with inline CSS and SVG
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"


@dataclass
class Settings:
    store: Store
    admin_token: str
    secret: bytes
    kb_dir: str | None = None
    rules_dir: str | None = None
    # Host headers answered: this machine's names unless shared (a DNS-rebinding page cannot
    # then reach the server under its own name)
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]", "::1")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["TITLES"] = TITLES
    return env


# --------------------------------------------------------------------------- middleware


class LimitBody:
    """Refuses request bodies over ``limit`` bytes (413), declared or streamed."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await _plain(413, "Request too large")(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _plain(413, "Request too large")(scope, receive, send)


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """CSP (no script), no referrer (links hold tokens), no framing, no caching of pages."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                given = dict(message.get("headers", []))
                csp = given.get(b"content-security-policy", PAGE_CSP.encode())
                headers += [(b"content-security-policy", csp), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY"),
                            (b"cache-control", b"no-store")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _plain(status: int, title: str, text: str = "") -> HTMLResponse:
    body = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>{text}</p></body></html>")
    return HTMLResponse(body, status_code=status)


def not_found() -> HTMLResponse:
    return _plain(404, "Not found", "This link is not valid, or the questionnaire has been closed.")


# --------------------------------------------------------------------------- answers in forms


def field_kind(question: Question) -> str:
    if question.type in ("status", "yes_no", "single_choice", "scale"):
        return "radio"
    return {"multi_choice": "checkbox", "number": "number", "text": "text"}[question.type]


def options(question: Question) -> list[tuple[str, str]]:
    """(value, label) of the radio buttons or check boxes of a question, specials last."""
    kind = question.type
    if kind == "status":
        values = [(s, TITLES[s]) for s in STATUSES if s not in SPECIAL]
    elif kind == "yes_no":
        values = [("yes", "Yes"), ("no", "No")]
    elif kind in ("single_choice", "multi_choice"):
        values = [(c.value, c.label) for c in question.choices]
    elif kind == "scale":
        values = [(str(n), f"{n}" + (f" – {question.labels[n]}" if n in question.labels else ""))
                  for n in range(question.scale_min, question.scale_max + 1)]
    else:
        values = []
    return values


def specials(question: Question) -> list[tuple[str, str]]:
    return [(s, TITLES[s]) for s in ("dont_know", "na") if question.offers(s)]


def read_field(question: Question, form) -> tuple[Any, str | None, Any]:
    """(canonical answer or None, error or None, what was entered) for one question of a form."""
    name = f"a:{question.id}"
    special = form.get(f"s:{question.id}") or ""
    if question.type == "multi_choice":
        entered: Any = form.getlist(name)
        raw: Any = [v for v in entered if v != "__none__"] if entered else None
    else:
        entered = (form.get(name) or "").strip()
        raw = entered or None
    if special in SPECIAL:
        raw = special
    if raw is None:
        return None, None, entered
    try:
        return coerce_answer(question, raw), None, entered
    except ValueError as exc:
        return None, str(exc), entered


def shown_value(question: Question, value: Any) -> str:
    if value is None:
        return "not answered"
    if value in SPECIAL:
        return TITLES[value]
    if question.type == "status":
        return TITLES.get(value, value)
    if question.type in ("single_choice", "multi_choice"):
        labels = {c.value: c.label for c in question.choices}
        return ", ".join(labels[v] for v in value) or "none" if isinstance(value, list) else labels.get(value, value)
    if question.type == "number" and question.unit:
        return f"{value} {question.unit}"
    return str(value)


# --------------------------------------------------------------------------- the application


def create_app(settings: Settings) -> Starlette:
    env = _environment()
    questionnaires: dict[str, Questionnaire] = {}

    def questionnaire(qid: str) -> Questionnaire:
        if qid not in questionnaires:
            questionnaires[qid] = loader.load(qid)
        return questionnaires[qid]

    def csrf(scope: str) -> str:
        return hmac.new(settings.secret, f"csrf:{scope}".encode(), hashlib.sha256).hexdigest()

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    async def form_of(request: Request, scope: str):
        """The posted form, or None when it fails the CSRF or same-origin check."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
            return None
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        if not hmac.compare_digest(str(form.get("csrf") or ""), csrf(scope)):
            return None
        return form

    def forbidden() -> HTMLResponse:
        return _plain(403, "Form expired", "Reload the page and send the form again.")

    # ---- respondents

    def respondent_of(request: Request):
        found = eng.respondent(settings.store, request.path_params["token"])
        if found is None or found[0].closed:
            return None
        return found

    def sections_shown(q: Questionnaire, answers: dict) -> list[tuple[Any, list[Question]]]:
        shown = {x.id for x in visible_questions(q, answers)}
        out = []
        for section in q.sections:
            questions = [q.questions[qid] for qid in section.questions if qid in shown]
            if questions:
                out.append((section, questions))
        return out

    def progress(q: Questionnaire, answers: dict) -> dict:
        shown = visible_questions(q, answers)
        answered = sum(1 for x in shown if answers.get(x.id) is not None)
        return {"answered": answered, "total": len(shown)}

    def resume_target(token: str, q: Questionnaire, answers: dict) -> str:
        for section, questions in sections_shown(q, answers):
            if any(answers.get(x.id) is None for x in questions):
                return f"/r/{token}/s/{section.id}"
        return f"/r/{token}/review"

    async def start(request: Request):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        q = questionnaire(engagement.questionnaire)
        answers, _ = eng.answers(settings.store, person.token)
        return page("start.html.j2", q=q, engagement=engagement, person=person, progress=progress(q, answers),
                    next_url=resume_target(person.token, q, answers), started=bool(answers))

    async def section_page(request: Request):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        q = questionnaire(engagement.questionnaire)
        answers, notes = eng.answers(settings.store, person.token)
        shown = sections_shown(q, answers)
        ids = [s.id for s, _ in shown]
        section_id = request.path_params["section"]
        if section_id not in ids:
            return not_found()
        errors: dict[str, str] = {}
        entered: dict[str, Any] = {}
        if request.method == "POST":
            form = await form_of(request, f"r:{person.token}")
            if form is None:
                return forbidden()
            _, questions = shown[ids.index(section_id)]
            given, new_notes = {}, {}
            for question in questions:
                value, error, raw = read_field(question, form)
                note = (form.get(f"n:{question.id}") or "").strip()[:MAX_NOTE_CHARS]
                if error:
                    errors[question.id], entered[question.id] = error, raw
                    continue
                given[question.id] = value
                new_notes[question.id] = note or None
            eng.save_answers(settings.store, person.token, given, new_notes)
            answers, notes = eng.answers(settings.store, person.token)
            for qid, note in ((k, form.get(f"n:{k}")) for k in errors):
                if note:
                    notes[qid] = note
            if not errors:
                shown = sections_shown(q, answers)
                ids = [s.id for s, _ in shown]
                go = form.get("go")
                # a question that this page's answers have just revealed is asked on the same page
                here_questions = shown[ids.index(section_id)][1] if section_id in ids else []
                new_here = [x for x in here_questions if x.id not in given]
                if section_id in ids and new_here and go != "back":
                    return RedirectResponse(f"/r/{person.token}/s/{section_id}", status_code=303)
                position = ids.index(section_id) if section_id in ids else 0
                if go == "back":
                    target = f"/r/{person.token}/s/{ids[position - 1]}" if position > 0 else f"/r/{person.token}"
                elif go == "next":
                    target = (f"/r/{person.token}/s/{ids[position + 1]}" if position + 1 < len(ids)
                              else f"/r/{person.token}/review")
                else:
                    target = f"/r/{person.token}/s/{section_id}"
                return RedirectResponse(target, status_code=303)
        position = ids.index(section_id)
        section, questions = shown[position]
        return page("section.html.j2", status=400 if errors else 200, q=q, engagement=engagement, person=person,
                    section=section, questions=questions, answers=answers, notes=notes, errors=errors,
                    entered=entered, number=position + 1, count=len(ids), progress=progress(q, answers),
                    csrf=csrf(f"r:{person.token}"), field_kind=field_kind, options=options, specials=specials,
                    hint=answer_hint, last=position + 1 == len(ids))

    async def review(request: Request):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        q = questionnaire(engagement.questionnaire)
        if request.method == "POST":
            form = await form_of(request, f"r:{person.token}")
            if form is None:
                return forbidden()
            eng.save_answers(settings.store, person.token, {}, {}, finished=True)
            return RedirectResponse(f"/r/{person.token}/review", status_code=303)
        answers, notes = eng.answers(settings.store, person.token)
        return page("review.html.j2", q=q, engagement=engagement, person=person, sections=sections_shown(q, answers),
                    answers=answers, notes=notes, progress=progress(q, answers), shown_value=shown_value,
                    csrf=csrf(f"r:{person.token}"))

    # ---- the consultant

    def is_admin(request: Request) -> bool:
        cookie = request.cookies.get(ADMIN_COOKIE) or ""
        return hmac.compare_digest(cookie.encode(), settings.admin_token.encode())

    def combined(engagement) -> tuple[dict | None, list[AnswerFile], str | None]:
        """The combined assessment of every respondent who answered (None without answers)."""
        from kam_advisor.results.assessment import assess_answers
        files = []
        dates = []
        for person in engagement.respondents:
            answers, notes = eng.answers(settings.store, person.token)
            if not answers:
                continue
            if person.updated_at:
                dates.append(person.updated_at[:10])
            files.append(AnswerFile(path=f"respondent-{person.position}", questionnaire=engagement.questionnaire,
                                    answers=answers, notes=notes, facts={}, respondent=person.label,
                                    organisation=engagement.organisation,
                                    date=max(dates) if dates else None))
        if not files:
            return None, [], None
        try:
            return assess_answers(files, kb_dir=settings.kb_dir, rules_dir=settings.rules_dir), files, None
        except DataError as err:
            return None, files, err.format()

    async def admin(request: Request):
        token = request.query_params.get("token")
        if token is not None:
            if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
                return not_found()
            response = RedirectResponse("/admin", status_code=303)
            response.set_cookie(ADMIN_COOKIE, token, httponly=True, samesite="strict", path="/")
            return response
        if not is_admin(request):
            return not_found()
        error = None
        if request.method == "POST":
            form = await form_of(request, "admin")
            if form is None:
                return forbidden()
            names = [line.strip() for line in str(form.get("respondents") or "").splitlines() if line.strip()]
            qid = str(form.get("questionnaire") or "")
            if qid not in loader.names():
                error = "Choose a questionnaire."
            elif not names:
                error = "Name at least one respondent (one per line)."
            else:
                try:
                    new_id = eng.create(settings.store, str(form.get("organisation") or ""), qid, names)
                except DataError as err:
                    error = err.message
                else:
                    return RedirectResponse(f"/admin/e/{new_id}", status_code=303)
        return page("admin.html.j2", status=400 if error else 200, engagements=eng.all_engagements(settings.store),
                    questionnaires=[questionnaire(n) for n in loader.names()], error=error, csrf=csrf("admin"))

    async def engagement_page(request: Request):
        if not is_admin(request):
            return not_found()
        engagement = eng.get(settings.store, request.path_params["eid"])
        if engagement is None:
            return not_found()
        error = None
        if request.method == "POST":
            form = await form_of(request, "admin")
            if form is None:
                return forbidden()
            action = form.get("action")
            try:
                if action == "add":
                    eng.add_respondent(settings.store, engagement.id, str(form.get("label") or ""))
                elif action == "close" and not engagement.closed:
                    result, files, problem = await run_in_threadpool(combined, engagement)
                    audit_id = None
                    if result is not None:
                        sources = [Source(questionnaire=af.questionnaire, answers=dict(af.answers),
                                          notes=dict(af.notes), respondent=af.respondent, file=af.path)
                                   for af in files]
                        audit_id = save_assessment(settings.store, result, sources,
                                                   organisation=engagement.organisation,
                                                   date=result.get("date") or _dt.date.today().isoformat())
                    eng.close(settings.store, engagement.id, audit_id)
            except DataError as err:
                error = err.message
            if error is None:
                return RedirectResponse(f"/admin/e/{engagement.id}", status_code=303)
            engagement = eng.get(settings.store, engagement.id)
        q = questionnaire(engagement.questionnaire)
        result, _, problem = await run_in_threadpool(combined, engagement)
        people = []
        for person in engagement.respondents:
            answers, _ = eng.answers(settings.store, person.token)
            people.append({"person": person, "progress": progress(q, answers),
                           "link": f"{str(request.base_url).rstrip('/')}/r/{person.token}"})
        history = [a for a in settings.store.audits(engagement.organisation)]
        return page("engagement.html.j2", status=400 if error else 200, engagement=engagement, q=q, people=people,
                    result=result, problem=problem, error=error, history=history, csrf=csrf("admin"))

    async def report_page(request: Request):
        if not is_admin(request):
            return not_found()
        engagement = eng.get(settings.store, request.path_params["eid"])
        fmt = request.path_params["fmt"]
        if engagement is None or fmt not in ("html", "pdf"):
            return not_found()
        result, _, problem = await run_in_threadpool(combined, engagement)
        if result is None:
            return _plain(409, "No report yet", problem or "Nobody has answered yet.")
        from kam_advisor.render import report
        from kam_advisor.store.progress import report_progress
        history = await run_in_threadpool(report_progress, settings.store, engagement.organisation, result,
                                          None, engagement.audit_id, False)   # the engagement knows its own audit
        if fmt == "html":
            return HTMLResponse(report.render(result, "html", progress=history),
                                headers={"content-security-policy": REPORT_CSP})
        from kam_advisor.render.pdf import render_pdf
        try:
            data = await run_in_threadpool(lambda: render_pdf(result, progress=history))
        except DataError as err:
            return _plain(503, "No PDF", err.message)
        return Response(data, media_type="application/pdf",
                        headers={"content-disposition": f'attachment; filename="report-{engagement.id}.pdf"'})

    async def compare_page(request: Request):
        """What changed since the organisation's last saved audit (the history's comparison view)."""
        if not is_admin(request):
            return not_found()
        engagement = eng.get(settings.store, request.path_params["eid"])
        if engagement is None:
            return not_found()
        earlier = [a for a in settings.store.audits(engagement.organisation) if a.id != engagement.audit_id]
        result, _, problem = await run_in_threadpool(combined, engagement)
        if result is None or not earlier:
            return _plain(409, "Nothing to compare", problem or "It needs answers and an earlier audit of the "
                          "organisation in the history.")
        from kam_advisor.render import history
        from kam_advisor.results.compare import compare
        last = earlier[-1]
        old = settings.store.load(last.id).result
        doc = {"organisation": engagement.organisation, "unit": None,
               "stages": [{"id": st["id"], "name": st.get("name")} for st in result.get("stages") or []],
               "comparison": compare(old, result, {"id": last.id, "date": last.date, "unit": last.unit,
                                                   "assessor": last.assessor},
                                     {"id": None, "date": result.get("date"), "unit": None, "assessor": None}),
               "trend": None, "target": None, "units": None}
        return HTMLResponse(history.render_html(doc), headers={"content-security-policy": REPORT_CSP})

    async def home(request: Request):
        return _plain(200, "kam-advisor questionnaire",
                      "Open the link you were given to answer your questionnaire.")

    routes = [
        Route("/", home),
        Route("/r/{token}", start),
        Route("/r/{token}/s/{section}", section_page, methods=["GET", "POST"]),
        Route("/r/{token}/review", review, methods=["GET", "POST"]),
        Route("/admin", admin, methods=["GET", "POST"]),
        Route("/admin/e/{eid}", engagement_page, methods=["GET", "POST"]),
        Route("/admin/e/{eid}/report.{fmt:str}", report_page),
        Route("/admin/e/{eid}/compare", compare_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def on_404(request, exc):
        return not_found()

    app = Starlette(routes=routes, exception_handlers={404: on_404, 405: on_404})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(LimitBody)
    app.add_middleware(SecurityHeaders)
    return app


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)


def build(store: Store, admin_token: str | None = None, kb_dir=None, rules_dir=None,
          shared: bool = False) -> tuple[Starlette, str]:
    """The application and its admin token (a new random one unless given). ``shared``: it
    listens beyond this machine, so any Host name is answered."""
    token = admin_token or new_admin_token()
    settings = Settings(store=store, admin_token=token, secret=secrets.token_bytes(32), kb_dir=kb_dir,
                        rules_dir=rules_dir)
    if shared:
        settings.allowed_hosts = ("*",)
    return create_app(settings), token
