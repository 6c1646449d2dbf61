"""Key-account selection: Salestrong's eight criteria weighted into customer attractiveness, the
customer's view of us (Koru's buy-sell hierarchy), the mutual-attractiveness matrix (seed 004:
invest only where attraction is mutual; account maintenance), doubtful key accounts (seed 001:
customers who only want price may not be key) and the portfolio limits."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from kam_advisor.answers.portfolio import AccountInput
from kam_advisor.cli import main
from kam_advisor.results import account
from kam_advisor.results.assess import assess_files
from kam_advisor.results.bases import load_bases

CRITERIA = ["stability", "cross_sell", "adjacent_markets", "order_flow", "aligned_strategy", "financial", "ease",
            "brand"]
HEADER = ["id", "name", "key_account", "manager", "revenue", "potential", *CRITERIA, "buysell_level",
          "treats_us_as_key", "price_only"]


@pytest.fixture(scope="module")
def bases():
    return load_bases()


@pytest.fixture(scope="module")
def sc(bases):
    kb, base = bases
    return account.scoring(kb, base)


def acc(name="Acme", ratings=4, level="collaborative", treats=True, price=False, key=None, row=2, **kw):
    r = dict.fromkeys(CRITERIA, float(ratings)) if not isinstance(ratings, dict) else ratings
    return AccountInput(row=row, name=name, ratings=r, buysell=level, treats_us_as_key=treats, price_only=price,
                        is_key=key, **kw)


def classify(bases, sc, *accounts, previous=None, chunk=account.CHUNK):
    kb, base = bases
    return list(account.classify(accounts, kb, base, sc, previous, chunk))


def test_the_criteria_are_the_seeds_eight(bases):
    kb, _ = bases
    assert [k for k, _ in account.criteria(kb)] == CRITERIA


# --- the matrix --------------------------------------------------------------------------------

QUADRANTS = [
    # (ratings, buy-sell level, treats us as key, price only, key today) -> quadrant, advice, move
    (5, "partner", True, False, True, "mutual.key", "invest", None),
    (4, "collaborative", True, False, False, "mutual.key", "invest", "in"),
    (4, "commodity", False, True, True, "mutual.build", "develop", None),
    (2, "enhanced", True, False, True, "mutual.maintenance", "maintain", "out"),
    (1, "commodity", False, True, True, "mutual.minimal", "deselect", "out"),
    (2, "enhanced", False, False, False, "mutual.minimal", "deselect", None),
]


@pytest.mark.parametrize("ratings, level, treats, price, key, box, action, move", QUADRANTS)
def test_hand_made_accounts_land_in_their_quadrant_with_the_advice(bases, sc, ratings, level, treats, price, key,
                                                                    box, action, move):
    (a,) = classify(bases, sc, acc(ratings=ratings, level=level, treats=treats, price=price, key=key))
    assert a["quadrant"]["id"] == box
    assert a["advice"]["action"] == action
    assert (a["move"] or {}).get("direction") == move
    assert a["quadrant"]["rule"].startswith("account.")
    cs, ss = a["customer_attractiveness"]["score"], a["supplier_attractiveness"]["score"]
    assert a["quadrant"]["because"] == [f"customer_attractiveness={cs}", f"supplier_attractiveness={ss}"]
    assert f"{cs} of 100" in a["quadrant"]["reason"] and f"{ss} of 100" in a["quadrant"]["reason"]


def test_the_account_of_2_4_of_5_is_never_called_attractive(bases, sc):
    ratings = dict(zip(CRITERIA, [2, 3, 2, 3, 2, 3, 2, 2.2]))  # mean 2.4
    assert sum(ratings.values()) / 8 == pytest.approx(2.4)
    (a,) = classify(bases, sc, acc(ratings=ratings, level="partner", treats=False, price=False, key=True))
    assert a["customer_attractiveness"]["score"] == 35
    assert a["customer_attractiveness"]["attractive"] is False
    assert a["quadrant"]["id"] in ("mutual.maintenance", "mutual.minimal")
    assert "is attractive to us" not in a["quadrant"]["reason"]
    assert "not attractive" in a["quadrant"]["reason"]


@settings(max_examples=60, deadline=None)
@given(ratings=st.lists(st.integers(1, 5), min_size=8, max_size=8),
       level=st.sampled_from(["commodity", "enhanced", "collaborative", "partner", None]),
       treats=st.sampled_from([True, False, None]), price=st.sampled_from([True, False, None]))
def test_the_words_always_match_the_scores(bases, sc, ratings, level, treats, price):
    (a,) = classify(bases, sc, acc(ratings=dict(zip(CRITERIA, ratings)), level=level, treats=treats, price=price))
    cs, ss = a["customer_attractiveness"]["score"], a["supplier_attractiveness"]["score"]
    reason = a["quadrant"]["reason"]
    if ss is None:
        assert a["quadrant"]["id"] == "none"
        return
    assert ("is attractive to us" in reason) == (cs >= sc.customer_min)
    assert ("we are attractive to it" in reason or "sees us as attractive" in reason) == (ss >= sc.supplier_min)
    assert (a["quadrant"]["id"] == "mutual.key") == (cs >= sc.customer_min and ss >= sc.supplier_min)


@settings(max_examples=200, deadline=None)
@given(ratings=st.lists(st.integers(1, 5), min_size=8, max_size=8), which=st.integers(0, 7),
       weights=st.lists(st.sampled_from([0, 0.5, 1, 2, 3]), min_size=8, max_size=8).filter(lambda w: any(w)))
def test_raising_any_criterion_never_lowers_attractiveness(sc, ratings, which, weights):
    import dataclasses
    weighted = dataclasses.replace(sc, weights=dict(zip(CRITERIA, map(float, weights))), rated_share_min=0.0)
    before = account.customer_score(dict(zip(CRITERIA, map(float, ratings))), weighted)[0]
    raised = list(ratings)
    raised[which] = min(5, raised[which] + 1)
    after = account.customer_score(dict(zip(CRITERIA, map(float, raised))), weighted)[0]
    if before is not None:
        assert after >= before


@settings(max_examples=200, deadline=None)
@given(ratings=st.lists(st.integers(1, 5), min_size=8, max_size=8), which=st.integers(0, 7),
       other=st.integers(1, 5))
def test_a_weight_of_0_removes_a_criterions_influence(sc, ratings, which, other):
    import dataclasses
    weights = dict.fromkeys(CRITERIA, 1.0)
    weights[CRITERIA[which]] = 0.0
    zeroed = dataclasses.replace(sc, weights=weights)
    changed = list(ratings)
    changed[which] = other
    assert account.customer_score(dict(zip(CRITERIA, map(float, ratings))), zeroed) == \
        account.customer_score(dict(zip(CRITERIA, map(float, changed))), zeroed)


def test_too_few_ratings_leave_the_account_unplaced(bases, sc):
    (a,) = classify(bases, sc, acc(ratings={"stability": 5, "brand": 5}))
    assert a["customer_attractiveness"]["score"] is None
    assert a["quadrant"]["id"] == "none" and a["advice"]["action"] == "rate"
    assert "2 of 8 weighted criteria rated" in a["quadrant"]["reason"]


def test_commodity_and_price_only_key_accounts_are_doubtful(bases, sc):
    (a,) = classify(bases, sc, acc(ratings=4, level="commodity", treats=True, price=True, key=True))
    flags = {f["id"]: f["severity"] for f in a["flags"]}
    assert flags == {"flag.account-commodity": "high", "flag.account-price-only": "medium"}
    (b,) = classify(bases, sc, acc(ratings=2, level="commodity", treats=False, price=True, key=False))
    assert b["flags"] == []  # neither key nor attractive: no key account to doubt


def test_many_accounts_per_session_give_the_same_results_as_one_at_a_time(bases, sc):
    accounts = [acc(name=f"A{n}", row=n + 2, ratings=1 + n % 5, level=["commodity", "enhanced", "partner"][n % 3],
                    treats=n % 2 == 0, price=n % 4 == 0, key=n % 3 == 0) for n in range(40)]
    together = classify(bases, sc, *accounts, chunk=1000)
    alone = classify(bases, sc, *accounts, chunk=1)
    assert together == alone


# --- portfolio files ----------------------------------------------------------------------------

def write_csv(path: Path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(header)
        w.writerows(rows)
    return path


def row(name, ratings=4, key="yes", manager="Ann", revenue=100000, level="collaborative", treats="yes", price="no",
        id=None):
    return [id or name, name, key, manager, revenue, "", *([ratings] * 8), level, treats, price]


def test_broken_csv_rows_are_reported_with_their_row_and_skipped(tmp_path):
    rows = [row("Good"), row("Bad rating"), row("Bad level"), row(""), row("Also good")]
    rows[1][6] = "9"
    rows[2][14] = "supplier"
    path = write_csv(tmp_path / "accounts.csv", rows)
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "--format", "json"])
    assert out.exit_code == 2
    data = json.loads(out.stdout)
    # a bad rating leaves that cell out, not the account
    assert [a["name"] for a in data["accounts"]] == ["Good", "Bad rating", "Also good"]
    assert [s["row"] for s in data["skipped"]] == [4, 5]
    warning = next(line for line in out.stderr.splitlines() if "warning" in line)
    assert "row 3, column stability: stability must be a rating from 1 to 5 (got '9')" in warning
    errors = [line for line in out.stderr.splitlines() if "skipped" in line]
    assert "row 4: buysell_level must be one of commodity, enhanced, collaborative, partner" in errors[0]
    assert "row 5: the account has no name" in errors[1]


def test_a_row_that_is_not_utf8_is_skipped_with_its_row(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,stability\nOk,3\nM\u00fcller,3\nFine,4\n".encode("latin-1"))
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "--format", "json"])
    assert out.exit_code == 2
    assert [a["name"] for a in json.loads(out.stdout)["accounts"]] == ["Ok", "Fine"]
    assert "latin1.csv: row 3: not UTF-8 text" in out.stderr


def test_unknown_columns_are_ignored_with_one_warning(tmp_path):
    path = write_csv(tmp_path / "a.csv", [row("Acme") + ["x", "y"]], HEADER + ["Region", "Segment"])
    out = CliRunner().invoke(main, ["accounts", "score", str(path)])
    assert out.exit_code == 0
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "Region, Segment" in warnings[0]


def test_a_file_without_a_name_column_is_one_line_and_exit_2(tmp_path):
    path = write_csv(tmp_path / "a.csv", [["x", 4]], ["account_id", "stability"])
    out = CliRunner().invoke(main, ["accounts", "score", str(path)])
    assert out.exit_code == 2 and "a.csv:1: no 'name' column" in out.stderr
    assert "Traceback" not in out.stderr


def xlsx_file(path: Path, rows, header=HEADER):
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def test_xlsx_broken_rows_name_their_cell_and_formulas_are_never_run(tmp_path):
    rows = [row("Good"), row("Bad"), ["F1", "=1+1", "yes", "Ann", 5, "", *([4] * 8), "partner", "yes", "no"]]
    rows[1][4] = "lots"
    path = xlsx_file(tmp_path / "accounts.xlsx", rows)
    out = CliRunner().invoke(main, ["accounts", "score", str(path), "--format", "json"])
    assert out.exit_code == 2
    assert "accounts.xlsx: Accounts!E3: revenue must be a number (got 'lots')" in out.stderr
    data = json.loads(out.stdout)
    # the cell holds a formula with no cached value: read as nothing, never evaluated
    assert [a["name"] for a in data["accounts"]] == ["Good"]
    assert "Accounts!B4: the account has no name" in out.stderr


HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def test_names_never_become_formulas_in_csv_or_xlsx(tmp_path):
    import openpyxl
    path = write_csv(tmp_path / "a.csv", [row(n, manager=n, id=n) for n in HOSTILE])
    CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "out.csv")])
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        cells = [c for r in csv.reader(handle) for c in r]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "out.xlsx")])
    book = openpyxl.load_workbook(tmp_path / "out.xlsx")
    values = [c.value for s in book.worksheets for r in s.iter_rows() for c in r if isinstance(c.value, str)]
    assert not [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert all(c.data_type != "f" for s in book.worksheets for r in s.iter_rows() for c in r)


# --- portfolio rules ----------------------------------------------------------------------------

@pytest.mark.parametrize("key_accounts, severity", [(99, None), (100, "medium"), (150, "medium"), (151, "high")])
def test_more_key_accounts_than_the_programme_can_serve(tmp_path, bases, key_accounts, severity):
    kb, base = bases
    path = write_csv(tmp_path / "a.csv", [row(f"A{n}", manager=f"M{n}") for n in range(key_accounts)])
    found = {f["id"]: f for f in account.score_portfolio(path, kb, base)["findings"]}
    assert (found.get("portfolio.too-many-key-accounts") or {}).get("severity") == severity


@pytest.mark.parametrize("per_manager, severity", [(5, None), (6, "medium"), (7, "medium"), (8, "high")])
def test_more_key_accounts_than_one_manager_can_serve(tmp_path, bases, per_manager, severity):
    kb, base = bases
    rows = [row(f"A{n}", manager="Ann") for n in range(per_manager)] + [row("B", manager="Bob")]
    found = account.score_portfolio(write_csv(tmp_path / "a.csv", rows), kb, base)["findings"]
    ann = [f for f in found if f["id"] == "portfolio.manager-overloaded" and f["manager"] == "Ann"]
    assert [f["severity"] for f in ann] == ([severity] if severity else [])
    assert not [f for f in found if f["manager"] == "Bob"]
    if severity:
        assert f"Ann manages {per_manager} key accounts" in ann[0]["message"]


def test_a_rerun_against_an_earlier_portfolio_says_what_moved(tmp_path):
    before = write_csv(tmp_path / "q1.csv", [row("Acme", id="C1"), row("Globex", ratings=2, id="C2"),
                                              row("Initech", id="C3")])
    runner = CliRunner()
    runner.invoke(main, ["accounts", "score", str(before), "-o", str(tmp_path / "q1.json")])
    after = write_csv(tmp_path / "q2.csv", [row("Acme", ratings=2, id="C1"), row("Globex renamed", ratings=5, id="C2"),
                                             row("Initech", id="C3")])
    out = runner.invoke(main, ["accounts", "score", str(after), "--previous", str(tmp_path / "q1.json"),
                               "--format", "json"])
    moved = {a["name"]: a["moved"] for a in json.loads(out.stdout)["accounts"]}
    assert moved["Acme"]["from"] == "mutual.key" and moved["Acme"]["to"] == "mutual.maintenance"
    assert moved["Globex renamed"]["from"] == "mutual.maintenance" and moved["Globex renamed"]["to"] == "mutual.key"
    assert moved["Initech"] is None
    assert json.loads(out.stdout)["summary"]["moved"] == 2
    # the same earlier result laid out differently (re-saved by another tool) reads the same
    earlier = json.loads((tmp_path / "q1.json").read_text())
    (tmp_path / "q1-compact.json").write_text(json.dumps(earlier))
    # ... or re-indented, each account over several lines (as `python -m json.tool` or `jq .` lay it out)
    (tmp_path / "q1-indented.json").write_text(json.dumps(earlier, indent=2))
    for name in ("q1-compact.json", "q1-indented.json"):
        again = runner.invoke(main, ["accounts", "score", str(after), "--previous", str(tmp_path / name),
                                     "--format", "json"])
        assert again.exit_code == 0, again.stderr
        assert again.stdout == out.stdout


def test_weights_files_are_validated(tmp_path):
    path = write_csv(tmp_path / "a.csv", [row("Acme")])
    cases = {"weights: {stability: -1}": "weight of 'stability' must be a number of 0 or more",
             "weights: {stability: 0, brand: 0}": "at least one weight must be above 0",
             "weights: {stabilty: 2}": "unknown criterion 'stabilty'; did you mean 'stability'?"}
    for text, message in cases.items():
        w = tmp_path / "w.yaml"
        w.write_text(text + "\n")
        out = CliRunner().invoke(main, ["accounts", "score", str(path), "--weights", str(w)])
        assert out.exit_code == 2 and message in out.stderr and "w.yaml:1" in out.stderr


def test_weights_change_the_score(tmp_path, bases):
    kb, base = bases
    ratings = [5, 1, 1, 1, 1, 1, 1, 1]
    path = write_csv(tmp_path / "a.csv", [["C1", "Stable", "yes", "Ann", 1, "", *ratings, "partner", "yes", "no"]])
    w = tmp_path / "w.yaml"
    w.write_text("weights: {stability: 1}\n")
    default = account.score_portfolio(path, kb, base)["accounts"][0]
    only = account.score_portfolio(path, kb, base, weights_file=w)["accounts"][0]
    assert default["customer_attractiveness"]["score"] == 12
    assert only["customer_attractiveness"]["score"] == 100  # only stability counts, and it is rated 5
    w.write_text("weights: {stability: 3, brand: 1, ease: 1, financial: 1}\n")
    assert account.score_portfolio(path, kb, base, weights_file=w)["accounts"][0][
        "customer_attractiveness"]["score"] == 50


def test_template_then_score_round_trip(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["accounts", "template", "-o", str(tmp_path / "t.csv")]).exit_code == 0
    header = (tmp_path / "t.csv").read_text().splitlines()[0].split(",")
    assert header == HEADER
    out = runner.invoke(main, ["accounts", "score", str(tmp_path / "t.csv"), "--format", "json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert data["kind"] == "portfolio"
    for a in data["accounts"]:
        assert {"name", "customer_attractiveness", "supplier_attractiveness", "quadrant", "advice"} <= set(a)
        assert a["quadrant"]["rule"] and a["quadrant"]["reason"]
    assert runner.invoke(main, ["accounts", "template", "-o", str(tmp_path / "t.xlsx")]).exit_code == 0
    assert runner.invoke(main, ["accounts", "score", str(tmp_path / "t.xlsx")]).exit_code == 0


def test_outputs_are_deterministic(tmp_path):
    path = write_csv(tmp_path / "a.csv", [row(f"A{n}", ratings=1 + n % 5, manager=f"M{n % 3}") for n in range(30)])
    runner = CliRunner()
    for fmt in ("json", "csv", "html"):
        a = runner.invoke(main, ["accounts", "score", str(path), "--format", fmt, "-o", str(tmp_path / f"1.{fmt}")])
        b = runner.invoke(main, ["accounts", "score", str(path), "--format", fmt, "-o", str(tmp_path / f"2.{fmt}")])
        assert a.exit_code == b.exit_code == 0
        assert (tmp_path / f"1.{fmt}").read_bytes() == (tmp_path / f"2.{fmt}").read_bytes()


def test_the_html_report_has_the_matrix_the_quadrants_and_the_deselection_list(tmp_path):
    rows = [row("Big", revenue=5_000_000), row("Small", revenue=10_000), row("Drop <me>", ratings=1, level="commodity",
                                                                               treats="no", price="yes")]
    path = write_csv(tmp_path / "a.csv", rows)
    CliRunner().invoke(main, ["accounts", "score", str(path), "-o", str(tmp_path / "r.html")])
    html = (tmp_path / "r.html").read_text()
    svg = re.search(r"<svg class=\"chart matrix\".*?</svg>", html, re.S).group(0)
    radii = {m.group(2): float(m.group(1)) for m in re.finditer(r'r="([\d.]+)"[^>]*><title>([^:<]+):', svg)}
    assert radii["Big"] > radii["Small"]  # bubble size grows with revenue
    deselect = html[html.index('id="deselect"'):html.index('id="quadrants"')]
    assert "Drop &lt;me&gt;" in deselect and "Big" not in deselect
    assert "Drop <me>" not in html
    for name in ("Mutual attraction (key account)", "Low mutual attraction"):
        assert name in html


# --- an account answers file --------------------------------------------------------------------

def test_account_answers_give_an_account_result_not_a_programme_diagnosis(tmp_path):
    answers = {"account_name": "Globex", "is_key": "yes", "buysell_level": "commodity", "treats_us_as_key": "no",
               "price_only": "yes", **{f"attract_{k}": 4 for k in CRITERIA}}
    path = tmp_path / "globex.yaml"
    path.write_text(yaml.safe_dump({"questionnaire": "account", "answers": answers}))
    result = assess_files([path])
    assert result["kind"] == "account"
    assert "overall" not in result and "recommendations" not in result
    assert result["name"] == "Globex"
    assert result["customer_attractiveness"]["score"] == 75 and result["supplier_attractiveness"]["score"] == 0
    assert result["quadrant"]["id"] == "mutual.build" and result["advice"]["action"] == "develop"
    assert {f["id"] for f in result["flags"]} == {"flag.account-commodity", "flag.account-price-only"}
    runner = CliRunner()
    text = runner.invoke(main, ["assess", "--answers", str(path)]).stdout
    assert text.startswith("Account: Globex") and "Build our attractiveness" in text
    assert "working on" not in text and "Next actions" not in text
    html = runner.invoke(main, ["report", "--answers", str(path), "--output", "-"]).stdout
    assert "<svg" in html and "Globex" in html
    out = tmp_path / "out"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "globex.yaml").write_text(path.read_text())
    runner.invoke(main, ["batch", str(tmp_path / "in"), "-o", str(out)])
    summary = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text())))
    assert summary[0]["kind"] == "account" and summary[0]["account"] == "Globex"
    assert summary[0]["customer_attractiveness"] == "75" and summary[0]["quadrant"] == "Build our attractiveness"


def test_explain_follows_an_accounts_quadrant_down_to_the_answers(tmp_path):
    answers = {"account_name": "Globex", "buysell_level": "enhanced", "treats_us_as_key": "no",
               **{f"attract_{k}": 2 for k in CRITERIA}}
    path = tmp_path / "globex.yaml"
    path.write_text(yaml.safe_dump({"questionnaire": "account", "answers": answers}))
    out = CliRunner().invoke(main, ["explain", "quadrant", "--answers", str(path)])
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].startswith("quadrant  [account.quadrant.minimal]")
    assert "customer_attractiveness=25" in out.stdout and "account_attract_brand=2" in out.stdout
    assert "account_buysell_level=enhanced" in out.stdout
