"""The web questionnaire: respondents answer in a browser, the consultant follows and reports.

A Starlette application rendered on the server with Jinja2 (autoescaped); plain HTML forms
that work without JavaScript. Respondents reach only their own questionnaire, through a
secret link ``/r/TOKEN``; consultant pages (``/admin``) need the admin token (opening
``/admin?token=...`` once sets an HttpOnly, SameSite=Strict cookie).

Security: every form carries a CSRF token (an HMAC of the page's scope under a secret kept in
the store) and cross-origin posts are refused; every response carries a
Content-Security-Policy that allows no script at all; request bodies are limited in size;
unknown or expired tokens get a plain 404. Answers go to the assessment store
(:mod:`kam_advisor.store.engagements`): one row per answer, saved on every submit.

The signing secret and the admin token live in the store (:func:`engagements.web_secrets`),
so a restarted server and every worker process of ``serve --workers N`` accept the same
links and forms. Handlers read the posted form on the event loop and do the rest (database,
assessment, templates) in a worker thread, so one slow request never holds up the others.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from kam_advisor.answers import loader
from kam_advisor.answers.check import answer_hint, coerce_answer, format_number, question_range, visible_questions
from kam_advisor.answers.files import AnswerFile
from kam_advisor.answers.questionnaire import Question, Questionnaire
from kam_advisor.data.brand import Brand
from kam_advisor.data.errors import DataError
from kam_advisor.data.vocab import SPECIAL, STATUSES, TITLES
from kam_advisor.store import Store
from kam_advisor.store import engagements as eng
from kam_advisor.store.audits import Source
from kam_advisor.store.db import StoreError

HERE = Path(__file__).parent
MAX_BODY_BYTES = 256 * 1024            # a full-audit section with notes is a few KB
MAX_FORM_FIELDS = 2000
MAX_NOTE_CHARS = 4000
ADMIN_COOKIE = "kam_admin"
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
# the report is one self-contained page with inline CSS and SVG
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
PRIORITIES = 3                          # the respondent's result names this many first steps
EXPIRED = "This form had expired, so nothing was saved; check what you typed below and send it again."
# Chromium prints the PDFs: a few at a time per process, so a burst of downloads cannot
# start a browser per request on a small machine
_PDF_SLOTS = threading.BoundedSemaphore(2)


@dataclass
class Settings:
    store: Store
    admin_token: str
    secret: bytes
    kb_dir: str | None = None
    rules_dir: str | None = None
    # Host headers answered: this machine's names unless shared (a DNS-rebinding page cannot
    # then reach the server under its own name); a reverse proxy's public name is added
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]", "::1")
    brand: Brand | None = None            # the consulting firm's name, colour, logo and footer


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.globals["TITLES"] = TITLES
    env.filters["plural"] = plural
    env.filters["first_upper"] = lambda text: str(text)[:1].upper() + str(text)[1:]
    return env


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 question``, ``2 questions``: the count and the noun that agrees with it."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


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
    """A bare page, for answers given before the application's templates are reached."""
    body = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>{text}</p></body></html>")
    return HTMLResponse(body, status_code=status)


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


def read_field(question: Question, form) -> tuple[Any, str | None, dict]:
    """(canonical answer or None, error or None, what was entered as a field state) for one
    question of a form."""
    name = f"a:{question.id}"
    special = str(form.get(f"s:{question.id}") or "")
    entered = entered_state(question, form)
    if question.type == "multi_choice":
        picked = form.getlist(name)
        raw: Any = [v for v in picked if v != "__none__"] if picked else None
    else:
        raw = str(form.get(name) or "").strip() or None
    if special in SPECIAL:
        raw = special
    if raw is None:
        return None, None, entered
    try:
        return coerce_answer(question, raw), None, entered
    except ValueError as exc:
        return None, str(exc), entered


def entered_state(question: Question, form) -> dict:
    """What the form holds for a question, as the page shows it again (see :func:`field_state`)."""
    name = f"a:{question.id}"
    if question.type == "multi_choice":
        return {"value": "", "values": [str(v) for v in form.getlist(name)],
                "special": str(form.get(f"s:{question.id}") or "")}
    return {"value": str(form.get(name) or ""), "values": [], "special": str(form.get(f"s:{question.id}") or "")}


def field_state(question: Question, value: Any) -> dict:
    """How a canonical answer shows in the form: ``value`` (the radio button picked, or the text
    typed), ``values`` (the boxes ticked), ``special`` (don't know / not applicable ticked
    beside a number, text or list)."""
    state = {"value": "", "values": [], "special": ""}
    if value is None:
        return state
    if value in SPECIAL:
        state["value" if field_kind(question) == "radio" else "special"] = value
    elif question.type == "multi_choice":
        state["values"] = list(value) if value else ["__none__"]
    elif question.type == "number":
        state["value"] = format_number(value)
    else:
        state["value"] = str(value)
    return state


def shown_value(question: Question, value: Any) -> str:
    """An answer in the words of the form's labels (Yes, Done, 3 – often, …)."""
    if value is None:
        return "not answered"
    if value in SPECIAL:
        return TITLES[value]
    if question.type in ("status", "yes_no", "scale", "single_choice"):
        labels = dict(options(question))
        return labels.get(str(value), str(value))
    if question.type == "multi_choice":
        labels = dict(options(question))
        return ", ".join(labels.get(v, v) for v in value) or "None of these"
    if question.type == "number":
        return format_number(value) + (f" {question.unit}" if question.unit else "")
    return str(value)


def progress(q: Questionnaire, answers: dict) -> dict:
    """The questions asked given the answers so far (the count every page shows) and how many
    are answered."""
    shown = visible_questions(q, answers)
    answered = sum(1 for x in shown if answers.get(x.id) is not None)
    return {"answered": answered, "total": len(shown), "at_most": len(q)}


def respondent_file(engagement, person, answers: dict, notes: dict) -> AnswerFile:
    return AnswerFile(path=f"respondent-{person.position}", questionnaire=engagement.questionnaire,
                      answers=answers, notes=notes, facts={}, respondent=person.label,
                      organisation=engagement.organisation,
                      date=person.updated_at[:10] if person.updated_at else None)


def invitation(engagement, q: Questionnaire, label: str, link: str) -> str:
    """A ``mailto:`` link whose subject and text invite one respondent (no address: the
    consultant picks it in their own mail program)."""
    asked, at_most = question_range(q)
    count = plural(asked, "question") + (f" (up to {at_most} depending on the answers)" if at_most > asked else "")
    body = (f"Dear {label},\n\n"
            f"{engagement.organisation} is taking stock of how it manages its key customers. Please answer "
            f"the {q.title} ({count}, about {q.minutes} minutes) at this personal link:\n\n{link}\n\n"
            "Your answers are saved page by page: you can close the page and open the link again later to "
            "go on. The link is yours alone; please do not pass it on.\n")
    query = urllib.parse.urlencode({"subject": f"{q.title}: {engagement.organisation}", "body": body},
                                   quote_via=urllib.parse.quote)
    return f"mailto:?{query}"


# --------------------------------------------------------------------------- the application


def create_app(settings: Settings) -> Starlette:
    env = _environment()
    env.globals["brand"] = settings.brand
    store = settings.store
    questionnaires: dict[str, Questionnaire] = {}
    lock = threading.Lock()

    def questionnaire(qid: str) -> Questionnaire:
        with lock:
            if qid not in questionnaires:
                questionnaires[qid] = loader.load(qid)
            return questionnaires[qid]

    def csrf(scope: str) -> str:
        return hmac.new(settings.secret, f"csrf:{scope}".encode(), hashlib.sha256).hexdigest()

    def page(name: str, status: int = 200, **context) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def message(status: int, title: str, text: str, link: tuple[str, str] | None = None) -> HTMLResponse:
        return page("message.html.j2", status=status, title=title, text=text, link=link)

    def not_found() -> HTMLResponse:
        return message(404, "Not found", "This link is not valid, or the questionnaire has been closed. "
                       "If you were sent a link, check that it was copied whole.")

    def forbidden(back: str | None = None) -> HTMLResponse:
        return message(403, "Form expired", "This form was sent from a page that has expired or from another "
                       "site, so nothing was saved. Open the page again and send the form once more.",
                       (back, "Open the page again") if back else None)

    def form_ok(request: Request, form, scope: str) -> bool:
        """The same-origin and CSRF checks of a posted form."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != str(request.base_url).rstrip("/"):
            return False
        return hmac.compare_digest(str(form.get("csrf") or ""), csrf(scope))

    # ---- respondents

    def respondent_of(request: Request):
        found = eng.respondent(store, request.path_params["token"])
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

    def resume_target(token: str, q: Questionnaire, answers: dict) -> str:
        for section, questions in sections_shown(q, answers):
            if any(answers.get(x.id) is None for x in questions):
                return f"/r/{token}/s/{section.id}"
        return f"/r/{token}/review"

    def start(request: Request, form):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        q = questionnaire(engagement.questionnaire)
        answers, _ = eng.answers(store, person.token)
        return page("start.html.j2", q=q, engagement=engagement, person=person, progress=progress(q, answers),
                    asked=question_range(q), next_url=resume_target(person.token, q, answers),
                    started=bool(answers))

    def section_page(request: Request, form):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        token = person.token
        q = questionnaire(engagement.questionnaire)
        answers, notes = eng.answers(store, token)
        shown = sections_shown(q, answers)
        ids = [s.id for s, _ in shown]
        section_id = request.path_params["section"]
        if section_id not in ids:
            return not_found()
        errors: dict[str, str] = {}
        entered: dict[str, dict] = {}
        status, expired = 200, False
        if form is not None:
            _, questions = shown[ids.index(section_id)]
            if not form_ok(request, form, f"r:{token}"):
                # an expired or foreign form saves nothing; what was typed is shown again to send
                expired, status = True, 403
                for question in questions:
                    entered[question.id] = entered_state(question, form)
                    typed = str(form.get(f"n:{question.id}") or "").strip()[:MAX_NOTE_CHARS]
                    if typed:
                        notes[question.id] = typed
            else:
                given, new_notes = {}, {}
                for question in questions:
                    value, error, raw = read_field(question, form)
                    note = str(form.get(f"n:{question.id}") or "").strip()[:MAX_NOTE_CHARS]
                    if error:
                        errors[question.id], entered[question.id] = error, raw
                        continue
                    given[question.id] = value
                    new_notes[question.id] = note or None
                try:
                    eng.save_answers(store, token, given, new_notes)
                except StoreError:          # closed between the page and the post
                    return not_found()
                answers, notes = eng.answers(store, token)
                for qid in errors:
                    typed = str(form.get(f"n:{qid}") or "").strip()[:MAX_NOTE_CHARS]
                    if typed:
                        notes[qid] = typed
                if errors:
                    status = 400
                else:
                    return RedirectResponse(after_save(token, q, answers, section_id, given, form.get("go")),
                                            status_code=303)
        shown = sections_shown(q, answers)
        ids = [s.id for s, _ in shown]
        if section_id not in ids:       # pragma: no cover - the page's own answers hid it
            return RedirectResponse(resume_target(token, q, answers), status_code=303)
        position = ids.index(section_id)
        section, questions = shown[position]
        wanted = set(request.query_params.get("revealed", "").split(",")[:200])
        revealed = [x.id for x in questions if x.id in wanted and answers.get(x.id) is None]
        states = {x.id: entered.get(x.id) or field_state(x, answers.get(x.id)) for x in questions}
        return page("section.html.j2", status=status, q=q, engagement=engagement, person=person,
                    section=section, questions=questions, states=states, notes=notes, errors=errors,
                    revealed=revealed, expired=expired, number=position + 1, count=len(ids),
                    progress=progress(q, answers), csrf=csrf(f"r:{token}"), field_kind=field_kind,
                    options=options, specials=specials, hint=answer_hint, last=position + 1 == len(ids))

    def after_save(token: str, q: Questionnaire, answers: dict, section_id: str, given: dict, go) -> str:
        """Where a saved page goes: back, on, or the same page when its answers revealed questions
        there (the page says how many and opens at the first)."""
        shown = sections_shown(q, answers)
        ids = [s.id for s, _ in shown]
        if section_id in ids and go != "back":
            here = shown[ids.index(section_id)][1]
            new_here = [x for x in here if x.id not in given]
            if new_here:
                first = here.index(new_here[0]) + 1
                return (f"/r/{token}/s/{section_id}?revealed={','.join(x.id for x in new_here)}#q-{first}")
        position = ids.index(section_id) if section_id in ids else 0
        if go == "back":
            return f"/r/{token}/s/{ids[position - 1]}" if position > 0 else f"/r/{token}"
        if go == "next":
            return f"/r/{token}/s/{ids[position + 1]}" if position + 1 < len(ids) else f"/r/{token}/review"
        return f"/r/{token}/s/{section_id}"

    def review(request: Request, form):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        q = questionnaire(engagement.questionnaire)
        if form is not None:
            if not form_ok(request, form, f"r:{person.token}"):
                return forbidden(f"/r/{person.token}/review")
            try:
                eng.save_answers(store, person.token, {}, {}, finished=True)
            except StoreError:
                return not_found()
            target = "result" if engagement.show_result else "review"
            return RedirectResponse(f"/r/{person.token}/{target}", status_code=303)
        answers, notes = eng.answers(store, person.token)
        return page("review.html.j2", q=q, engagement=engagement, person=person, sections=sections_shown(q, answers),
                    answers=answers, notes=notes, progress=progress(q, answers), shown_value=shown_value,
                    csrf=csrf(f"r:{person.token}"))

    def own_result(engagement, person) -> tuple[dict | None, str | None]:
        """The respondent's own answers assessed (their indicative stage, not the combined one)."""
        from kam_advisor.results.assessment import assess_answers
        answers, notes = eng.answers(store, person.token)
        if not answers:
            return None, None
        try:
            return assess_answers([respondent_file(engagement, person, answers, notes)], kb_dir=settings.kb_dir,
                                  rules_dir=settings.rules_dir), None
        except DataError as err:
            return None, err.message

    def result_view(engagement, person) -> dict | None:
        from kam_advisor.render.report import build_view
        result, problem = own_result(engagement, person)
        if result is None:
            return {"problem": problem} if problem else None
        view = build_view(result, org=engagement.organisation)
        summary = view["summary"]
        blocks = [b for b in (summary["achieved_stage"], summary["current_stage"]) if b]
        in_place = [h for b in blocks for h in b["in_place"]] + [h for b in blocks[:1] for h in b["beyond"]]
        under_way = [h for b in blocks for h in b["under_way"]]
        return {"view": view, "in_place": list(dict.fromkeys(in_place)), "under_way": list(dict.fromkeys(under_way)),
                "priorities": view["summary_actions"][:PRIORITIES], "flags": view["summary_flags"],
                "screening": summary["screening"], "not_shown": summary["not_assessed"], "problem": None}

    def result_page(request: Request, form, pdf: bool = False):
        found = respondent_of(request)
        if found is None:
            return not_found()
        engagement, person = found
        if not engagement.show_result:
            return not_found()
        if not person.finished_at:
            return RedirectResponse(f"/r/{person.token}/review", status_code=303)
        q = questionnaire(engagement.questionnaire)
        shown = result_view(engagement, person)
        context = dict(q=q, engagement=engagement, person=person, r=shown, pdf=pdf)
        if not pdf:
            return page("result.html.j2", **context)
        if shown is None or shown.get("problem"):
            return not_found()
        from kam_advisor.render.pdf import footer_html, html_to_pdf
        css = (HERE / "static" / "app.css").read_text(encoding="utf-8")
        html = env.get_template("result.html.j2").render(inline_css=css, **context)
        try:
            with _PDF_SLOTS:
                more = (settings.brand.firm, settings.brand.footer) if settings.brand else ()
                data = html_to_pdf(html, footer_html(engagement.organisation, (person.finished_at or "")[:10], *more))
        except DataError as err:
            return message(503, "No PDF", err.message)
        return Response(data, media_type="application/pdf",
                        headers={"content-disposition": 'attachment; filename="kam-result.pdf"'})

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
            answers, notes = eng.answers(store, person.token)
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

    def admin(request: Request, form):
        token = request.query_params.get("token")
        if token is not None:
            if not hmac.compare_digest(token.encode(), settings.admin_token.encode()):
                return not_found()
            response = RedirectResponse("/admin", status_code=303)
            response.set_cookie(ADMIN_COOKIE, token, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
            return response
        if not is_admin(request):
            return not_found()
        error, status = None, 400
        if form is not None:
            names = [line.strip() for line in str(form.get("respondents") or "").splitlines() if line.strip()]
            qid = str(form.get("questionnaire") or "")
            if not form_ok(request, form, "admin"):      # nothing saved; what was typed comes back
                error, status = EXPIRED, 403
            elif qid not in loader.names():
                error = "Choose a questionnaire."
            elif not names:
                error = "Name at least one respondent (one per line)."
            else:
                try:
                    new_id = eng.create(store, str(form.get("organisation") or ""), qid, names)
                except DataError as err:
                    error = err.message
                else:
                    return RedirectResponse(f"/admin/e/{new_id}", status_code=303)
        listed = [questionnaire(n) for n in loader.names()]
        return page("admin.html.j2", status=status if error else 200, engagements=eng.all_engagements(store),
                    questionnaires=listed, ranges={x.id: question_range(x) for x in listed},
                    titles={x.id: x.title for x in listed}, error=error, csrf=csrf("admin"),
                    typed={k: str(form.get(k) or "") for k in ("organisation", "questionnaire", "respondents")}
                    if form is not None else {})

    def engagement_of(request: Request):
        return eng.get(store, request.path_params["eid"]) if is_admin(request) else None

    def engagement_page(request: Request, form):
        engagement = engagement_of(request)
        if engagement is None:
            return not_found()
        error, status, typed = None, 400, ""
        if form is not None:
            action = form.get("action")
            typed = str(form.get("label") or "")[:200] if action == "add" else ""
            try:
                if not form_ok(request, form, "admin"):  # nothing saved; what was typed comes back
                    error, status = EXPIRED, 403
                elif action == "add":
                    eng.add_respondent(store, engagement.id, str(form.get("label") or ""))
                elif action == "result":
                    eng.set_show_result(store, engagement.id, form.get("show_result") == "yes")
            except DataError as err:
                error = err.message
            if error is None:
                return RedirectResponse(f"/admin/e/{engagement.id}", status_code=303)
            engagement = eng.get(store, engagement.id)
            typed = typed if action == "add" else ""
        q = questionnaire(engagement.questionnaire)
        result, _, problem = combined(engagement)
        base = str(request.base_url).rstrip("/")
        people = []
        for person in engagement.respondents:
            answers, _ = eng.answers(store, person.token)
            link = f"{base}/r/{person.token}"
            people.append({"person": person, "progress": progress(q, answers), "link": link,
                           "mailto": invitation(engagement, q, person.label, link)})
        history = store.audits(engagement.organisation)
        return page("engagement.html.j2", status=status if error else 200, engagement=engagement, q=q, people=people,
                    typed=typed,
                    result=result, problem=problem, error=error, history=history, csrf=csrf("admin"),
                    titles={n: questionnaire(n).title for n in loader.names()})

    def close_page(request: Request, form):
        """Closing asks first; the close itself is one transaction, so a double click (or two
        consultants at once) saves one audit."""
        engagement = engagement_of(request)
        if engagement is None:
            return not_found()
        if form is not None:
            if not form_ok(request, form, "admin"):
                return forbidden(f"/admin/e/{engagement.id}/close")
            if not engagement.closed:
                result, files, _ = combined(engagement)
                sources = [Source(questionnaire=af.questionnaire, answers=dict(af.answers), notes=dict(af.notes),
                                  respondent=af.respondent, file=af.path) for af in files]
                import datetime as _dt
                try:
                    eng.close_with_audit(store, engagement.id, result, sources, organisation=engagement.organisation,
                                         date=(result or {}).get("date") or _dt.date.today().isoformat(),
                                         sector=(form.get("sector") or "").strip() or None,   # the peer group
                                         size_band=form.get("size") or None)
                except DataError as err:
                    return message(400, "Not closed", err.message, (f"/admin/e/{engagement.id}", "Back"))
            return RedirectResponse(f"/admin/e/{engagement.id}", status_code=303)
        if engagement.closed:
            return RedirectResponse(f"/admin/e/{engagement.id}", status_code=303)
        q = questionnaire(engagement.questionnaire)
        finished = sum(1 for p in engagement.respondents if p.finished_at)
        answering = sum(1 for p in engagement.respondents if p.answered and not p.finished_at)
        from kam_advisor.data.peers import load as peer_rules
        return page("close.html.j2", engagement=engagement, q=q, finished=finished, answering=answering,
                    csrf=csrf("admin"), size_bands=peer_rules().size_bands)

    def report_page(request: Request, form):
        engagement = engagement_of(request)
        fmt = request.path_params["fmt"]
        if engagement is None or fmt not in ("html", "pdf"):
            return not_found()
        result, _, problem = combined(engagement)
        if result is None:
            return message(409, "No report yet", problem or "Nobody has answered yet.",
                           (f"/admin/e/{engagement.id}", "Back to the engagement"))
        from kam_advisor.render import report
        from kam_advisor.store.progress import report_progress
        history = report_progress(store, engagement.organisation, result, None, engagement.audit_id, False)
        if fmt == "html":
            return HTMLResponse(report.render(result, "html", progress=history, brand=settings.brand),
                                headers={"content-security-policy": REPORT_CSP})
        from kam_advisor.render.pdf import render_pdf
        try:
            with _PDF_SLOTS:
                data = render_pdf(result, progress=history, brand=settings.brand)
        except DataError as err:
            return message(503, "No PDF", err.message)
        return Response(data, media_type="application/pdf",
                        headers={"content-disposition": f'attachment; filename="report-{engagement.id}.pdf"'})

    def compare_page(request: Request, form):
        """What changed since the organisation's last saved audit (the history's comparison view)."""
        engagement = engagement_of(request)
        if engagement is None:
            return not_found()
        earlier = [a for a in store.audits(engagement.organisation) if a.id != engagement.audit_id]
        result, _, problem = combined(engagement)
        if result is None or not earlier:
            return message(409, "Nothing to compare", problem or "It needs answers and an earlier audit of the "
                           "organisation in the history.", (f"/admin/e/{engagement.id}", "Back to the engagement"))
        from kam_advisor.render import history
        from kam_advisor.results.compare import compare
        last = earlier[-1]
        old = store.load(last.id).result
        doc = {"organisation": engagement.organisation, "unit": None,
               "stages": [{"id": st["id"], "name": st.get("name")} for st in result.get("stages") or []],
               "comparison": compare(old, result, {"id": last.id, "date": last.date, "unit": last.unit,
                                                   "assessor": last.assessor},
                                     {"id": None, "date": result.get("date"), "unit": None, "assessor": None}),
               "trend": None, "target": None, "units": None}
        return HTMLResponse(history.render_html(doc), headers={"content-security-policy": REPORT_CSP})

    def home(request: Request, form):
        return message(200, "KAM questionnaire", "Open the personal link you were sent to answer your "
                       "questionnaire. Links look like this site's address followed by /r/ and a long code.")

    def threaded(handler: Callable) -> Callable:
        """An endpoint that reads a posted form on the event loop and runs ``handler(request,
        form)`` (database, assessment, templates) in a worker thread."""
        async def endpoint(request: Request):
            form = None
            if request.method == "POST":
                try:
                    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
                except ClientDisconnect:      # gone, or cut off for sending too slowly: nobody to answer
                    return Response(status_code=400)
            return await run_in_threadpool(handler, request, form)
        return endpoint

    def result_pdf(request: Request, form):
        return result_page(request, form, pdf=True)

    async def brand_css(request: Request):
        """The brand's colour for the pages (their CSP allows no inline style)."""
        if settings.brand is None:
            return not_found()
        return Response(f":root {{ --accent: {settings.brand.colour}; }}\n", media_type="text/css")

    both = ["GET", "POST"]
    routes = [
        Route("/", threaded(home)),
        Route("/r/{token}", threaded(start)),
        Route("/r/{token}/s/{section}", threaded(section_page), methods=both),
        Route("/r/{token}/review", threaded(review), methods=both),
        Route("/r/{token}/result", threaded(result_page)),
        Route("/r/{token}/result.pdf", threaded(result_pdf)),
        Route("/admin", threaded(admin), methods=both),
        Route("/admin/e/{eid}", threaded(engagement_page), methods=both),
        Route("/admin/e/{eid}/close", threaded(close_page), methods=both),
        Route("/admin/e/{eid}/report.{fmt:str}", threaded(report_page)),
        Route("/admin/e/{eid}/compare", threaded(compare_page)),
        Route("/brand.css", brand_css),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def on_404(request, exc):
        return not_found()

    app = Starlette(routes=routes, exception_handlers={404: on_404, 405: on_404})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    app.add_middleware(LimitBody)
    app.add_middleware(SecurityHeaders)
    return app


def build(store: Store, admin_token: str | None = None, kb_dir=None, rules_dir=None,
          shared: bool = False, new_admin_token: bool = False,
          hosts: tuple[str, ...] = (), brand: Brand | None = None) -> tuple[Starlette, str]:
    """The application and its admin token. The signing secret and the admin token are the
    store's (made on first use; ``new_admin_token`` makes a new admin token), unless
    ``admin_token`` is given. ``shared``: it listens beyond this machine, so any Host name is
    answered; ``hosts``: names besides this machine's that it answers to (a reverse proxy's);
    ``brand``: the consulting firm's name, colour, logo and footer on every page and report."""
    kept = eng.web_secrets(store, new_admin_token=new_admin_token)
    token = admin_token or kept.admin_token
    settings = Settings(store=store, admin_token=token, secret=kept.secret, kb_dir=kb_dir, rules_dir=rules_dir,
                        brand=brand)
    if shared:
        settings.allowed_hosts = ("*",)
    elif hosts:
        settings.allowed_hosts = settings.allowed_hosts + tuple(hosts)
    return create_app(settings), token
