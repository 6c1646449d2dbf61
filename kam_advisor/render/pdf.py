"""PDF reports: the HTML report printed to A4 by headless Chromium.

The HTML report (:func:`kam_advisor.render.report.render`) already carries a print stylesheet;
Chromium's own printing paginates it. Page numbers and the organisation and date in the
footer need the DevTools protocol (``Page.printToPDF`` with a footer template), which
Playwright drives; Playwright launches the system browser (Debian's ``chromium``), never a
downloaded one; Playwright is the ``pdf`` extra. A missing browser or Playwright is a :class:`DataError` (one line, exit 2).
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import shutil
from typing import Any, Mapping

from kam_advisor.data import extras
from kam_advisor.data.errors import DataError
from kam_advisor.render import report

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless in a container or CI: no sandbox (often unavailable as root), no GPU, no network
# chatter of its own (updates, sync, field trials).
BROWSER_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
MARGINS = {"top": "15mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
NO_ENGINE = ("PDF needs headless Chromium: install Debian's 'chromium' (apt-get install chromium) "
             "or set KAM_ADVISOR_CHROMIUM to a Chromium executable")

_FOOTER = ('<div style="font-family: sans-serif; font-size: 8pt; color: #555; width: 100%; '
           'margin: 0 15mm; display: flex; justify-content: space-between;">'
           '<span>{left}</span><span>Page <span class="pageNumber"></span> of '
           '<span class="totalPages"></span></span></div>')


def find_browser() -> str | None:
    """The Chromium executable: $KAM_ADVISOR_CHROMIUM, else the first known name on PATH."""
    chosen = os.environ.get("KAM_ADVISOR_CHROMIUM")
    if chosen:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def footer_html(organisation: str, date: str, *more: str) -> str:
    """Chromium's footer template: organisation, date (and ``more``: a firm, its footer) left,
    'Page n of m' right (escaped)."""
    left = " \u00b7 ".join(html.escape(part) for part in (organisation, date, *more) if part)
    return _FOOTER.format(left=left)


def html_to_pdf(page_html: str, footer: str) -> bytes:
    """Print an HTML document to an A4 PDF with the given footer template."""
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
    except ImportError:
        raise DataError(extras.missing("a PDF report", extras.PDF)) from None
    browser_path = find_browser()
    if not browser_path:
        raise DataError(NO_ENGINE)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=browser_path, headless=True, args=BROWSER_FLAGS)
            try:
                page = browser.new_page()
                # the report is self-contained (inline CSS and SVG): nothing to fetch
                page.route("**/*", lambda route: route.abort())
                page.set_content(page_html, wait_until="load")
                page.emulate_media(media="print")
                return page.pdf(format="A4", print_background=True, display_header_footer=True,
                                header_template="<span></span>", footer_template=footer, margin=MARGINS)
            finally:
                browser.close()
    except PlaywrightError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"Chromium could not print the report ({browser_path}): {first}") from None


def render_pdf(result: Mapping[str, Any], *, org: str | None = None, assessor: str | None = None,
               title: str | None = None, date: str | None = None, appendix: bool = False,
               progress: Mapping[str, Any] | None = None, brand: Any = None,
               benchmark: Mapping[str, Any] | None = None, brief: bool = False) -> bytes:
    """The HTML report of ``result`` as an A4 PDF: page numbers, organisation and date in the footer
    (and a ``brand``'s firm and footer text). ``brief``: the one-page brief for a board instead.

    The date is ``date``, else the result's own (the answers' date); without one, today's.
    """
    page_html = report.render(result, "html", org=org, assessor=assessor, title=title, date=date, appendix=appendix,
                              progress=progress, brand=brand, benchmark=benchmark, brief=brief)
    organisation = org or str(result.get("organisation") or "")
    date = date or str(result.get("date") or _dt.date.today().isoformat())
    more = (brand.firm, brand.footer) if brand else ()
    return html_to_pdf(page_html, footer_html(organisation, date, *more))
