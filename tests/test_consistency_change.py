"""Issue 19: advice that holds for clients nobody has seen yet — principles, not cases.

Each principle is checked by the library's own checker (kam_advisor.render.consistency_change),
over hypothesis-generated organisations, audits, units and portfolios, in every output format,
and over the golden cases and fixtures the project already has:

6. a re-audit's executive summary says what went backwards (stages lost, foundation topics that
   fell back, red flags newly raised) before what improved; ``compare`` lists raised red flags
   with the regressions; ``history`` shows the movement within a stage;
9. the organisation view carries each unit's high red flags, named by unit, phrases tensions for
   this client (the seed's Austria and Kamchatka lines only as labelled illustrations) and calls
   a tension the audits show "present", not "to expect";
11. every key account today is kept, moved off or listed for review, a commodity or price-only
   key account never silently kept, and today - moved off + moved on = proposed everywhere.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st
from markupsafe import escape

import change_inputs as gen
from kam_advisor.cli import main
from kam_advisor.render import accounts as render_accounts, history as render_history, report
from kam_advisor.render.consistency_change import (ReportInconsistency, check_change, check_compare, check_history,
                                                   check_portfolio, check_progress, check_units)
from kam_advisor.results import account
from kam_advisor.results.compare import change_summary, compare
from kam_advisor.results.units import rollup

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "cases").glob("*.yaml"))
ACCOUNT_CASES = sorted((ROOT / "tests" / "cases" / "accounts").glob("*.yaml"))
EXAMPLES = ROOT / "examples"
FORMATS = ("text", "md", "html")
PROPERTY = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def bases():
    return gen.bases()


@pytest.fixture(scope="module")
def conflicts(bases):
    kb, _ = bases
    return [{**r.data, "item_texts": {i: kb.items[i].text for i in r.data["items"]}}
            for r in kb.records.values() if r.kind == "conflict"]


def _label(result, audit_id):
    return {"id": audit_id, "date": result["date"], "unit": None, "assessor": None}


def _change(old, new):
    return change_summary(compare(old, new, _label(old, "0a1b2c3d4e5f"), _label(new, None)), old, new)


def progress_report(old, new) -> tuple[str, dict]:
    """The JSON and the text, Markdown and HTML report of ``new`` with ``old`` kept before it."""
    change = _change(old, new)
    progress = {"organisation": new["organisation"], "unit": None, "target": None, "change": change,
                "earlier": [{"id": "0a1b2c3d4e5f", "date": old["date"], "unit": None, "assessor": None,
                             "achieved": old["overall"]["achieved"], "current": old["overall"]["current"],
                             "coverage": old["coverage"]["ratio"], "red_flags": len(old["red_flags"])}]}
    return report.render(new, "json", progress=progress), {f: report.render(new, f, progress=progress) for f in FORMATS}


def compare_doc(old, new, units=None) -> dict:
    return {"organisation": new["organisation"], "unit": None,
            "stages": [{"id": s["id"], "name": s["name"]} for s in new["stages"]],
            "comparison": None if old is None else compare(old, new, _label(old, "0a1b2c3d4e5f"),
                                                           _label(new, "f5e4d3c2b1a0")),
            "trend": None, "target": None, "units": units}


def rendered_compare(doc) -> tuple[str, dict]:
    return render_history.render(doc, "json"), {f: render_history.render(doc, f) for f in FORMATS}


# --- principle 6: re-audits speak of change ----------------------------------------------------

@settings(max_examples=250, **PROPERTY)
@given(p=gen.profile, c=gen.change)
def test_a_reaudit_lists_everything_that_went_backwards_and_nothing_that_did_not(bases, p, c):
    kb, base = bases
    old, new = gen.audit_pair(p, c, kb, base)
    change = _change(old, new)
    check_change(change, new, earlier=old)
    assert json.dumps(change) == json.dumps(_change(old, new))       # same audits, same words


@settings(max_examples=80, **PROPERTY)
@given(p=gen.profile, c=gen.change)
def test_every_format_opens_the_summary_with_the_change_and_compare_puts_raised_flags_with_regressions(bases, p, c):
    kb, base = bases
    old, new = gen.audit_pair(p, c, kb, base)
    data, rendered = progress_report(old, new)
    check_progress(data, rendered, earlier=old)
    check_compare(*rendered_compare(compare_doc(old, new)))


@pytest.fixture(scope="module")
def golden_results(bases):
    """Every golden case (tests/cases) assessed, and the fixture of the golden report."""
    from test_cases import evidence_for, read_case
    from kam_advisor.results.assessment import assess_evidence
    kb, base = bases
    out = {}
    for path in CASES:
        r = assess_evidence(evidence_for(read_case(path), kb), kb, base)
        out[path.stem] = {**r, "organisation": path.stem, "date": "2026-10-15"}
    fixture = json.loads((ROOT / "tests" / "fixtures" / "sample-result.json").read_text())
    out["sample-result"] = fixture
    return out


def test_the_golden_cases_as_reaudits_of_one_another_keep_principle_6(golden_results):
    names = sorted(golden_results)
    for a, b in itertools.chain(zip(names, names[1:]), zip(names[1:], names), [(names[0], names[0])]):
        old = {**golden_results[a], "date": "2026-04-15"}
        new = {**golden_results[b], "organisation": golden_results[a]["organisation"]}
        data, rendered = progress_report(old, new)
        check_progress(data, rendered, earlier=old)
        check_compare(*rendered_compare(compare_doc(old, new)))


def test_the_summary_says_nothing_of_change_without_an_earlier_audit(golden_results):
    result = golden_results["sample-result"]
    rendered = {f: report.render(result, f) for f in FORMATS}
    check_progress(report.render(result, "json"), rendered)
    assert all("What went backwards" not in text for text in rendered.values())


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


@pytest.fixture()
def reaudit(tmp_path):
    """Northwind in April (its stage-A work partly done, a sponsor, Positioning's stage-B work
    done) saved in a history; the example itself is the October re-audit."""
    doc = yaml.safe_load((EXAMPLES / "northwind-early-b.yaml").read_text())
    for item, value in doc["answers"].items():
        status = value["status"] if isinstance(value, dict) else value
        new = "partial" if item.rsplit(".", 1)[-1].startswith("a") and status == "done" else \
            "done" if item.startswith("sp.goals.positioning.b") else status
        doc["answers"][item] = {**value, "status": new} if isinstance(value, dict) else new
    doc["date"] = "2026-04-01"
    doc["facts"]["has_senior_sponsor"] = True
    path = tmp_path / "april.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("assess", "--answers", path, "--save", "--db", url).exit_code == 0
    from kam_advisor.results.assess import assess_files
    return url, assess_files([path])


def test_report_progress_end_to_end_opens_with_the_regressions(reaudit):
    url, april = reaudit
    out = {f: invoke("report", "--example", "northwind-early-b", "--progress", "--db", url, "--format", f,
                     "--output", "-").stdout for f in ("json",) + FORMATS}
    doc = json.loads(out["json"])
    check_progress(doc, {f: out[f] for f in FORMATS}, earlier=april)
    change = doc["progress"]["change"]
    kinds = [i["kind"] for i in change["regressed"]]
    assert kinds == ["foundation_fell_back", "red_flag_raised"]     # Positioning's stage-B work, the sponsor
    assert change["regressed"][0]["name"] == "Positioning" and "sp.goals" not in change["regressed"][0]["text"]
    assert change["regressed"][1]["id"] == "flag.no-sponsor"
    assert change["improved"][0]["text"].startswith("The KAM programme moved up from no stage achieved to stage A")


def test_history_tells_two_audits_at_one_stage_apart(reaudit, tmp_path):
    url, _ = reaudit
    doc = yaml.safe_load((EXAMPLES / "northwind-early-b.yaml").read_text())
    later = {**doc, "date": "2027-04-15",
             "answers": {**doc["answers"], **{i: "done" for i in doc["answers"] if i.startswith("sp.planning.")}}}
    path = tmp_path / "april-2027.yaml"
    path.write_text(yaml.safe_dump(later, sort_keys=False))
    assert invoke("assess", "--example", "northwind-early-b", "--save", "--db", url).exit_code == 0
    assert invoke("assess", "--answers", path, "--save", "--db", url).exit_code == 0
    text = invoke("history", "Northwind Components Ltd", "--db", url).stdout
    data = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json", "--db", url).stdout)
    check_history(data, {"text": text})
    october, april = data["audits"][1:]
    assert (october["achieved"], october["current"]) == (april["achieved"], april["current"]) == ("A", "B")
    assert april["since_previous"]["stage"] == "same" and april["since_previous"]["actions_done"] > 0
    assert f"+{april['since_previous']['actions_done']} done" in text.splitlines()[-1]


@pytest.fixture(scope="module")
def history_store(tmp_path_factory):
    from kam_advisor.store import open_store
    with open_store(f"sqlite:///{tmp_path_factory.mktemp('history') / 'h.db'}") as store:
        yield store


_ORGS = itertools.count()


@settings(max_examples=40, **PROPERTY)
@given(p=gen.profile, moves=st.lists(st.tuples(gen.change, st.sampled_from([None, "EMEA", "APAC"])),
                                     min_size=1, max_size=4))
def test_history_shows_the_movement_within_a_stage_of_any_audits(bases, history_store, p, moves):
    from kam_advisor.store.history import history_listing
    kb, base = bases
    org = f"Org {next(_ORGS)}"
    statuses = gen.statuses_of(p, kb)
    for n, (c, unit) in enumerate(moves):
        statuses = gen.moved(statuses, c, kb)
        result = gen.assess(statuses, c["facts"], kb, base, organisation=org, date=f"2026-{n + 1:02d}-15")
        history_store.save(result, organisation=org, unit=unit)
    doc = history_listing(history_store, org)
    check_history(json.loads(json.dumps(doc)), {"text": render_history.history_text(doc)})


# --- principle 9: group views ------------------------------------------------------------------

UNIT_NAMES = ["Austria", "Germany", "France", "Nord & Süd", "APAC <East>", "Salzburg", "R&D_2*", "Iberia"]


@settings(max_examples=100, **PROPERTY)
@given(profiles=st.lists(gen.profile, min_size=2, max_size=4), names=st.permutations(UNIT_NAMES))
def test_the_organisation_view_carries_each_units_high_flags_and_phrases_tensions_for_the_client(
        bases, conflicts, profiles, names):
    kb, base = bases
    results = {name: gen.assess(gen.statuses_of(p, kb), p["facts"], kb, base, organisation="Acme")
               for name, p in zip(names, profiles)}
    units = rollup([{"unit": n, "id": f"{i:012x}", "date": "2026-10-15", "result": r}
                    for i, (n, r) in enumerate(sorted(results.items()))], base.params, conflicts)
    doc = compare_doc(None, next(iter(results.values())), units)
    data, rendered = rendered_compare(doc)
    check_units(data, rendered, results, conflicts)


def test_the_golden_cases_as_units_of_one_organisation_keep_principle_9(golden_results, bases, conflicts):
    _, base = bases
    names = sorted(golden_results)
    for start in range(0, len(names), 3):
        group = {f"Unit {n}": golden_results[n] for n in names[start:start + 3]}
        if len(group) < 2:
            continue
        units = rollup([{"unit": n, "id": None, "date": "2026-10-15", "result": r} for n, r in group.items()],
                       base.params, conflicts)
        data, rendered = rendered_compare(compare_doc(None, next(iter(group.values())), units))
        check_units(data, rendered, group, conflicts)


def test_compare_of_an_organisation_with_units_end_to_end(tmp_path, reaudit):
    url, april = reaudit
    from kam_advisor.results.assess import assess_files
    for name, path in (("Austria", EXAMPLES / "northwind-early-b.yaml"), ("Germany", EXAMPLES / "meridian-mature.yaml"),
                       ("France", tmp_path / "april.yaml")):
        assert invoke("assess", "--answers", path, "--save", "--org", "Acme", "--unit", name, "--db", url).exit_code == 0
    out = {f: invoke("compare", "Acme", "--db", url, "--format", f, "--output", "-").stdout
           for f in ("json",) + FORMATS}
    results = {"Austria": assess_files([EXAMPLES / "northwind-early-b.yaml"]),
               "Germany": assess_files([EXAMPLES / "meridian-mature.yaml"]), "France": april}
    check_units(out["json"], {f: out[f] for f in FORMATS}, results)
    units = json.loads(out["json"])["units"]
    carried = {(f["unit"], f["id"]) for f in units["red_flags"]}
    assert ("Austria", "flag.no-sponsor") in carried and ("France", "flag.no-sponsor") not in carried  # France has one
    assert "Germany" not in {unit for unit, _ in carried}
    present = [t for t in units["tensions"] if t["status"] == "present"]
    assert present and all("Germany" in t["text"] and "Austria" in t["text"] for t in present)
    geography = next(t for t in present if t["id"] == "conflict.geography")
    assert "Salzburg" not in geography["text"] and "Salzburg" in geography["illustration"]


# --- principle 11: the portfolio ---------------------------------------------------------------

ACCOUNT_NAMES = ["Koru Foods", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Acme & Sons", "Δelta <GmbH>"]
rating = st.one_of(st.none(), st.integers(1, 5))
account_row = st.fixed_dictionaries({
    "name": st.sampled_from(ACCOUNT_NAMES),
    "key_account": st.sampled_from([True, False, None]),
    "manager": st.sampled_from(["Ann", "Bo", None]),
    "revenue": st.one_of(st.none(), st.integers(0, 5_000_000)),
    "ratings": st.one_of(st.integers(1, 5), st.lists(rating, min_size=8, max_size=8)),
    "buysell_level": st.sampled_from(["commodity", "enhanced", "collaborative", "partner", None]),
    "treats_us_as_key": st.sampled_from([True, False, None]),
    "price_only": st.sampled_from([True, False, None]),
})


def _write_portfolio(path: Path, rows: list[dict], criteria: list[str], key_column: bool = True) -> Path:
    def cell(v):
        return "" if v is None else "yes" if v is True else "no" if v is False else str(v)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "name"] + (["key_account"] if key_column else []) + ["manager", "revenue", *criteria,
                                                                             "buysell_level", "treats_us_as_key",
                                                                             "price_only"])
        for n, r in enumerate(rows):
            ratings = r["ratings"] if isinstance(r["ratings"], list) else [r["ratings"]] * len(criteria)
            w.writerow([f"C-{n}", r["name"]] + ([cell(r["key_account"])] if key_column else [])
                       + [cell(r["manager"]), cell(r["revenue"]), *(cell(x) for x in ratings),
                          cell(r["buysell_level"]), cell(r["treats_us_as_key"]), cell(r["price_only"])])
    return path


def portfolio_outputs(path: Path, bases, folder: Path) -> tuple[dict, dict]:
    """The portfolio in every format ``accounts score`` writes: JSON, CSV, HTML, xlsx (its
    Summary sheet) and the printed summary."""
    kb, base = bases

    def run():
        return account.open_portfolio(path, kb, base)
    buf = io.StringIO()
    tail = render_accounts.write_json(buf, run())
    data = json.loads(buf.getvalue())
    csv_buf = io.StringIO()
    render_accounts.write_csv(csv_buf, run())
    html, _ = render_accounts.render_portfolio_html(run())
    render_accounts.write_xlsx(folder / "out.xlsx", run())
    book = openpyxl.load_workbook(folder / "out.xlsx", read_only=True)
    summary = [tuple(r) for r in book["Summary"].iter_rows(min_row=2, values_only=True)]
    book.close()
    text = render_accounts.summary_text(tail["summary"], len(tail["skipped"]), len(tail["findings"]))
    return data, {"text": text, "html": html, "csv": csv_buf.getvalue(), "xlsx_summary": summary}


@settings(max_examples=200, **PROPERTY)
@given(rows=st.lists(account_row, min_size=1, max_size=25), key_column=st.booleans())
def test_every_key_account_is_kept_moved_off_or_reviewed_and_the_list_adds_up(bases, tmp_path_factory, rows,
                                                                                key_column):
    kb, _ = bases
    folder = tmp_path_factory.mktemp("portfolio")
    path = _write_portfolio(folder / "accounts.csv", rows, [k for k, _ in account.criteria(kb)], key_column)
    data, rendered = portfolio_outputs(path, bases, folder)
    check_portfolio(data, rendered)


def test_the_account_cases_and_the_template_keep_principle_11(bases, tmp_path):
    from test_account_plan_cases import write_accounts
    kb, _ = bases
    criteria = [k for k, _ in account.criteria(kb)]
    files = []
    for case_file in ACCOUNT_CASES:
        for n, case in enumerate(yaml.safe_load(case_file.read_text())["cases"]):
            files.append(write_accounts(tmp_path / f"{case_file.stem}-{n}.csv", case["accounts"], criteria))
    assert invoke("accounts", "template", "-o", tmp_path / "template.csv").exit_code == 0
    files.append(tmp_path / "template.csv")
    for path in files:
        data, rendered = portfolio_outputs(path, bases, tmp_path)
        check_portfolio(data, rendered)


def test_a_key_account_that_buys_as_a_commodity_and_wants_only_price_is_never_kept(bases, tmp_path):
    """Koru (seed 001): some customers just want a good product at a good price; such a key
    account is reviewed or moved off, whatever else is true of it."""
    kb, _ = bases
    criteria = [k for k, _ in account.criteria(kb)]
    rows = [{"name": f"Koru {r}-{t}", "key_account": True, "manager": "Ann", "revenue": 1000, "ratings": r,
             "buysell_level": "commodity", "treats_us_as_key": t, "price_only": True}
            for r in range(1, 6) for t in (True, False, None)]
    data, rendered = portfolio_outputs(_write_portfolio(tmp_path / "koru.csv", rows, criteria), bases, tmp_path)
    check_portfolio(data, rendered)
    assert {a["key_list"] for a in data["accounts"]} <= {"review", "off"}
    assert "the 1 key account" not in rendered["text"]
    one = [{**rows[-1], "ratings": 4, "treats_us_as_key": True}]
    data, rendered = portfolio_outputs(_write_portfolio(tmp_path / "one.csv", one, criteria), bases, tmp_path)
    assert data["summary"]["arithmetic"]["text"] == "1 key account today \u2212 0 moved off + 0 moved on = 1 proposed, " \
                                                    "to review."
    assert "the key account that buys from you as a commodity: move it up" in rendered["text"]


# --- the checker catches what breaks a principle ------------------------------------------------

def test_the_checker_names_the_principle_a_report_breaks(reaudit, tmp_path):
    url, april = reaudit
    out = {f: invoke("report", "--example", "northwind-early-b", "--progress", "--db", url, "--format", f,
                     "--output", "-").stdout for f in ("json",) + FORMATS}
    doc = json.loads(out["json"])
    change = doc["progress"]["change"]
    text = out["text"]
    # what improved told before what went backwards
    backwards = text[text.index("What went backwards:"):text.index("What improved:")]
    improved = text[text.index("What improved:"):text.index("\n\n", text.index("What improved:"))]
    swapped = text.replace(backwards + improved, improved + "\n\n" + backwards.rstrip("\n"))
    assert swapped != text
    with pytest.raises(ReportInconsistency, match="principle 6"):
        check_progress(doc, {"text": swapped})
    # the change moved below the summary's first steps
    md = out["md"]
    block = md[md.index("What went backwards:"):md.index("**The KAM programme")]
    with pytest.raises(ReportInconsistency, match="principle 6"):
        check_progress(doc, {"md": md.replace(block, "").replace("### First steps", block + "### First steps")})
    # a regression left out
    item = change["regressed"][1]["text"]
    with pytest.raises(ReportInconsistency, match="principle 6"):
        check_progress(doc, {"html": out["html"].replace(str(escape(item)), "")})
    # a raised red flag listed only under what cleared
    assert invoke("assess", "--example", "northwind-early-b", "--save", "--db", url).exit_code == 0
    cmp = {f: invoke("compare", "Northwind Components Ltd", "--db", url, "--format", f).stdout
           for f in ("json", "md")}
    raised = json.loads(cmp["json"])["comparison"]["red_flags"]["raised"][0]["title"]
    md = cmp["md"].replace(f"- {raised}", "- (moved)").replace("## Red flags cleared\n", f"## Red flags cleared\n\n- {raised}\n")
    with pytest.raises(ReportInconsistency, match="principle 6"):
        check_compare(cmp["json"], {"md": md})
    # wrong plurals, an id on a client's page, a list running into the next paragraph
    for broken in (cmp["md"].replace("## Regressions", "1 actions went back\n\n## Regressions"),
                   cmp["md"].replace("## Regressions", "See sp.goals.positioning.a1\n\n## Regressions"),
                   cmp["md"].replace("\n\n## Stage changes", "\nA paragraph.\n\n## Stage changes")):
        with pytest.raises(ReportInconsistency, match="principle 6"):
            check_compare(cmp["json"], {"md": broken})


def test_the_checker_catches_a_seed_illustration_told_as_the_clients_and_broken_arithmetic(bases, tmp_path, conflicts):
    kb, base = bases
    from kam_advisor.results.assess import assess_files
    results = {"North": assess_files([EXAMPLES / "northwind-early-b.yaml"]),
               "South": assess_files([EXAMPLES / "meridian-mature.yaml"])}
    units = rollup([{"unit": n, "id": None, "date": "2026-10-15", "result": r} for n, r in results.items()],
                   base.params, conflicts)
    data, rendered = rendered_compare(compare_doc(None, results["North"], units))
    check_units(data, rendered, results, conflicts)
    example = units["tensions"][0]["illustration"]
    told = rendered["md"].replace(render_history.ILLUSTRATION + ": \u201c" + render_history._md(example),
                                  "in your organisation: \u201c" + render_history._md(example))
    assert told != rendered["md"]
    with pytest.raises(ReportInconsistency, match="principle 9"):
        check_units(data, {"md": told}, results)
    wrong = json.loads(data)
    wrong["units"]["tensions"][0]["status"] = "to_expect"
    with pytest.raises(ReportInconsistency, match="principle 9"):
        check_units(wrong, {}, results)
    dropped = json.loads(data)
    dropped["units"]["red_flags"] = dropped["units"]["red_flags"][1:]
    with pytest.raises(ReportInconsistency, match="principle 9"):
        check_units(dropped, {}, results)

    criteria = [k for k, _ in account.criteria(kb)]
    rows = [{"name": "Koru Foods", "key_account": True, "manager": "Ann", "revenue": 10, "ratings": 4,
             "buysell_level": "commodity", "treats_us_as_key": True, "price_only": False}]
    data, rendered = portfolio_outputs(_write_portfolio(tmp_path / "p.csv", rows, criteria), bases, tmp_path)
    check_portfolio(data, rendered)
    kept = json.loads(json.dumps(data))
    kept["accounts"][0]["key_list"], kept["accounts"][0]["reviews"] = "keep", []
    with pytest.raises(ReportInconsistency, match="principle 11"):
        check_portfolio(kept, {})
    with pytest.raises(ReportInconsistency, match="principle 11"):
        check_portfolio(data, {"html": rendered["html"].replace("= 1 proposed", "= 2 proposed")})
