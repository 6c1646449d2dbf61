"""What a consultant hands over from a portfolio: the matrix with its names, the xlsx laid out
for a person, bad ratings that cost a cell rather than the account, and the fillable templates."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from kam_advisor.cli import main
from kam_advisor.render import charts
from kam_advisor.render.accounts import BUBBLE_MAX, matrix_chart

SVG = "{http://www.w3.org/2000/svg}"
CRITERIA = ["stability", "cross_sell", "adjacent_markets", "order_flow", "aligned_strategy", "financial", "ease",
            "brand"]
HEADER = ["id", "name", "key_account", "manager", "revenue", "potential", *CRITERIA, "buysell_level",
          "treats_us_as_key", "price_only"]
SCORING = {"supplier_attractive_min": 50, "customer_attractive_min": 60}


def row(name, ratings=4, key="yes", revenue=100000, level="collaborative", treats="yes", price="no"):
    return [name, name, key, "Ann", revenue, "", *([ratings] * 8), level, treats, price]


def write_csv(path: Path, rows, header=HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(header)
        w.writerows(rows)
    return path


# --- the matrix ---------------------------------------------------------------------------------

def bubble(name, cs, ss, revenue=None, box="mutual.key"):
    return {"name": name, "cs": cs, "ss": ss, "revenue": revenue, "box": box}


def plot_area(svg: ET.Element) -> tuple[float, float, float, float]:
    rect = svg.find(f"{SVG}clipPath/{SVG}rect")
    x, y = float(rect.get("x")), float(rect.get("y"))
    return x, y, x + float(rect.get("width")), y + float(rect.get("height"))


@pytest.mark.parametrize("cs,ss", [(0, 0), (100, 100), (0, 100), (100, 0)])
def test_bubbles_at_0_or_100_are_drawn_whole_inside_the_plot(cs, ss):
    accounts = [bubble("Corner", cs, ss, revenue=1_000_000), bubble("Small", 50, 50, revenue=1)]
    svg = ET.fromstring(str(matrix_chart(accounts, SCORING)))
    x0, y0, x1, y1 = plot_area(svg)
    circles = svg.findall(f".//{SVG}circle")
    assert len(circles) == 2
    biggest = max(float(c.get("r")) for c in circles)
    assert biggest == BUBBLE_MAX
    for c in circles:
        cx, cy, r = (float(c.get(k)) for k in ("cx", "cy", "r"))
        assert x0 <= cx - r and cx + r <= x1 and y0 <= cy - r and cy + r <= y1


def labels(svg: ET.Element) -> dict[str, ET.Element]:
    return {t.text: t for t in svg.findall(f"{SVG}text") if t.get("class") == "bubble-label"}


def test_every_bubble_of_a_small_portfolio_is_named_beside_it():
    accounts = [bubble(f"Account {n}", 20 + 15 * (n % 5), 10 + 20 * (n // 5), revenue=1000 * (n + 1))
                for n in range(10)]
    svg = ET.fromstring(str(matrix_chart(accounts, SCORING)))
    named = labels(svg)
    assert set(named) == {a["name"] for a in accounts}
    circles = {c.find(f"{SVG}title").text.split(":")[0]: c for c in svg.findall(f".//{SVG}circle")}
    for name, text in named.items():  # beside its own bubble: within a label's reach of it
        c = circles[name]
        assert abs(float(text.get("y")) - float(c.get("cy"))) <= float(c.get("r")) + 12
        assert abs(float(text.get("x")) - float(c.get("cx"))) <= float(c.get("r")) + 4


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100), st.integers(1, 10 ** 7)), min_size=1,
                max_size=40))
def test_bubble_labels_never_overlap_each_other_and_stay_in_the_plot(points):
    accounts = [bubble(f"Acct {n:02d}", cs, ss, revenue=rev) for n, (cs, ss, rev) in enumerate(points)]
    svg = ET.fromstring(str(matrix_chart(accounts, SCORING)))
    x0, y0, x1, y1 = plot_area(svg)
    boxes = []
    for text in labels(svg).values():
        x, y = float(text.get("x")), float(text.get("y"))
        w = charts.label_width(text.text)
        left = x if text.get("text-anchor") == "start" else x - w
        # the text's box, less the 0.1 the coordinates are rounded to
        box = (left + 0.2, y - 0.95 * charts.LABEL_FONT + 0.2, left + w - 0.2, y + 0.25 * charts.LABEL_FONT - 0.2)
        assert x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
        boxes.append(box)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_labels_are_placed_deterministically_and_long_names_are_cut():
    accounts = [bubble("A" * 60, 50, 50), bubble("B", 50, 50)]
    first, second = str(matrix_chart(accounts, SCORING)), str(matrix_chart(accounts, SCORING))
    assert first == second
    named = labels(ET.fromstring(first))
    assert any(t.endswith("\u2026") and len(t) == charts.LABEL_CHARS for t in named)


def test_the_html_report_prints_the_names_beside_the_bubbles(tmp_path):
    path = write_csv(tmp_path / "a.csv", [row("Northwind", revenue=5_000_000), row("Drop <me>", ratings=1,
                                                                                    level="commodity")])
    CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    assert '<text class="bubble-label"' in html
    assert ">Northwind</text>" in html and ">Drop &lt;me&gt;</text>" in html


# --- a bad rating -------------------------------------------------------------------------------

def test_one_bad_rating_leaves_out_the_cell_not_the_account(tmp_path):
    rows = [row("Good"), row("Six"), row("Also good")]
    rows[1][7] = "6"   # cross_sell
    path = write_csv(tmp_path / "a.csv", rows)
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "--format", "json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    six = data["accounts"][1]
    assert [a["name"] for a in data["accounts"]] == ["Good", "Six", "Also good"]
    assert "cross_sell" not in six["customer_attractiveness"]["ratings"]
    assert six["customer_attractiveness"]["score"] == 75 and "7 criteria" in six["customer_attractiveness"]["reason"]
    assert data["accounts"][0]["warnings"] == data["accounts"][2]["warnings"] == []
    [w] = six["warnings"]
    assert (w["row"], w["column"], w["value"], w["expected"]) == (3, "cross_sell", "6", "a rating from 1 to 5")
    assert data["warnings"] == [{**w, "account": "Six"}]
    line = next(line for line in out.stderr.splitlines() if "warning" in line)
    assert "a.csv: row 3, column cross_sell: cross_sell must be a rating from 1 to 5 (got '6')" in line
    assert "'Six' scored on its other criteria" in line
    assert "3 accounts scored, 0 rows skipped, 1 rating left out;" in out.stderr


def test_too_few_valid_ratings_still_leave_the_account_unplaced(tmp_path):
    rows = [row("Mostly bad")]
    rows[0][6:11] = ["9", "0", "x", "7", "-1"]   # 5 of 8 bad: 3 rated, 4 needed
    path = write_csv(tmp_path / "a.csv", rows)
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "--format", "json"])
    assert out.exit_code == 0
    [a] = json.loads(out.stdout)["accounts"]
    assert a["quadrant"]["id"] == "none" and a["customer_attractiveness"]["score"] is None
    assert [w["column"] for w in a["warnings"]] == CRITERIA[:5]


def test_a_bad_rating_is_named_by_its_cell_in_xlsx_and_in_every_output(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(HEADER)
    sheet.append(row("Good"))
    bad = row("Bad")
    bad[13] = 6   # brand, column N
    sheet.append(bad)
    book.save(tmp_path / "a.xlsx")
    runner = CliRunner()
    out = runner.invoke(main, ["accounts", "score", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "o.xlsx")])
    assert out.exit_code == 0
    assert "a.xlsx: Accounts!N3: brand must be a rating from 1 to 5 (got '6')" in out.stderr
    result = openpyxl.load_workbook(tmp_path / "o.xlsx")
    accounts = list(result["Accounts"].values)
    column = accounts[0].index("warnings")
    assert "brand left out: '6' is not a rating from 1 to 5" in accounts[2][column]
    left_out = list(result["Ratings left out"].values)
    assert left_out[1][:5] == (3, "Bad", "brand", "6", "a rating from 1 to 5")
    runner.invoke(main, ["accounts", "score", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "o.html")])
    html = (tmp_path / "o.html").read_text()
    assert "Ratings left out" in html and "Accounts!N3: brand must be a rating from 1 to 5" in html
    runner.invoke(main, ["accounts", "score", str(tmp_path / "a.xlsx"), "-o", str(tmp_path / "o.csv")])
    with open(tmp_path / "o.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["warnings"] == "" and "brand left out" in rows[1]["warnings"]


# --- xlsx laid out for a person -----------------------------------------------------------------

def test_xlsx_output_has_widths_frozen_header_filters_and_flags_in_words(tmp_path):
    rows = [row("Harbour Retail With A Long Name", level="commodity", price="yes"), row("Northwind")]
    path = write_csv(tmp_path / "a.csv", rows)
    assert CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "o.xlsx")]).exit_code == 0
    book = openpyxl.load_workbook(tmp_path / "o.xlsx")
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert sheet["A1"].font.b, sheet.title
    accounts = book["Accounts"]
    header = [c.value for c in accounts[1]]
    name_col = openpyxl.utils.get_column_letter(header.index("name") + 1)
    assert accounts.column_dimensions[name_col].width >= len("Harbour Retail With A Long Name")
    assert accounts.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}3"
    flags = header.index("flags")
    harbour = [c.value for c in accounts[2]]
    assert "The customer sees us as a commodity vendor" in harbour[flags]
    assert header[-1] == "flag_ids" and "flag.account-commodity" in harbour[-1]
    ids_in_words = [c.value for s in book.worksheets for r in s.iter_rows() for c in r
                    if isinstance(c.value, str) and "flag." in c.value and c.column != len(header)]
    assert not [v for v in ids_in_words if v != "flag_ids"]


# --- the portfolio template ---------------------------------------------------------------------

def test_the_xlsx_template_explains_its_columns_offers_drop_downs_and_loads_back(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["accounts", "template", "-o", str(tmp_path / "t.xlsx")]).exit_code == 0
    book = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert book.sheetnames[0] == "Accounts"
    sheet = book["Accounts"]
    header = [c.value for c in sheet[1]]
    assert header == HEADER
    assert sheet.freeze_panes and sheet.auto_filter.ref
    explained = {r[0]: r[1] for r in book["Columns"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert set(explained) == set(HEADER)
    assert explained["cross_sell"].startswith("Cross- and up-selling: Opportunity for cross and up-selling")
    assert all(sheet.cell(row=1, column=i + 1).comment for i in range(len(HEADER)))
    by_column: dict[str, object] = {}
    for dv in sheet.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            by_column[header[openpyxl.utils.column_index_from_string(rng.split("2:")[0]) - 1]] = dv
    rating = by_column["stability"]
    assert (rating.type, rating.formula1, rating.formula2) == ("whole", "1", "5")
    assert set(by_column) >= {*CRITERIA, "key_account", "buysell_level", "treats_us_as_key", "price_only"}
    assert by_column["buysell_level"].formula1 == '"commodity,enhanced,collaborative,partner"'
    assert by_column["key_account"].formula1 == '"yes,no"'
    out = runner.invoke(main, ["accounts", "score", str(tmp_path / "t.xlsx"), "--format", "json"])
    assert out.exit_code == 0 and not json.loads(out.stdout)["warnings"]
    assert [a["name"] for a in json.loads(out.stdout)["accounts"]] == ["Northwind Components", "Harbour Retail"]


def test_the_names_beside_the_bubbles_print(chromium_path, tmp_path):
    """Printed by headless Chromium (as the PDF reports are), the names are on the page: text,
    not tooltips."""
    import io

    from pypdf import PdfReader

    from kam_advisor.render.pdf import html_to_pdf
    path = write_csv(tmp_path / "a.csv", [row("Northwind Pumps", revenue=5_000_000),
                                         row("Harbour Retail", ratings=2, level="commodity", revenue=800_000)])
    CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    unlabelled = re.sub(r'<text class="bubble-label"[^>]*>[^<]*</text>', "", html)
    assert unlabelled != html

    def matrix_page(page_html: str) -> str:
        pdf = PdfReader(io.BytesIO(html_to_pdf(page_html, "portfolio")))
        return next(p.extract_text() for p in pdf.pages if "Our attractiveness to the customer" in p.extract_text())
    printed, without = matrix_page(html), matrix_page(unlabelled)
    for name in ("Northwind Pumps", "Harbour Retail"):  # the labels add the names to the printed page
        assert printed.count(name) > without.count(name)


def test_control_characters_in_names_do_not_break_the_xlsx(tmp_path):
    path = write_csv(tmp_path / "a.csv", [row("Bad\x01Name"), row("Tab\tand\nnewline")])
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "o.xlsx")])
    assert out.exit_code == 0, out.stderr
    names = [r[2] for r in openpyxl.load_workbook(tmp_path / "o.xlsx")["Accounts"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Bad Name", "Tab and newline"]
