"""The peer benchmark on SQLite and PostgreSQL: percentiles and median stages against a store
computed by hand, the refusal under the anonymity threshold in every format, no other
organisation named in any output, and the command line's one-line errors."""

from __future__ import annotations

import html
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from history.conftest import EXAMPLES
from kam_advisor.cli import main
from kam_advisor.data import peers as peer_data
from kam_advisor.render.benchmark import render
from kam_advisor.store.benchmark import benchmark, score_rows

STAGES = [{"id": s, "name": f"Stage {s}"} for s in "ABCD"]


def result(organisation, t1, t2, stage=None, t2_assessed=True, date="2026-06-01"):
    """A small assessment result: one dimension of two topics, each (done, partial, not started)
    at stage A, so every score is easy to work out by hand."""
    def topic(tid, counts, assessed=True):
        d, p, n = counts
        return {"id": tid, "name": tid.title(), "dimension": "sp", "achieved": stage, "current": "B",
                "assessed": assessed, "cells": {"A": {"total": d + p + n, "done": d, "partial": p, "not_started": n}}}
    return {"organisation": organisation, "date": date, "stages": STAGES,
            "overall": {"id": "programme", "name": "KAM programme", "achieved": stage, "current": "B"},
            "dimensions": [{"id": "sp", "name": "Strategy", "achieved": stage, "current": "B"}],
            "topics": [topic("sp.one", t1), topic("sp.two", t2, t2_assessed)]}


SUBJECT = "Subject Ltd"
# peer: (t1, t2, stage); programme = all four actions of both topics
PEERS = {"Peer One": ((0, 0, 2), (0, 0, 2), None),        # t1 0, t2 0, programme 0
         "Peer Two": ((1, 0, 1), (0, 2, 0), "A"),         # 50, 50, 50
         "Peer Three": ((1, 0, 1), (2, 0, 0), "B"),       # 50, 100, 75
         "Peer Four": ((2, 0, 0), (2, 0, 0), "C"),        # 100, 100, 100
         "Peer Five": ((0, 1, 1), (1, 0, 1), "A")}        # 25, 50, 37.5


def fill(store, peers=PEERS, sector="Automotive", size="large"):
    store.save(result(SUBJECT, (1, 0, 1), (2, 0, 0), "A", date="2025-01-01"), sector=sector, size_band=size)
    store.save(result(SUBJECT, (1, 0, 1), (2, 0, 0), "B"), sector=sector, size_band=size)   # t1 50, t2 100, prog 75
    for name, (t1, t2, stage) in peers.items():
        store.save(result(name, t1, t2, stage), sector=sector, size_band=size)
    # latest wins: an older audit at the top, the latest at the bottom
    store.save(result("Peer Six", (2, 0, 0), (2, 0, 0), "D", date="2024-01-01"), sector=sector, size_band=size)
    store.save(result("Peer Six", (0, 0, 2), (0, 0, 2), None), sector=sector, size_band=size)
    # not peers of the default group: another sector; an audit of a unit only
    store.save(result("Other Sector plc", (2, 0, 0), (2, 0, 0), "D"), sector="Retail", size_band=size)
    store.save(result("Units Only plc", (2, 0, 0), (2, 0, 0), "D"), unit="EMEA", sector=sector, size_band=size)


def _figures(doc):
    units = [doc["programme"], *doc["dimensions"], *doc["topics"]]
    return {u["id"]: (u["percentile"], u["peer_median_stage"], u["peers"]) for u in units}


def test_scores_are_the_checklist_score_of_each_unit():
    rows = {r["ref"]: r["value"] for r in score_rows("x", result("A", (1, 1, 2), (3, 0, 0), "A"))}
    # t1: (1 + 0.5) / 4; t2: 3 / 3; programme and dimension: (1 + 0.5 + 3) / 7
    assert rows == {"sp.one": 37.5, "sp.two": 100.0, "sp": 64.29, "programme": 64.29}


def test_percentiles_and_median_stages_match_a_store_worked_out_by_hand(store):
    fill(store)
    doc = benchmark(store, SUBJECT)
    assert doc["kind"] == "benchmark" and doc["schema_version"] == 1
    assert doc["group"] == {"sector": "automotive", "size_band": "large", "size_band_name": "250 to 4,999 employees",
                            "peers": 6, "min_peers": 5, "shown": True, "withheld": None}
    # programme 75 among 0, 50, 75, 100, 37.5, 0: 4 below, 1 equal -> (4 + 0.5) / 6 = 75
    # t1 50 among 0, 50, 50, 100, 25, 0: 3 below, 2 equal -> (3 + 1) / 6 = 66.7 -> 67
    # t2 100 among 0, 50, 100, 100, 50, 0: 4 below, 2 equal -> (4 + 1) / 6 = 83.3 -> 83
    # stages none, A, B, C, A, none -> none, none, A, A, B, C: the 3rd (lower middle) is A
    assert _figures(doc) == {"programme": (75, "A", 6), "sp": (75, "A", 6), "sp.one": (67, "A", 6),
                             "sp.two": (83, "A", 6)}
    assert doc["audit"]["stage"] == "B" and doc["programme"]["score"] == 75.0
    # every sector: Other Sector plc (100 everywhere, stage D) joins -> 7 peers
    every = benchmark(store, SUBJECT, sector="any")
    # programme: (4 + 0.5) / 7 = 64.3; t2: (4 + 1.5) / 7 = 78.6; stages none, none, A, A, B, C, D: the 4th is A
    assert _figures(every)["programme"] == (64, "A", 7) and _figures(every)["sp.two"] == (79, "A", 7)
    assert every["group"]["sector"] is None


def test_an_assessment_not_saved_is_placed_among_the_same_peers(store):
    fill(store)
    doc = benchmark(store, SUBJECT, result=result(SUBJECT, (2, 0, 0), (2, 0, 0), "C"))
    # 100 everywhere: programme among 0, 50, 75, 100, 37.5, 0 -> (5 + 0.5) / 6 = 91.7
    assert doc["audit"]["id"] is None and _figures(doc)["programme"] == (92, "A", 6)


def test_a_unit_measured_by_fewer_than_five_peers_shows_no_figure(store):
    peers = dict(PEERS)
    fill(store, {name: v for name, v in peers.items()})
    for name in ("Peer Two", "Peer Three"):        # their second topic not assessed: 4 peers measured it
        store.save(result(name, (1, 0, 1), (0, 0, 0), "A", t2_assessed=False, date="2026-07-01"),
                   sector="automotive", size_band="large")
    doc = benchmark(store, SUBJECT)
    figures = _figures(doc)
    assert figures["sp.two"] == (None, None, None) and figures["sp.one"][2] == 6
    assert "fewer than 5" in doc["topics"][1]["withheld"]


@pytest.mark.parametrize("fmt", ["text", "json", "html"])
def test_fewer_than_five_peers_shows_no_figure_and_says_so(store, fmt):
    fill(store, {name: v for name, v in list(PEERS.items())[:3]})    # with Peer Six: 4 peers
    doc = benchmark(store, SUBJECT)
    assert doc["group"]["peers"] == 4 and doc["group"]["shown"] is False
    assert all(p is None and m is None and n is None for p, m, n in _figures(doc).values())
    out = render(doc, fmt)
    said = "the peer group holds 4 other organisations, fewer than 5"
    assert said in (html.unescape(out) if fmt == "html" else out)
    if fmt == "json":
        assert json.loads(out)["group"]["withheld"].startswith(said)
    else:
        assert "percentile" not in out.lower().replace("percentile_rule", "")


def test_the_threshold_is_data(store, tmp_path):
    fill(store)
    text = peer_data.default_path().read_text().replace("value: 5", "value: 7")
    (tmp_path / "peers.yaml").write_text(text)
    doc = benchmark(store, SUBJECT, rules=peer_data.load(str(tmp_path / "peers.yaml")))
    assert doc["group"]["min_peers"] == 7 and doc["group"]["shown"] is False


NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAMES, min_size=5, max_size=7, unique_by=lambda s: " ".join(s.split()).casefold()))
def test_no_output_names_another_organisation(store, names):
    """Every output is the same whatever the peers are called: renaming them all changes no byte."""
    from kam_advisor.store.schema import audits
    subject = f"Subject of {len(names)}"
    with store.engine.begin() as conn:
        conn.execute(audits.delete().where(audits.c.organisation != subject))
    store.save(result(subject, (1, 0, 1), (2, 0, 0), "B"), sector="s", size_band="small")
    for n, name in enumerate(names):
        store.save(result(name, (n % 3, 1, 1), (1, n % 2, 1), "A"), sector="s", size_band="small")
    doc = benchmark(store, subject)
    assert doc["group"]["peers"] == len(names) and doc["programme"]["percentile"] is not None
    named = [render(doc, fmt) for fmt in ("text", "json", "html")]
    with store.engine.begin() as conn:
        for n, name in enumerate(names):
            conn.execute(audits.update().where(audits.c.organisation == name).values(organisation=f"Renamed {n}"))
    assert [render(benchmark(store, subject), fmt) for fmt in ("text", "json", "html")] == named


# --- the command line ----------------------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _url(store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_benchmark_command_in_each_format(store, tmp_path):
    fill(store)
    url = _url(store)
    res = invoke("benchmark", SUBJECT, "--db", url, "--format", "json")
    assert res.exit_code == 0, res.output
    assert _figures(json.loads(res.stdout))["programme"] == (75, "A", 6)
    text = invoke("benchmark", SUBJECT, "--db", url).stdout
    assert "75th percentile of its 6 peers" in text and "sector 'automotive'" in text
    page = tmp_path / "b.html"
    res = invoke("benchmark", SUBJECT, "--db", url, "--format", "html", "-o", page)
    assert res.exit_code == 0 and "<td>75th</td>" in page.read_text()


@pytest.mark.parametrize("args, expected", [
    (["Subjct Ltd"], "no audits of 'Subjct Ltd'"),
    ([SUBJECT, "--size", "larg"], "--size: unknown size band 'larg': expected one of small, medium, large, "
                                  "very-large, any; did you mean 'large'?"),
    (["Units Only plc"], "has audits of its units only"),
])
def test_benchmark_errors_are_one_line_and_exit_2(store, args, expected):
    fill(store)
    res = invoke("benchmark", *args, "--db", _url(store))
    assert res.exit_code == 2 and expected in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.output


def test_assess_save_records_sector_and_size_and_refuses_a_bad_band(store):
    url = _url(store)
    northwind = EXAMPLES / "northwind-early-b.yaml"
    bad = invoke("assess", "--answers", northwind, "--save", "--size", "huge", "--db", url)
    assert bad.exit_code == 2 and "--size: unknown size band 'huge'" in bad.stderr
    assert invoke("assess", "--answers", northwind, "--sector", "x", "--db", url).exit_code == 2   # needs --save
    ok = invoke("assess", "--answers", northwind, "--save", "--sector", "  Food   & Drink ", "--size", "medium",
                "--db", url)
    assert ok.exit_code == 0, ok.output
    doc = json.loads(invoke("benchmark", "Northwind Components Ltd", "--db", url, "--format", "json").stdout)
    assert doc["group"]["sector"] == "food & drink" and doc["group"]["size_band"] == "medium"
    assert doc["group"]["peers"] == 0 and doc["programme"]["score"] > 0


def test_report_benchmark_adds_the_page(store, tmp_path):
    fill(store)
    url = _url(store)
    northwind = EXAMPLES / "northwind-early-b.yaml"
    out = tmp_path / "r.html"
    res = invoke("report", "--answers", northwind, "--org", SUBJECT, "--benchmark", "--format", "html",
                 "--output", out, "--db", url)
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert page.count('id="benchmark"') == 1 and "Peer benchmark" in page
    assert not any(name in page for name in PEERS)
    data = json.loads(invoke("report", "--answers", northwind, "--org", SUBJECT, "--benchmark", "--format", "json",
                             "--db", url).stdout)
    assert data["benchmark"]["group"]["peers"] == 6 and data["benchmark"]["programme"]["percentile"] is not None
    assert "overall" in data and "dimensions" in data     # the report's own fields, unchanged


def test_export_and_import_keep_the_peer_group(store, tmp_path):
    from kam_advisor.data.errors import DataError
    from kam_advisor.store import open_store
    from kam_advisor.store.audits import parse_export
    fill(store)
    doc = store.export(SUBJECT)
    assert {(a["sector"], a["size_band"]) for a in doc["audits"]} == {("automotive", "large")}
    with open_store(f"sqlite:///{tmp_path / 'copy.db'}") as copy:
        assert copy.import_document(json.loads(json.dumps(doc))) == (2, 0)
        assert benchmark(copy, SUBJECT)["group"]["sector"] == "automotive"
    doc["audits"][1]["size_band"] = "huge"
    with pytest.raises(DataError, match=r"^audits\[1\]: size_band: unknown size band 'huge'"):
        parse_export(json.dumps(doc).encode())


def test_a_result_naming_a_topic_twice_or_with_odd_cells_still_saves(store):
    odd = result("Odd plc", (1, 0, 1), (2, 0, 0), "A")
    odd["topics"].append(dict(odd["topics"][0]))
    odd["topics"][1]["cells"] = {"A": {"done": "2", "partial": True, "not_started": -1}, "B": "x"}
    store.save(odd)
    refs = {r["ref"]: r["value"] for r in score_rows("x", odd)}
    assert refs == {"programme": 50.0, "sp": 50.0, "sp.one": 50.0}    # the odd topic counts for nothing
