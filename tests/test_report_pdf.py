"""The PDF report: the HTML report printed to A4 by headless Chromium, with page numbers and
the organisation and date in every page's footer; a missing browser is one line and exit 2.
The page budget (issue 23): a full audit's report at most 8 pages, a screening's at most 6, the
board brief exactly one.

Needs Chromium (skipped locally without it, a failure under CI); each PDF is printed once for
the module.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from conftest import ROOT
from kam_advisor.cli.app import main

A4_POINTS = (595, 842)
SCREENING = ROOT / "docs" / "panel" / "round-1" / "corvel-perception-gap" / "ceo-readiness.yaml"
FULL_AUDIT_PAGES = 8
SCREENING_PAGES = 6


def _print(tmp_path_factory, name: str, *args: str) -> PdfReader:
    out = tmp_path_factory.mktemp("pdf") / f"{name}.pdf"
    res = CliRunner().invoke(main, ["report", *args, "--format", "pdf", "--output", str(out)])
    assert res.exit_code == 0, res.output
    return PdfReader(out)


@pytest.fixture(scope="module")
def northwind_pdf(chromium_path, tmp_path_factory) -> PdfReader:
    return _print(tmp_path_factory, "northwind", "--example", "northwind-early-b")


@pytest.fixture(scope="module")
def screening_pdf(chromium_path, tmp_path_factory) -> PdfReader:
    return _print(tmp_path_factory, "screening", "--answers", str(SCREENING))


def _text(page) -> str:
    return " ".join(page.extract_text().split())


def test_the_full_audit_prints_in_at_most_8_a4_pages(northwind_pdf):
    # the cover, summary, plan (first phase in full, the later ones summarised), profile charts and
    # condensed findings; the full plan, the topic pages, grid, facets, method and answers only with --appendix
    assert 4 <= len(northwind_pdf.pages) <= FULL_AUDIT_PAGES
    for page in northwind_pdf.pages[:3]:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (int(width), int(height)) == A4_POINTS
    text = " ".join(_text(p) for p in northwind_pdf.pages)
    assert "Executive summary" in text and "The plan" in text and "Findings" in text and "--appendix" in text


def test_a_screening_prints_shorter_still(screening_pdf, northwind_pdf):
    assert len(screening_pdf.pages) <= SCREENING_PAGES
    assert len(screening_pdf.pages) < len(northwind_pdf.pages)


def test_the_appendix_adds_pages(chromium_path, tmp_path_factory, northwind_pdf):
    full = _print(tmp_path_factory, "northwind-appendix", "--example", "northwind-early-b", "--appendix")
    assert len(full.pages) > len(northwind_pdf.pages)
    assert "Answers and evidence" in " ".join(_text(p) for p in full.pages)


@pytest.mark.parametrize("which", ["northwind", "screening"])
def test_the_brief_is_one_a4_page(chromium_path, tmp_path_factory, which):
    from kam_advisor.results import assess
    paths = [ROOT / "examples" / "northwind-early-b.yaml"] if which == "northwind" else [SCREENING]
    brief = _print(tmp_path_factory, f"{which}-brief", "--answers", str(paths[0]), "--brief")
    assert len(brief.pages) == 1
    page = brief.pages[0]
    assert (int(float(page.mediabox.width)), int(float(page.mediabox.height))) == A4_POINTS
    result = assess.assess_files([str(p) for p in paths])
    text = _text(page)
    assert " ".join(result["summary"]["headline"]["text"].split()) in text
    assert "Three priorities" in text and "Next review" in text


def test_the_first_page_carries_the_headline(northwind_pdf):
    text = " ".join(northwind_pdf.pages[0].extract_text().split())
    assert "Northwind Components Ltd" in text
    assert "The KAM programme has achieved stage A (Scoping KAM) and is working towards stage B" in text
    assert "working towards stage B (Introducing KAM)" in text


def test_every_page_footer_names_organisation_date_and_page_number(northwind_pdf):
    total = len(northwind_pdf.pages)
    for number in (1, total // 2, total):
        text = " ".join(northwind_pdf.pages[number - 1].extract_text().split())
        assert re.search(rf"Northwind Components Ltd · 2026-10-15 Page {number} of {total}\b", text), text[-200:]


def test_pdf_needs_an_output_file():
    res = CliRunner().invoke(main, ["report", "--example", "northwind-early-b", "--format", "pdf"])
    assert res.exit_code == 2
    assert "--format pdf writes a file" in res.output


def test_a_missing_browser_is_one_line_and_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("KAM_ADVISOR_CHROMIUM", str(tmp_path / "no-such-chromium"))
    out = tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", "--example", "northwind-early-b", "--format", "pdf", "--output", str(out)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0
    assert "PDF needs headless Chromium" in res.output and "apt-get install chromium" in res.output
    assert not out.exists()


def test_the_principles_hold_in_the_printed_report_too(chromium_path, tmp_path):
    """The blind panel's unbalanced client, printed: the lagging side with what runs ahead and the
    risk, stage skipping said once, no ids, plurals, as in the HTML it is printed from."""
    from kam_advisor.render import consistency
    from kam_advisor.results import assessment
    from kam_advisor.results import assess
    answers = ROOT / "docs" / "panel" / "round-1" / "harbourline-unbalanced" / "full-audit.yaml"
    out = tmp_path / "harbourline.pdf"
    res = CliRunner().invoke(main, ["report", "--answers", str(answers), "--format", "pdf", "--output", str(out)])
    assert res.exit_code == 0, res.output
    text = " ".join(page.extract_text() for page in PdfReader(out).pages)
    text = re.sub(r"(?<=\w)-\s+(?=\w)", "-", " ".join(text.split()))   # words the printer split at a hyphen
    text = re.sub(r"\S+ · \d{4}-\d{2}-\d{2} Page \d+ of \d+", " ", text)  # footers between pages
    result = assess.assess_files([str(answers)])
    assert result["summary"]["lagging"]
    consistency.check_rendered(result, "pdf-text", text)
