"""The web questionnaire (`kam-advisor serve`) in a real browser: Debian's chromium driven by
Playwright. A consultant opens an engagement; an executive answers the whole readiness
questionnaire (question counts that agree, a revealed question announced and scrolled to),
closes the browser midway and resumes, finishes and reads their own result; a second
respondent answers at the same time; the consultant sees both, the red flags, the perception
gaps and the report, and closes with a double click (one audit). Also a page filled before a
server restart and sent after it, the report at 390 px, keyboard-only use, a phone-width
window, and over HTTP the security answers (404, CSRF with what was typed shown again, size
limit, CSP) and the result turned off.

The server runs in a thread of the test process on a free port with a fresh SQLite store
(tests/webserver.py). Skipped without chromium locally; a failure under CI (which installs it).
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

from kam_advisor.answers import loader
from kam_advisor.render.pdf import BROWSER_FLAGS
from kam_advisor.store import engagements as eng
from webserver import Served, request as post_unfollowed

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = Served(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")
    yield served
    served.stop()
    served.store.close()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, headless=True, args=BROWSER_FLAGS)
        yield chromium
        chromium.close()


def consultant(browser, server):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{server['url']}/admin?token={server['token']}")
    return context, page


def open_engagement(page, organisation: str, respondents: list[str]) -> dict[str, str]:
    page.fill("input[name=organisation]", organisation)
    page.check("input[name=questionnaire][value=readiness]")
    page.fill("textarea[name=respondents]", "\n".join(respondents))
    page.click("text=Open the engagement")
    rows = page.locator("table.people tbody tr")
    return {rows.nth(i).locator("td").nth(0).inner_text(): rows.nth(i).locator("code.link").inner_text()
            for i in range(rows.count())}


STATUS_PICK = {"optimist": "done", "sceptic": "not_started"}


def answer_page(page, mood: str) -> None:
    """Answer every question on the page in the respondent's manner (one click per question)."""
    offered: dict[str, list[str]] = {}
    for name, value in page.locator("input[type=radio]").evaluate_all("els => els.map(e => [e.name, e.value])"):
        offered.setdefault(name, []).append(value)
    for name, values in offered.items():
        pick = STATUS_PICK[mood] if STATUS_PICK[mood] in values else ("yes" if mood == "optimist" else "no")
        page.locator(f'input[type=radio][name="{name}"][value="{pick}"]').check()
    for field in page.locator("input[inputmode=decimal]").all():
        field.fill("12" if mood == "optimist" else "3")


def on_section(page, title: str) -> None:
    playwright_api.expect(page.locator("h1")).to_have_text(title)


def test_executives_answer_resume_and_the_consultant_sees_the_combined_report(browser, server):
    q = loader.load("readiness")
    admin_ctx, admin = consultant(browser, server)
    links = open_engagement(admin, "Acme <Components> & Co", ["Chief Executive", "Sales Director"])
    assert set(links) == {"Chief Executive", "Sales Director"}
    for link in links.values():
        assert re.fullmatch(rf"{re.escape(server['url'])}/r/[A-Za-z0-9_-]{{32}}", link)   # 192-bit tokens

    # the executive starts, answers two sections, and closes the browser
    exec_ctx = browser.new_context()
    ceo = exec_ctx.new_page()
    ceo.goto(links["Chief Executive"])
    assert q.title in ceo.content()
    # question counts agree: the landing page, each page and the consultant's list count alike
    assert "Type ?" not in ceo.content()                                # no terminal hints on the web
    assert "21 questions, up to 30 depending on your answers" in ceo.locator("p.size").inner_text()
    assert "0 of 21 questions answered" in ceo.locator("p.progress-line").inner_text()
    ceo.click("#begin")
    on_section(ceo, q.sections[0].title)
    assert "Page 1 of" in ceo.content() and "of 21 questions answered" in ceo.content()
    assert q.questions["driver"].help.split()[0] in ceo.locator("p.help").first.inner_text()
    answer_page(ceo, "optimist")
    ceo.click("text=Save and continue")
    on_section(ceo, q.sections[1].title)
    assert ceo.locator("fieldset.question").count() == 4
    answer_page(ceo, "optimist")
    ceo.click("text=Save and continue")
    # ka_count > 0 revealed a question in the same section: it is asked on that page, which says
    # so at the top and opens at the new question
    on_section(ceo, q.sections[1].title)
    assert q.questions["commodity_accounts"].text.split()[0] in ceo.content()
    assert ceo.locator("fieldset.question").count() == 5
    playwright_api.expect(ceo.locator("p.revealed")).to_contain_text("1 more question appeared below")
    assert ceo.locator("fieldset.new").count() == 1
    new_id = ceo.locator("fieldset.new").get_attribute("id")
    assert ceo.url.endswith(f"#{new_id}") and new_id != "q-1"
    assert ceo.evaluate("document.querySelector(':target').id") == new_id
    new_box = ceo.locator(f"#{new_id}").bounding_box()
    assert 0 <= new_box["y"] < ceo.viewport_size["height"]               # scrolled to it
    assert "of 22 questions answered" in ceo.content()                   # the count grew by the new one
    answer_page(ceo, "optimist")
    ceo.click("text=Save and continue")
    on_section(ceo, q.sections[2].title)
    exec_ctx.close()

    # meanwhile the sales director answers everything, page by page
    sales_ctx = browser.new_context()
    sales = sales_ctx.new_page()
    sales.goto(links["Sales Director"])
    sales.click("#begin")
    for _ in range(12):
        if "/review" in sales.url:
            break
        answer_page(sales, "sceptic")
        sales.click("button[value=next]")
    assert "/review" in sales.url

    # the executive comes back later: the link resumes at the first unanswered section
    exec_ctx = browser.new_context()
    ceo = exec_ctx.new_page()
    ceo.goto(links["Chief Executive"])
    assert "Continue where you stopped" in ceo.content()
    ceo.click("#begin")
    on_section(ceo, q.sections[2].title)
    # back and forward keep the answers
    ceo.click("button[value=back]")
    on_section(ceo, q.sections[1].title)
    assert ceo.locator("input[type=radio][value=done]:checked").count() >= 1
    ceo.click("button[value=next]")
    for _ in range(12):
        if "/review" in ceo.url:
            break
        answer_page(ceo, "optimist")
        ceo.click("button[value=next]")
    assert "/review" in ceo.url
    review_count = ceo.locator("p.progress-line").inner_text()
    assert re.search(r"\b(\d+) of \1 questions answered", review_count), review_count
    assert ceo.locator("dd", has_text=re.compile(r"^(Yes|No)\b")).count() >= 2     # yes/no in their labels
    ceo.click("#finish")
    # the executive's own result on one page: indicative stage, what is in place, three
    # priorities, their red flags, what the screening cannot see, and a PDF
    playwright_api.expect(ceo.locator("p.done")).to_contain_text("your answers are in")
    assert ceo.url.endswith("/result")
    result_text = ceo.locator("#result").inner_text()
    assert ceo.locator("#stage-h").inner_text().startswith("Indicative stage")
    for heading in ("What is in place", "The three priorities", "Red flags your answers raise",
                    "What this questionnaire cannot see"):
        assert heading in result_text
    assert ceo.locator("ol.priorities > li").count() == 3
    assert ceo.locator("ul.flags li").count() >= 1                       # "optimist" answers keep a flag or two
    assert "rule" not in result_text and "flag." not in result_text      # names, never ids
    pdf = exec_ctx.request.get(server["url"] + ceo.locator("#pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"
    # a finished respondent may still change an answer
    ceo.goto(links["Chief Executive"] + "/review")
    ceo.locator("a.change").first.click()
    ceo.locator("fieldset.question").first.locator("input[value=partial]").check()
    ceo.click("button[value=stay]")
    answers, _ = eng.answers(server["store"], links["Chief Executive"].rsplit("/", 1)[1])
    assert answers["driver"] == "partial" and answers["strategy"] == "done"

    # the consultant's page: who answered, the combined result, perception gaps, the report
    admin.reload()
    body = admin.content()
    assert "Acme &lt;Components&gt; &amp; Co" in body                      # escaped, shown as text
    assert "finished" in admin.locator("table.people").inner_text()
    assert admin.locator("#headline").inner_text().startswith("Stage achieved")
    gaps = admin.locator("table.gaps").inner_text()
    assert q.questions["strategy"].text in gaps                             # done vs not started
    report = admin_ctx.new_page()
    report.goto(admin.url + "/report.html")
    assert "Acme <Components> & Co" in report.locator(".org").inner_text()
    pdf = admin_ctx.request.get(admin.url + "/report.pdf")
    assert pdf.status == 200 and pdf.body()[:5] == b"%PDF-"

    flags = int(re.search(r"(\d+) red flags?", admin.locator("#headline").inner_text()).group(1))
    assert flags >= 1 and admin.locator("#flags li").count() == flags      # listed, not only counted
    assert admin.locator("a.mail").first.get_attribute("href").startswith("mailto:?subject=")

    # closing asks first; a double click on the confirmation saves one audit
    admin.click("#close")
    playwright_api.expect(admin.locator("h1")).to_have_text("Close the engagement?")
    admin.locator("#confirm-close").dblclick()
    admin.wait_for_url(re.compile(r"/admin/e/[0-9a-f]+$"))
    assert "closed" in admin.locator("main p").first.inner_text()
    history = server["store"].audits("Acme <Components> & Co")
    assert len(history) == 1 and history[0].respondents == ["Chief Executive", "Sales Director"]
    ceo.goto(links["Chief Executive"])
    assert ceo.locator("h1").inner_text() == "Not found"
    for ctx in (exec_ctx, sales_ctx, admin_ctx):
        ctx.close()


def test_keyboard_only_and_a_phone_width_window(browser, server):
    store = server["store"]
    eid = eng.create(store, "Keyboard Ltd", "readiness", ["Finance Director"])
    token = eng.get(store, eid).respondents[0].token
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server['url']}/r/{token}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the questions"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "begin"
    page.keyboard.press("Enter")
    page.wait_for_url("**/s/*")
    # Tab to the first question's first choice, arrow to the next one, Enter submits "Save and continue"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "partial"
    page.keyboard.press("Enter")
    page.wait_for_url("**/s/customers")
    answers, _ = eng.answers(store, token)
    assert answers == {"driver": "partial"}
    # nothing wider than the phone: no sideways scrolling, buttons inside the window
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    box = page.locator("button[value=next]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    context.close()


def test_a_page_filled_before_a_restart_is_saved_after_it(browser, server):
    """The signing secret and the admin token are kept in the store: after a restart the
    admin link, the respondents' links and a form filled before it all still work."""
    store = server["store"]
    eid = eng.create(store, "Restart GmbH", "readiness", ["Chief Executive"])
    token = eng.get(store, eid).respondents[0].token
    admin_token = server["token"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server['url']}/r/{token}/s/direction")
    page.locator('input[name="a:driver"][value="done"]').check()
    page.locator('input[name="a:strategy"][value="partial"]').check()
    page.locator("details.note summary").first.click()
    page.locator('textarea[name="n:driver"]').fill("Board paper of March")
    server.restart()                                     # the page stays open meanwhile
    assert server["token"] == admin_token
    page.click("button[value=next]")
    page.wait_for_url("**/s/customers")
    answers, notes = eng.answers(store, token)
    assert answers == {"driver": "done", "strategy": "partial"} and notes == {"driver": "Board paper of March"}
    admin = context.new_page()
    admin.goto(f"{server['url']}/admin?token={admin_token}")
    playwright_api.expect(admin.locator("h1")).to_have_text("Engagements")
    assert "Restart GmbH" in admin.content()
    context.close()


def test_the_report_reads_on_a_phone(browser, server):
    """At 390 px the report's page is no wider than the screen, headline and stage strip included."""
    store = server["store"]
    eid = eng.create(store, "A Rather Long Organisation Name Internationale Holding AG", "readiness", ["CEO"])
    eng.save_answers(store, eng.get(store, eid).respondents[0].token,
                     {"driver": "done", "strategy": "done", "champion": "done", "sponsor": "yes"}, {})
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{server['url']}/admin?token={server['token']}")
    page.goto(f"{server['url']}/admin/e/{eid}/report.html")
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    for selector in ("#cover .headline", "#cover .ladder", "#summary .headline", "h1"):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    page.goto(f"{server['url']}/admin/e/{eid}")                         # the consultant's page too
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    context.close()


def test_the_consultant_can_turn_the_respondents_result_off(server):
    store, base = server["store"], server["url"]
    eid = eng.create(store, "Quiet Ltd", "readiness", ["CEO"])
    assert eng.get(store, eid).show_result is True                       # on for the readiness check
    assert eng.get(store, eng.create(store, "Quiet Ltd", "full-audit", ["KAM lead"])).show_result is False
    admin_csrf = _csrf(server, "/admin")
    cookie = {"cookie": f"kam_admin={server['token']}", "content-type": "application/x-www-form-urlencoded"}
    status, _, _ = _request(f"{base}/admin/e/{eid}", f"csrf={admin_csrf}&action=result&show_result=no".encode(),
                            cookie)
    assert status == 200 and eng.get(store, eid).show_result is False
    token = eng.get(store, eid).respondents[0].token
    eng.save_answers(store, token, {"driver": "done"}, {})
    status, _, body = _request(f"{base}/r/{token}/review", f"csrf={_csrf(server, f'/r/{token}/review')}".encode(),
                               {"content-type": "application/x-www-form-urlencoded"})
    assert status == 200 and "your answers are in" in body and "See your result" not in body
    assert _request(f"{base}/r/{token}/result")[0] == 404


def test_closing_records_the_sector_and_size_band_for_the_peer_benchmark(server):
    store, base = server["store"], server["url"]
    form = {"content-type": "application/x-www-form-urlencoded", "cookie": f"kam_admin={server['token']}"}
    eids = []
    for _ in range(2):
        eid = eng.create(store, "Peer Group Ltd", "readiness", ["CEO"])
        eng.save_answers(store, eng.get(store, eid).respondents[0].token, {"driver": "done"}, {})
        eids.append(eid)
    page = _request(f"{base}/admin/e/{eids[0]}/close", headers=form)[2]
    assert 'name="sector"' in page and '<option value="very-large">5,000 employees or more</option>' in page
    csrf = _csrf(server, f"/admin/e/{eids[0]}/close")
    status, _, body = _request(f"{base}/admin/e/{eids[0]}/close",
                               f"csrf={csrf}&sector=Chemicals&size=enormous".encode(), form)
    assert status == 400 and "size_band: unknown size band &#39;enormous&#39;" in body
    assert not eng.get(store, eids[0]).closed
    status, _, _ = _request(f"{base}/admin/e/{eids[1]}/close",
                            f"csrf={csrf}&sector=+Specialty++Chemicals&size=large".encode(), form)
    assert status == 200 and eng.get(store, eids[1]).closed
    from kam_advisor.store.schema import audits
    with store.engine.connect() as conn:
        row = conn.execute(audits.select().where(audits.c.id == eng.get(store, eids[1]).audit_id)).one()
    assert (row.sector, row.size_band) == ("specialty chemicals", "large")


def test_several_revealed_questions_are_counted_in_words_that_agree(server):
    """kam_count > 0 brings four questions onto the people page: "4 more questions appeared
    below"; the page opens at the first of them."""
    store, base = server["store"], server["url"]
    token = eng.get(store, eng.create(store, "Plural Ltd", "readiness", ["COO"])).respondents[0].token
    csrf = _csrf(server, f"/r/{token}/s/people")
    status, headers, _ = post_unfollowed(f"{base}/r/{token}/s/people",
                                         {"csrf": csrf, "a:kam_count": "6", "go": "next"})
    assert status == 303 and headers["location"].endswith("#q-3")
    _, _, body = _request(base + headers["location"].split("#")[0])
    assert "4 more questions appeared below" in body and body.count('class="question new"') == 4
    assert "of 25 questions answered" in body                           # 21 + the 4 now asked


def _csrf(server, path: str) -> str:
    _, _, body = _request(f"{server['url']}{path}", headers={"cookie": f"kam_admin={server['token']}"})
    return re.search(r'name="csrf" value="([0-9a-f]+)"', body).group(1)


def test_the_site_root_not_found_and_an_expired_form_are_styled_and_keep_what_was_typed(server):
    store, base = server["store"], server["url"]
    for path, status, title in (("/", 200, "KAM questionnaire"), (f"/r/{'y' * 32}", 404, "Not found")):
        code, _, body = _request(base + path)
        assert code == status and f"<h1>{title}</h1>" in body and 'href="/static/app.css"' in body
    eid = eng.create(store, "Expired SA", "readiness", ["CFO"])
    token = eng.get(store, eid).respondents[0].token
    form = urllib.parse.urlencode({"csrf": "0" * 64, "a:driver": "partial", "n:driver": "see <the> plan",
                                   "go": "next"}).encode()
    status, _, body = _request(f"{base}/r/{token}/s/direction", form,
                               {"content-type": "application/x-www-form-urlencoded"})
    assert status == 403 and "not saved yet" in body and 'href="/static/app.css"' in body
    assert 'value="partial" checked' in body and "see &lt;the&gt; plan" in body   # shown again, escaped
    assert eng.answers(store, token) == ({}, {})
    # the consultant's forms too: an expired one comes back with what was typed, nothing made
    before = len(eng.all_engagements(store))
    form = urllib.parse.urlencode({"csrf": "0" * 64, "organisation": "Typed & Kept Ltd", "questionnaire": "full-audit",
                                   "respondents": "Head of KAM\nCFO"}).encode()
    status, _, body = _request(f"{base}/admin", form, {"content-type": "application/x-www-form-urlencoded",
                                                       "cookie": f"kam_admin={server['token']}"})
    assert status == 403 and "nothing was saved" in body and 'value="Typed &amp; Kept Ltd"' in body
    assert "Head of KAM\nCFO</textarea>" in body and 'value="full-audit" checked' in body
    assert len(eng.all_engagements(store)) == before


def _request(url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_wrong_tokens_forms_without_csrf_and_big_bodies_are_refused(server):
    store = server["store"]
    eid = eng.create(store, "Secure plc", "readiness", ["Chief Operating Officer"])
    token = eng.get(store, eid).respondents[0].token
    base = server["url"]
    status, headers, body = _request(f"{base}/r/{'x' * 32}")
    assert status == 404 and "<h1>Not found</h1>" in body and "Traceback" not in body
    assert "script-src" not in headers["content-security-policy"]
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["referrer-policy"] == "no-referrer"
    assert _request(f"{base}/admin")[0] == 404                                   # no admin cookie
    assert _request(f"{base}/admin?token=wrong")[0] == 404
    form = b"a%3Adriver=done&go=next"
    assert _request(f"{base}/r/{token}/s/direction", form,
                    {"content-type": "application/x-www-form-urlencoded"})[0] == 403   # no CSRF token
    assert eng.answers(store, token) == ({}, {})
    big = b"n%3Adriver=" + b"x" * (300 * 1024)
    assert _request(f"{base}/r/{token}/s/direction", big,
                    {"content-type": "application/x-www-form-urlencoded"})[0] == 413
    assert _request(f"{base}/r/{token}/s/no-such-section")[0] == 404
    assert _request(f"{base}/r/{token}", headers={"host": "attacker.example"})[0] == 400    # DNS rebinding


def test_the_consultant_compares_with_the_last_audit_of_the_organisation(server):
    import http.cookiejar
    store, base = server["store"], server["url"]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base}/admin?token={server['token']}").read()

    def page(path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        with opener.open(f"{base}{path}", data=body) as response:
            return response.read().decode()

    first = eng.create(store, "Compare Ltd", "readiness", ["CEO"])
    eng.save_answers(store, eng.get(store, first).respondents[0].token,
                     {"driver": "not_started", "strategy": "not_started"}, {})
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page(f"/admin/e/{first}")).group(1)
    assert "Close the engagement?" in page(f"/admin/e/{first}/close")
    assert "closed" in page(f"/admin/e/{first}/close", {"csrf": csrf})
    assert eng.get(store, first).audit_id == store.audits("Compare Ltd")[0].id
    second = eng.create(store, "Compare Ltd", "readiness", ["CEO"])
    eng.save_answers(store, eng.get(store, second).respondents[0].token,
                     {"driver": "done", "strategy": "done"}, {})
    assert 'id="compare"' in page(f"/admin/e/{second}")
    changes = page(f"/admin/e/{second}/compare")
    assert "Compare Ltd" in changes and store.audits("Compare Ltd")[0].date in changes
    newly_done = changes[changes.index("Actions newly done"):]
    assert "was not started" in newly_done
    # the consultant's report shows the earlier audit too (not the engagement's own, once closed)
    report = page(f"/admin/e/{second}/report.html")
    progress = report[report.index('<section class="page" id="progress">'):report.index('id="plan"')]
    assert store.audits("Compare Ltd")[0].date in progress and "This assessment" in progress
    assert progress.count("<tr>") == 3   # header, the first engagement's audit, this assessment

    # two closes sent at once (a double click, two tabs) save one audit
    def close():
        outcomes.append(page(f"/admin/e/{second}/close", {"csrf": csrf}))

    outcomes: list[str] = []
    threads = [threading.Thread(target=close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 4 and all("closed" in o for o in outcomes)
    assert len(store.audits("Compare Ltd")) == 2
    assert eng.get(store, second).audit_id == store.audits("Compare Ltd")[1].id
