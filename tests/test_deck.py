"""The board deck (report --format pptx): reopened with python-pptx, it has 6-12 slides, a native
chart of the result's own scores, the client's name, the firm's brand, and says what the report
says in names; the same inputs give the same bytes."""

from __future__ import annotations

import copy
import io
import json
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli import report as cli_report
from kam_advisor.data.brand import load_brand
from kam_advisor.data.errors import DataError
from kam_advisor.render import deck, report
from test_brand import png, write_brand

pptx = pytest.importorskip("pptx")
from pptx import Presentation  # noqa: E402
from pptx.enum.shapes import MSO_SHAPE_TYPE  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "sample-result.json"
PROGRESS = {"unit": "", "earlier": [{"date": "2026-04-02", "unit": "", "assessor": "Sam Patel", "achieved": None,
                                     "current": "A"}],
            "target": None,
            "change": {"text": "Since the audit of 2026-04-02 the programme achieved stage A (Scoping KAM).",
                       "regressed": [{"text": "Key account selection criteria are no longer applied"}],
                       "improved": [{"text": "A KAM champion now leads a core project team"}]}}


@pytest.fixture()
def result() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture()
def cli(monkeypatch, tmp_path, result):
    monkeypatch.setattr(cli_report, "_assess", lambda paths, kb_dir, rules_dir: copy.deepcopy(result))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAM_ADVISOR_BRAND", raising=False)
    (tmp_path / "a.yaml").write_text("questionnaire: full-audit\n")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_report.report, ["--answers", "a.yaml", *args])


def texts(prs) -> list[str]:
    """Every slide's text, one string per slide (text boxes, placeholders, the chart's title)."""
    out = []
    for slide in prs.slides:
        parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        parts += [shape.chart.chart_title.text_frame.text for shape in slide.shapes if shape.has_chart]
        out.append("\n".join(parts))
    return out


def charts(prs) -> list:
    return [shape.chart for slide in prs.slides for shape in slide.shapes if shape.has_chart]


def test_the_deck_reopens_with_a_chart_the_client_and_the_brand(cli, tmp_path, result):
    write_brand(tmp_path)
    res = cli("--format", "pptx", "--output", "board.pptx", "--brand", "brand.yaml")
    assert res.exit_code == 0, res.output
    assert "deck written to board.pptx" in res.output
    prs = Presentation(str(tmp_path / "board.pptx"))
    assert 6 <= len(prs.slides) <= 12
    slides = texts(prs)
    titles = [slide.shapes.title.text_frame.text for slide in list(prs.slides)[1:]]
    assert titles[:5] == ["Where the programme stands", "What holds the programme back", "Red flags",
                          "The next 90 days", "The roadmap"]
    assert result["organisation"] in slides[0]
    assert all("Harbour & Co Advisory" in text and "Confidential to the board" in text for text in slides)
    # a native chart of the result's own area scores, in the brand's colour
    (chart,) = charts(prs)
    plot = chart.plots[0]
    assert list(plot.categories) == [a["name"] for a in result["areas"]]
    assert list(plot.series[0].values) == [float(a["score"]) for a in result["areas"]]
    assert str(plot.series[0].format.fill.fore_color.rgb) == "225522"
    # the title bars in the brand's colour; the logo on the title slide, as given
    assert all(str(slide.shapes.title.fill.fore_color.rgb) == "225522" for slide in list(prs.slides)[1:])
    pictures = [s for s in prs.slides[0].shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert [p.image.blob for p in pictures] == [png()]
    assert prs.core_properties.author == "Harbour & Co Advisory"


def test_the_deck_says_what_the_report_says_in_names(result):
    prs = Presentation(io.BytesIO(deck.render_deck(result)))
    text = "\n".join(texts(prs))
    view = report.build_view(result)
    assert view["overall"]["headline"] in text
    for flag in view["red_flags"][:deck.MAX_FLAGS]:
        assert flag["title"] in text
        assert flag["id"] not in text and flag["rule"] not in text
    for step in view["summary_actions"]:
        assert (step["title"] or step["text"])[:60] in text
    for rec in result["recommendations"]:
        assert rec["id"] not in text and rec["rule"] not in text
    assert "Progress since the last audit" not in text        # no history: no progress slide
    assert not any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for s in prs.slides for shape in s.shapes)


def test_the_progress_slide_comes_with_an_earlier_audit(result):
    prs = Presentation(io.BytesIO(deck.render_deck(result, progress=PROGRESS)))
    plain = Presentation(io.BytesIO(deck.render_deck(result)))
    assert len(prs.slides) == len(plain.slides) + 1 <= 12
    (slide,) = [t for t in texts(prs) if t.startswith("Progress since the last audit")]
    assert PROGRESS["change"]["text"] in slide
    assert "Key account selection criteria are no longer applied" in slide
    assert "2026-04-02: achieved no stage yet, working on A Scoping KAM" in slide


def test_the_same_inputs_give_the_same_bytes(tmp_path, result):
    brand = load_brand(write_brand(tmp_path))
    first = deck.render_deck(result, brand=brand, progress=PROGRESS)
    assert deck.render_deck(copy.deepcopy(result), brand=brand, progress=PROGRESS) == first
    prs = Presentation(io.BytesIO(first))
    assert prs.core_properties.created.date().isoformat() == result["date"]
    assert deck.render_deck(result, org="Another Ltd") != deck.render_deck(result)


def test_an_svg_logo_gives_way_to_the_firm_name(tmp_path, result):
    brand = load_brand(write_brand(tmp_path, logo="logo.svg"))
    prs = Presentation(io.BytesIO(deck.render_deck(result, brand=brand)))
    first = prs.slides[0]
    assert not any(shape.shape_type == MSO_SHAPE_TYPE.PICTURE for shape in first.shapes)
    assert "Harbour & Co Advisory" in [shape.text_frame.text for shape in first.shapes if shape.has_text_frame]


def test_a_deck_of_a_real_assessment(tmp_path):
    from kam_advisor.results.assess import assess_files
    result = assess_files([str(ROOT / "examples" / "meridian-mature.yaml")])
    prs = Presentation(io.BytesIO(deck.render_deck(result)))
    assert 6 <= len(prs.slides) <= 12
    assert result["organisation"] in texts(prs)[0]
    assert list(charts(prs)[0].plots[0].series[0].values) == [float(a["score"]) for a in result["areas"]]


def test_the_deck_needs_an_output_file(cli):
    res = cli("--format", "pptx")
    assert res.exit_code == 2 and res.output.strip() == "kam-advisor: --format pptx writes a file: give --output PATH"


def test_without_python_pptx_the_deck_is_one_line(cli, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pptx", None)           # import pptx now fails
    res = cli("--format", "pptx", "--output", "board.pptx")
    assert res.exit_code == 2, res.output
    assert res.output == f"kam-advisor: {deck.NEEDS_EXTRA}\n"
    assert "pip install 'kam-advisor[pptx]'" in res.output and not (tmp_path / "board.pptx").exists()


def test_an_account_result_has_no_deck():
    with pytest.raises(DataError, match="the deck is for a programme assessment"):
        deck.render_deck({"kind": "account"})


def test_a_result_without_scores_still_makes_a_deck(result):
    bare = dict(result, dimensions=[], areas=[], topics=[], facets=[])
    prs = Presentation(io.BytesIO(deck.render_deck(bare)))
    assert 6 <= len(prs.slides) <= 12 and not charts(prs)
    assert "The answers give no scores to chart yet." in texts(prs)[1]


def test_an_empty_result_is_refused_naming_the_field():
    with pytest.raises(DataError, match="missing required field `kind`"):
        deck.render_deck({})


def test_report_progress_adds_the_progress_slide(cli, monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(cli_report, "_progress", lambda result, *args: seen.append(args) or PROGRESS)
    assert cli("--format", "pptx", "--output", "board.pptx", "--progress").exit_code == 0
    assert seen and any(t.startswith("Progress since the last audit") for t in
                        texts(Presentation(str(tmp_path / "board.pptx"))))
