"""The diagnostic report: goldens per format, escaping, completeness, layout limits and the CLI.

Golden files live in tests/golden/report.{html,md,txt,json}, rendered from FIXTURE. To rewrite
them after a deliberate change (or from a new fixture): ``UPDATE_GOLDEN=1 pytest tests/test_report.py``;
``REPORT_FIXTURE=path/to/result.json`` renders another assessment result instead.
"""

from __future__ import annotations

import copy
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from conftest import ROOT
from kam_advisor.cli import report as cli_report
from kam_advisor.data.errors import DataError
from kam_advisor.render import report

FIXTURE = Path(os.environ.get("REPORT_FIXTURE") or ROOT / "tests" / "fixtures" / "sample-result.json")
GOLDEN = ROOT / "tests" / "golden"
SUFFIX = {"html": "html", "md": "md", "text": "txt", "json": "json"}
GOLDEN_OPTIONS = {"assessor": "Sam Patel, KAM Consulting", "appendix": True}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module")
def result() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rendered(result) -> dict:
    return {fmt: report.render(result, fmt, **GOLDEN_OPTIONS) for fmt in report.FORMATS}


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_brief_golden(fmt, result):
    """The one-page board brief of the same fixture (tests/golden/brief.*; UPDATE_GOLDEN=1 rewrites)."""
    out = report.render(result, fmt, assessor=GOLDEN_OPTIONS["assessor"], brief=True)
    path = GOLDEN / f"brief.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8", newline="\n")
    assert path.exists(), f"missing golden {path}; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert out == path.read_text(encoding="utf-8"), f"{fmt} brief differs from {path}; regenerate with UPDATE_GOLDEN=1"


def _md(text: str) -> str:
    return report._md_escape(text)


# --------------------------------------------------------------------------- goldens

@pytest.mark.parametrize("fmt", report.FORMATS)
def test_golden(fmt, rendered):
    path = GOLDEN / f"report.{SUFFIX[fmt]}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered[fmt], encoding="utf-8", newline="\n")
    assert path.exists(), f"missing golden {path}; run UPDATE_GOLDEN=1 pytest {__file__}"
    assert rendered[fmt] == path.read_text(encoding="utf-8"), \
        f"{fmt} report differs from {path}; if intended, regenerate with UPDATE_GOLDEN=1"


def _reorder(value):
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


@pytest.mark.parametrize("fmt", ["html", "md", "text"])
def test_output_is_deterministic_and_ignores_key_order(fmt, result, rendered):
    assert report.render(result, fmt, **GOLDEN_OPTIONS) == rendered[fmt]
    assert report.render(_reorder(result), fmt, **GOLDEN_OPTIONS) == rendered[fmt]


def test_render_does_not_modify_the_result(result):
    before = copy.deepcopy(result)
    for fmt in report.FORMATS:
        report.render(result, fmt, org="Other", assessor="X", title="T")
    assert result == before


# --------------------------------------------------------------------------- completeness

@pytest.mark.parametrize("fmt", ["html", "md", "text"])
def test_every_topic_and_recommendation_appears(fmt, result, rendered):
    out = rendered[fmt]
    esc = {"html": lambda s: str(escape(s)), "md": _md, "text": str}[fmt]
    flat = " ".join(out.split()) if fmt == "text" else out     # text wraps long lines
    for topic in result["topics"]:
        assert esc(topic["name"]) in out, topic["name"]
        assert esc(topic["id"]) in out, topic["id"]          # in the technical appendix
    for area in result["areas"]:
        assert esc(area["name"]) in out
    for rec in result["recommendations"]:
        assert esc(rec["text"]) in flat, rec["text"]
        assert esc(" ".join(rec["reason"].split())) in flat, rec["reason"]
        assert rec["rule"] in out                             # in the technical appendix
        for reason in rec["because"]:
            assert esc(reason) in flat, reason
    for flag in result["red_flags"]:
        assert esc(flag["title"]) in flat and esc(flag["advice"]) in flat and esc(flag["action"]) in flat
    for step in result["roadmap"]["steps"]:
        for action in step["actions"]:
            assert esc(action["text"]) in flat
    for facet in result["facets"]:
        assert esc(facet["name"]) in out


@pytest.mark.parametrize("fmt", ["html", "md", "text"])
def test_appendix_lists_every_answer_with_its_note(fmt, result, rendered):
    out = rendered[fmt]
    appendix = out[out.lower().rindex("answers and evidence"):]
    flat = " ".join(appendix.split())
    esc = {"html": lambda s: str(escape(s)), "md": _md, "text": str}[fmt]
    for answer in result["answers"]:
        assert answer["item"] in appendix
        if answer.get("note"):
            assert " ".join(esc(answer["note"]).split()) in flat


def test_cover_shows_who_what_and_how_sure(result, rendered):
    cover = rendered["html"].split('id="summary"')[0]
    cov = result["coverage"]
    assert result["respondents"] and cov["dont_know"] and cov["na"], "the fixture should exercise every cover line"
    values = [result["organisation"], GOLDEN_OPTIONS["assessor"], result["date"], result["questionnaire_title"],
              f"knowledge base {result['kb_version']}", *result["respondents"], result["overall"]["confidence"],
              cov["reason"]]
    for text in values:
        assert str(escape(text)) in cover, text
    for text in (f"{cov['answered']} of {cov['total']} checklist actions answered ({round(cov['ratio'] * 100)}%)",
                 f"{cov['dont_know']} don't know", f"{cov['na']} not applicable", "Confidence"):
        assert text in cover, text
    assert f'<span class="letter">{result["overall"]["achieved"]}</span>' in cover


def _stage_name(result, sid):
    return next(s["name"] for s in result["stages"] if s["id"] == sid)


def test_summary_says_the_stage_in_plain_words_and_lists_the_first_steps(result, rendered):
    html = rendered["html"]
    summary = html[html.index('id="summary"'):html.index('id="plan"')]
    achieved, current = result["overall"]["achieved"], result["overall"]["current"]
    assert achieved and current, "the fixture should be part-way through the stages"
    assert (f"has achieved stage {achieved} ({escape(_stage_name(result, achieved))}) "
            f"and is working towards stage {current} ({escape(_stage_name(result, current))})") in summary
    assert str(escape(result["summary"]["headline"]["text"])) in summary
    description = next(s["description"] for s in result["stages"] if s["id"] == achieved)
    assert str(escape(description)) in summary
    actions = re.search(r'<ol class="actions">(.*?)</ol>', summary, re.S).group(1)
    items = re.findall(r"<li>", actions)
    assert 3 <= len(items) <= report.SUMMARY_ACTIONS
    # the first phase as the plan orders it, from its first entry
    first = result["plan"]["phases"][0]["actions"]
    shown = [a for a in first if str(escape(a["text"])) in actions]
    assert len(shown) == len(items) and shown == first[:len(items)]
    positions = [actions.index(str(escape(a["text"]))) for a in shown]
    assert positions == sorted(positions)
    skipping = result["summary"]["stage_skipping"]
    for flag in result["red_flags"]:  # stage skipping is one finding there: the headline says it, naming the topics
        if skipping and flag["id"] in skipping["flags"]:
            assert str(escape(flag["title"])) not in summary
        else:
            assert str(escape(flag["title"])) in summary
    if skipping:
        assert str(escape(skipping["text"])) in summary


def test_red_flags_sorted_by_severity_in_summary(result):
    rank = {"high": 0, "medium": 1, "low": 2}
    assert {f["severity"] for f in result["red_flags"]} == set(rank), "the fixture should hold every severity"
    shuffled = dict(result, red_flags=list(reversed(result["red_flags"])))
    view = report.build_view(shuffled)
    # most severe first; flags of the same severity keep the order they came in
    expected = sorted(shuffled["red_flags"], key=lambda f: rank[f["severity"]])
    assert [f["id"] for f in view["red_flags"]] == [f["id"] for f in expected]
    assert [f["severity"] for f in view["red_flags"]] != [f["severity"] for f in shuffled["red_flags"]]
    html = report.render(shuffled, "html")
    summary = html[html.index("<h3>Red flags</h3>"):html.index('id="plan"')]
    skipped = set((result["summary"]["stage_skipping"] or {}).get("flags", []))
    positions = [summary.index(str(escape(f["title"]))) for f in expected if f["id"] not in skipped]
    assert positions == sorted(positions)


def test_html_has_charts_and_heatmap_for_the_whole_grid(result, rendered):
    html = rendered["html"]
    assert html.count('class="chart radar"') == 2
    heat = re.search(r'<svg[^>]*class="chart heatmap".*?</svg>', html, re.S).group(0)
    assert heat.count("<rect") - heat.count('fill="#eef2f7"') == len(result["topics"]) * 4
    assert 'class="chart legend"' in html


# --------------------------------------------------------------------------- HTML quality

class _Balance(HTMLParser):
    """Fails on any end tag that does not close the innermost open element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"line {self.getpos()[0]}: </{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_parses_without_errors(rendered):
    html = rendered["html"]
    assert html.startswith("<!DOCTYPE html>\n")
    checker = _Balance()
    checker.feed(html)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    # stricter still: the document is well-formed XML (polyglot markup)
    root = ET.fromstring(html.split("\n", 1)[1])
    assert root.tag == "html"


def test_html_is_self_contained_and_printable(rendered):
    html = rendered["html"]
    assert "<script" not in html and "<link" not in html and "<img" not in html
    urls = set(re.findall(r"https?://[^\s\"')]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}
    assert "@page { size: A4; margin: 15mm; }" in html
    assert "break-before: page" in html
    assert html.count('<section class="page') >= 8


def test_html_autoescapes_names_and_notes(result):
    evil = dict(result, organisation="<script>alert('org')</script> & Co")
    html = report.render(evil, "html", appendix=True)
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;org&#39;)&lt;/script&gt; &amp; Co" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html          # the fixture's evidence note
    html = report.render(result, "html", org="<b>Org</b>", title="<i>T</i>", assessor="<u>A</u>")
    assert "<b>Org</b>" not in html and "&lt;b&gt;Org&lt;/b&gt;" in html
    assert "&lt;i&gt;T&lt;/i&gt;" in html and "&lt;u&gt;A&lt;/u&gt;" in html


def test_markdown_escapes_markup_and_table_pipes(result, rendered):
    md = rendered["md"]
    assert "<script" not in md and "&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md
    piped = copy.deepcopy(result)
    answer = next(a for a in piped["answers"] if a["item"] == "oc.kamgr.rewards.b1")
    answer["note"] = "HR is reviewing the plan | target Q1"
    md = report.render(piped, "md", appendix=True)
    assert "reviewing the plan \\| target Q1" in md
    rows = [line for line in md.splitlines() if line.startswith("| oc.kamgr.rewards.b1 |")]
    assert rows
    for line in rows:
        assert len(re.findall(r"(?<!\\)\|", line)) == 5      # four cells, not five


def test_text_and_markdown_are_not_html_escaped(result, rendered):
    assert "Strategy & planning" in rendered["text"] and "Strategy & planning" in rendered["md"]
    assert "&amp;" not in rendered["text"] and "&amp;" not in rendered["md"]


# --------------------------------------------------------------------------- text

def test_text_fits_80_columns_without_colour(rendered):
    text = rendered["text"]
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "\x1b[" not in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_text_colour_is_only_added_on_request(result, rendered):
    coloured = report.render(result, "text", color=True, **GOLDEN_OPTIONS)
    assert "\x1b[1m" in coloured and "\x1b[31m" in coloured and "\x1b[32m" in coloured
    assert ANSI.sub("", coloured) == rendered["text"]


# --------------------------------------------------------------------------- JSON and options

def test_json_is_the_assessment_contract(result, rendered):
    assert rendered["json"] == json.dumps(dict(result, assessor=GOLDEN_OPTIONS["assessor"]), indent=2,
                                          ensure_ascii=False) + "\n"
    assert report.render(result, "json") == json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    assert json.loads(report.render(result, "json", org="Other Ltd"))["organisation"] == "Other Ltd"


def test_options_override_the_result(result):
    view = report.build_view(result, org="Beta plc", assessor="Kim", title="Board pack", date="2027-01-31")
    assert (view["organisation"], view["assessor"], view["title"], view["date"]) == (
        "Beta plc", "Kim", "Board pack", "2027-01-31")
    assert result["organisation"] not in report.render(result, "html", org="Beta plc")
    text = report.render(result, "text", org="Beta plc", title="Board pack")
    assert text.splitlines()[1] == "BOARD PACK" and "Beta plc" in text


def test_unknown_format_is_refused(result):
    with pytest.raises(ValueError):
        report.render(result, "pdf")


# --------------------------------------------------------------------------- partial and broken results

@pytest.mark.parametrize("fmt", report.FORMATS)
def test_empty_result_is_refused(fmt):
    with pytest.raises(DataError, match="missing required field `kind`"):
        report.render({}, fmt)


@pytest.mark.parametrize("field", ["overall", "summary", "coverage", "facets", "plan"])
def test_a_result_missing_a_required_field_is_refused_naming_it(result, field):
    broken = {k: v for k, v in result.items() if k != field}
    for render in (lambda: report.render(broken, "text"), lambda: report.build_view(broken),
                   lambda: report.render(broken, "json"), lambda: report.render_brief(broken, "md")):
        with pytest.raises(DataError, match=f"missing required field `{field}`"):
            render()


def test_a_nested_field_missing_or_of_the_wrong_type_is_refused_with_its_path(result):
    no_cells = copy.deepcopy(result)
    del no_cells["topics"][3]["cells"]
    with pytest.raises(DataError, match=r"missing required field `cells` - at `\$\.topics\[3\]`"):
        report.render(no_cells, "html")
    for path, value, where in ((("areas", 0, "score"), 66.6, r"\$\.areas\[0\]\.score"),
                               (("facets", 0, "score"), "n/a", r"\$\.facets\[0\]\.score"),
                               (("topics", 0, "completion", "A"), "x", r"\$\.topics\[0\]\.completion"),
                               (("overall", "achieved"), 3, r"\$\.overall\.achieved")):
        odd = copy.deepcopy(result)
        parent = odd
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = value
        with pytest.raises(DataError, match=where):
            report.build_view(odd)


def test_the_refusal_is_one_line_and_exit_2_on_the_command_line(monkeypatch, tmp_path, result):
    broken = {k: v for k, v in result.items() if k != "overall"}
    monkeypatch.setattr(cli_report, "_assess", lambda paths, kb_dir, rules_dir: copy.deepcopy(broken))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("questionnaire: full-audit\n")
    for fmt in ("text", "json"):
        res = CliRunner().invoke(cli_report.report, ["--answers", "a.yaml", "--format", fmt])
        assert res.exit_code == 2 and "Traceback" not in res.output
        assert res.output.count("\n") == 1 and "missing required field `overall`" in res.output


def test_stage_headline_for_the_first_and_last_stage(result):
    """A result whose rules gave no headline text still says its stage in words."""
    bare = copy.deepcopy(result)
    bare["summary"]["headline"]["text"] = ""

    def headline(**overall):
        return report.build_view(dict(bare, overall=dict(result["overall"], **overall)))["overall"]["headline"]

    assert "has not yet completed its first stage, A Scoping KAM" in headline(achieved=None, current="A")
    assert "has achieved the final stage, D Optimising KAM value" in headline(achieved="D", current="D")
    assert "do not show the programme's stage" in headline(assessed=False, achieved=None, current=None)


def test_absent_optional_parts_still_render(result):
    lean = copy.deepcopy(result)
    lean.pop("reassessment", None)
    for phase in lean["plan"]["phases"]:
        for key in ("capacity", "carried", "note"):
            phase.pop(key, None)
    for gap in lean["perception_gaps"]:
        gap.pop("questionnaire", None)
        gap.pop("questionnaire_title", None)
    lean.update(facets=[], perception_gaps=[], view_gaps=[], view_fact_gaps=[], views=[])
    lean["summary"].update(perception=None, screening=None, held_back=None, stage_skipping=None,
                           achieved_stage=None, current_stage=None)
    view = report.build_view(lean)
    assert all(p["note"] == "" for p in view["plan"]) and view["summary"]["achieved_stage"] is None
    note = next(p["note"] for p in result["plan"]["phases"] if p.get("note"))
    for fmt in ("html", "md", "text"):
        out = report.render(lean, fmt, appendix=True)
        assert view["plan"][0]["name"] in out and view["overall"]["achieved_label"] in out
        if fmt == "html":
            assert note in report.render(result, fmt, appendix=True) and note not in out


def test_empty_action_texts_are_recovered(result):
    # action texts left empty in the recommendations are recovered from the roadmap ...
    on_roadmap = {a["item"]: a["text"] for s in result["roadmap"]["steps"] for a in s["actions"]}
    rec = next(r for r in result["recommendations"] if r["item"] in on_roadmap)
    no_rec_text = dict(result, recommendations=[dict(r, text="") for r in result["recommendations"]])
    view = report.build_view(no_rec_text)
    topics = [t for d in view["dimensions"] for a in d["areas"] for t in a["topics"] if t["id"] == rec["topic"]]
    found = [r for r in topics[0]["recommendations"] if r["item"] == rec["item"]]
    assert found[0]["text"] == rec["text"] == on_roadmap[rec["item"]]
    assert report.render(no_rec_text, "text").count(rec["text"]) >= 1
    # ... and those left empty on the roadmap from the recommendations
    no_step_text = copy.deepcopy(result)
    for step in no_step_text["roadmap"]["steps"]:
        for action in step["actions"]:
            action["text"] = ""
    view = report.build_view(no_step_text)
    actions = {a["item"]: a["text"] for s in view["roadmap"]["steps"] for a in s["actions"]}
    assert actions[rec["item"]] == rec["text"]


def test_a_missing_completion_shows_a_dash_and_scores_are_whole(result):
    odd = copy.deepcopy(result)
    odd["topics"][0]["completion"]["A"] = None
    view = report.build_view(odd)
    assert view["dimensions"][0]["areas"][0]["topics"][0]["cells"][0]["pct"] == "\u2013"
    assert view["areas"][0]["score"] == result["areas"][0]["score"]
    for fmt in ("html", "md", "text"):
        report.render(odd, fmt)


def test_recommendation_for_an_unknown_topic_is_not_lost(result):
    rec = {"id": "rec.x", "item": "zz.unknown.topic.a1", "text": "Something unusual", "topic": "zz.unknown.topic",
           "stage": "A", "status": "not_started", "priority": "low", "rank": 99, "rule": "rec.test", "because": [],
           "reason": "", "phase": None, "topic_name": "zz.unknown.topic"}
    odd = dict(result, recommendations=result["recommendations"] + [rec])
    for fmt in ("html", "md", "text"):
        out = report.render(odd, fmt)
        assert "Other recommendations" in out and "Something unusual" in out


def test_topics_missing_from_areas_still_appear(result):
    new = dict(copy.deepcopy(result["topics"][0]), id="xx.new.topic", name="Brand-new topic", label="Brand-new topic",
               area="xx.new", dimension="xx")
    odd = dict(result, topics=result["topics"] + [new])
    assert "Brand-new topic" in report.render(odd, "html")
    assert "xx.new.topic" in report.render(odd, "html", appendix=True)


# --------------------------------------------------------------------------- CLI

@pytest.fixture()
def cli(monkeypatch, result, tmp_path):
    """The report command with assessment stubbed out to return the fixture."""
    calls = []

    def fake(paths, kb_dir, rules_dir):
        calls.append((paths, kb_dir))
        return copy.deepcopy(result)

    monkeypatch.setattr(cli_report, "_assess", fake)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("questionnaire: full-audit\n")
    (tmp_path / "b.yaml").write_text("questionnaire: full-audit\n")
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_report.report, list(args)), calls


def test_cli_writes_html_to_a_file(cli, tmp_path, rendered):
    run, calls = cli
    res = run("--answers", "a.yaml", "--answers", "b.yaml", "--output", "out.html", "--assessor", "Sam Patel, KAM Consulting",
              "--appendix")
    assert res.exit_code == 0, res.output
    assert calls == [(["a.yaml", "b.yaml"], None)]
    assert (tmp_path / "out.html").read_text(encoding="utf-8") == rendered["html"]
    assert "report written to out.html" in res.output


@pytest.mark.parametrize("fmt", ["text", "md", "json"])
def test_cli_prints_other_formats_to_stdout_without_colour(cli, fmt, result):
    run, _ = cli
    res = run("--answers", "a.yaml", "--format", fmt, "--org", "Beta plc")
    assert res.exit_code == 0
    assert res.output == report.render(result, fmt, org="Beta plc")
    assert "\x1b[" not in res.output


def test_cli_colours_text_only_on_a_terminal(cli, monkeypatch, tmp_path):
    run, _ = cli
    monkeypatch.setattr(cli_report, "_use_colour", lambda stream: True)
    assert "\x1b[1m" in run("--answers", "a.yaml", "--format", "text").output
    assert "\x1b[" not in run("--answers", "a.yaml", "--format", "md").output
    assert run("--answers", "a.yaml", "--format", "text", "--output", "r.txt").exit_code == 0
    assert "\x1b[" not in (tmp_path / "r.txt").read_text(encoding="utf-8")


def test_colour_needs_a_tty_and_no_NO_COLOR(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli_report._use_colour(Tty()) is True
    assert cli_report._use_colour(object()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert cli_report._use_colour(Tty()) is False


def test_cli_html_needs_an_output(cli):
    run, _ = cli
    res = run("--answers", "a.yaml")
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "--output" in res.output


@pytest.mark.parametrize("args, message", [
    (["--answers", "missing.yaml", "--format", "text"], "missing.yaml: answers file not found"),
    (["--answers", "a.yaml", "--format", "md", "--output", "no/such/dir/r.md"], "folder does not exist"),
])
def test_cli_bad_input_is_one_line_and_exit_2(cli, args, message):
    run, _ = cli
    res = run(*args)
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and message in res.output
    assert "Traceback" not in res.output


def test_cli_assessment_errors_are_one_line(monkeypatch, tmp_path):
    from kam_advisor.data.errors import DataError

    def broken(paths, kb_dir, rules_dir):
        raise DataError("questionnaire 'nope' is not known", paths[0], 1)

    monkeypatch.setattr(cli_report, "_assess", broken)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("questionnaire: nope\n")
    res = CliRunner().invoke(cli_report.report, ["--answers", "a.yaml", "--format", "json"])
    assert res.exit_code == 2
    assert res.output == "kam-advisor: a.yaml:1: questionnaire 'nope' is not known\n"


def test_cli_with_the_real_assessment(tmp_path):
    """End to end on a shipped example: every topic of the real assessment is in every format."""
    from kam_advisor.results import assessment
    from kam_advisor.results import assess
    result = assess.assess_files([str(ROOT / "examples" / "northwind-early-b.yaml")])
    for fmt in ("html", "md", "text"):
        out = report.render(result, fmt)
        esc = {"html": lambda x: str(escape(x)), "md": _md, "text": str}[fmt]
        for topic in result["topics"]:
            assert esc(topic["name"]) in out


def test_the_fixture_is_a_real_assessment():
    """The golden reports are rendered from what the engine really produces for the fixture's answers."""
    from kam_advisor.results.assess import assess_files
    from kam_advisor.results.assessment import dumps
    if os.environ.get("REPORT_FIXTURE"):
        pytest.skip("another fixture was chosen")
    fresh = dumps(assess_files([str(ROOT / "tests" / "fixtures" / "answers" / "report-example.yaml")]))
    assert fresh == FIXTURE.read_text(encoding="utf-8"), "regenerate tests/fixtures/sample-result.json"
