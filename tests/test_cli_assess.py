"""The assess, explain and batch commands: contracts, errors and batch behaviour."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli import main
from kam_advisor.data.paths import data_dir

EXAMPLES = ROOT / "examples"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_assess_json_contract_on_the_early_b_example():
    res = invoke("assess", "--answers", EXAMPLES / "northwind-early-b.yaml", "--format", "json")
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    assert set(r) >= {"kb_version", "questionnaire", "overall", "dimensions", "areas", "topics", "facets",
                      "recommendations", "roadmap", "red_flags", "coverage"}
    assert (r["overall"]["achieved"], r["overall"]["current"]) == ("A", "B")
    assert {"achieved", "current", "rule", "because"} <= set(r["overall"])
    for key in ("dimensions", "areas"):
        assert all({"id", "name", "achieved", "current", "rule", "because"} <= set(u) for u in r[key])
    assert len(r["topics"]) == 24
    assert all(set(t["completion"]) == {"A", "B", "C", "D"} for t in r["topics"])
    assert all({"id", "item", "text", "topic", "stage", "priority", "rule", "because"} <= set(x)
               for x in r["recommendations"])
    assert all({"id", "severity", "message", "rule", "because"} <= set(x) for x in r["red_flags"])
    assert len(r["red_flags"]) >= 5
    assert r["coverage"]["total"] == 177


def test_assess_mature_example_is_in_c_or_d():
    r = json.loads(invoke("assess", "--example", "meridian-mature", "--format", "json").output)
    assert r["overall"]["achieved"] in ("C", "D")
    assert r["red_flags"] == []


def test_assess_output_is_byte_identical_and_written_atomically(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert invoke("assess", "--example", "northwind-early-b", "--format", "json", "-o", out).exit_code == 0
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("answers,expected", [
    ("answers:\n  sp.goals.positioning.z9: done\n",
     "4: answer 'sp.goals.positioning.z9': no such question in 'full-audit'; did you mean 'sp.goals.positioning.d3'?"),
    ("answers:\n  sp.goals.positioning.a1: finished\n",
     "4: answer 'sp.goals.positioning.a1': expected one of done, partial, not_started, na, dont_know (got 'finished')"),
    ("answers:\n  sp.goals.positioning.a1: not startd\n",
     "4: answer 'sp.goals.positioning.a1': expected one of done, partial, not_started, na, dont_know; "
     "did you mean 'not started'? (got 'not startd')"),
    ("answers:\n  sp.goals.positioning.a1: don\n",
     "4: answer 'sp.goals.positioning.a1': expected one of done, partial, not_started, na, dont_know; "
     "did you mean 'done'? (got 'don')"),
    ("answers:\n  sp.goals.positioning.a1: {status: partialy}\n",
     "4: answer 'sp.goals.positioning.a1': expected one of done, partial, not_started, na, dont_know; "
     "did you mean 'partial'? (got 'partialy')"),
    ("answers:\n  sp.goals.positioning.a1: done\nfacts:\n  ka_count: many\n",
     "6: fact 'ka_count': expected a whole number (got 'many')"),
    ("answers:\n  sp.goals.positioning.a1: done\nfacts:\n  kam_cuont: 3\n",
     "6: unknown fact 'kam_cuont'; did you mean 'kam_count'?"),
    ("answers: [1, 2\n", "4: malformed YAML: did not find expected ',' or ']'"),
])
def test_bad_answers_give_one_line_and_exit_2(tmp_path, answers, expected):
    path = tmp_path / "bad.yaml"
    path.write_text("questionnaire: full-audit\nrespondent: X\n" + answers)
    res = invoke("assess", "--answers", path)
    assert res.exit_code == 2, res.output
    assert res.output == f"kam-advisor: {path}:{expected}\n"


def test_explain_prints_the_chain_down_to_answers():
    res = invoke("explain", "flag.volume-bonus", "--example", "northwind-early-b")
    assert res.exit_code == 0, res.output
    assert "volume_bonus_pct=25" in res.output
    res = invoke("explain", "flag.volume-bonsu", "--example", "northwind-early-b")
    assert res.exit_code == 2 and "did you mean 'flag.volume-bonus'" in res.output


def test_batch_skips_bad_files_and_writes_a_summary(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("northwind-early-b", "meridian-mature"):
        shutil.copy(EXAMPLES / f"{name}.yaml", src / f"{name}.yaml")
    (src / "broken.yaml").write_text("questionnaire: full-audit\nanswers:\n  nope.a1: done\n")
    res = invoke("batch", src, "--output", tmp_path / "out", "--jobs", "1")
    assert res.exit_code == 2
    assert "skipped" in res.output and "broken.yaml:3" in res.output
    rows = list(csv.DictReader((tmp_path / "out" / "summary.csv").open()))
    assert [(r["file"], r["status"]) for r in rows] == [
        ("broken.yaml", "error"), ("meridian-mature.yaml", "ok"), ("northwind-early-b.yaml", "ok")]
    single = json.loads((tmp_path / "out" / "northwind-early-b.json").read_text())
    assert single["overall"]["current"] == "B"


def test_batch_in_parallel_processes_matches_sequential(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for n in range(4):
        shutil.copy(EXAMPLES / "northwind-early-b.yaml", src / f"org{n}.yaml")
    assert invoke("batch", src, "--output", tmp_path / "par", "--jobs", "2").exit_code == 0
    assert invoke("batch", src, "--output", tmp_path / "seq", "--jobs", "1").exit_code == 0
    for n in range(4):
        assert (tmp_path / "par" / f"org{n}.json").read_bytes() == (tmp_path / "seq" / f"org{n}.json").read_bytes()


def test_batch_removes_the_temporary_files_a_killed_earlier_batch_left_once_for_the_folder(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    shutil.copy(EXAMPLES / "northwind-early-b.yaml", src / "org.yaml")
    stale = [out / ".org.json.abc123.tmp", out / ".other.json.def456.tmp"]   # killed writers of the last run
    fresh = out / ".org.json.live99.tmp"                                     # may still be being written
    for path in stale + [fresh]:
        path.write_text("{half")
    old = time.time() - 60
    for path in stale:
        os.utime(path, (old, old))
    assert invoke("batch", src, "--output", out, "--jobs", "1").exit_code == 0
    assert not any(p.exists() for p in stale)
    assert fresh.exists()
    assert json.loads((out / "org.json").read_text())["overall"]["current"] == "B"


def test_batch_results_reach_the_disk_before_the_summary_and_one_that_cannot_is_its_error(tmp_path, monkeypatch):
    """Workers write without waiting for the disk; the batch syncs every result file before it
    writes summary.csv, and a file that cannot be synced is that file's error row."""
    from kam_advisor.results import batch
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(EXAMPLES / "northwind-early-b.yaml", src / f"{name}.yaml")
    synced = []

    def sync_file(path):
        assert not (tmp_path / "out" / "summary.csv").exists(), "summary written before a result was synced"
        if path.name == "b.json":
            raise OSError(5, "Input/output error")
        synced.append(path.name)
    monkeypatch.setattr(batch, "sync_file", sync_file)
    rows = batch.run(src, tmp_path / "out", jobs=1)
    assert sorted(synced) == ["a.json", "c.json", "out"]          # every result file, then the folder
    assert [(r["file"], r["status"]) for r in rows] == [("a.yaml", "ok"), ("b.yaml", "error"), ("c.yaml", "ok")]
    assert rows[1]["error"].endswith("b.json: cannot write: Input/output error")


def test_a_rule_whose_action_fails_makes_assess_fail_loudly(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    path = rules / "stages.yaml"
    # for_each over a number: the action raises a TypeError inside the engine
    path.write_text(path.read_text().replace(
        "      emit: reach\n      id: \"reach:{m.unit}:{m.stage}\"\n",
        "      emit: reach\n      for_each: m.rank\n      id: \"reach:{m.unit}:{m.stage}\"\n", 1))
    res = invoke("--rules", rules, "assess", "--example", "northwind-early-b")
    assert res.exit_code == 3, res.output
    assert "inference failed" in res.output and "gate.first" in res.output


def test_broken_rules_file_gives_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    path = rules / "red-flags.yaml"
    path.write_text(path.read_text().replace("{gt: {param: plan_pages_max}, lte:", "{gt: {param: plan_page_max}, lte:"))
    res = invoke("--rules", rules, "assess", "--example", "northwind-early-b")
    assert res.exit_code == 2
    assert "red-flags.yaml:" in res.output and "unknown param 'plan_page_max'" in res.output


def test_who_assessed_whom_and_when_comes_from_the_answers_file(tmp_path):
    res = invoke("assess", "--answers", EXAMPLES / "northwind-early-b.yaml", "--format", "json")
    r = json.loads(res.output)
    assert (r["organisation"], r["assessor"], r["date"]) == (
        "Northwind Components Ltd", "Example Consulting", "2026-10-15")
    assert r["respondents"] == ["Dana Reyes, Sales Director"]
    # and the report's cover shows the assessor without --assessor
    out = tmp_path / "r.md"
    res = invoke("report", "--answers", EXAMPLES / "northwind-early-b.yaml", "--format", "md", "--output", out)
    assert res.exit_code == 0, res.output
    assert "Example Consulting" in out.read_text()


def test_the_method_text_follows_the_rules_parameters(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), rules)
    path = rules / "stages.yaml"
    text = path.read_text()
    path.write_text(text.replace("  cell_threshold:\n    value: 0.8\n", "  cell_threshold:\n    value: 0.9\n", 1))
    res = invoke("--rules", rules, "assess", "--example", "northwind-early-b", "--format", "json")
    assert res.exit_code == 0, res.output
    method = json.loads(res.output)["method"]
    assert any("score at least 90%" in p for p in method)
    assert any("(Positioning, Senior management role" in p for p in method)  # in names: clients read it
    # a placeholder naming no parameter is caught on load, with file and line (a fresh folder:
    # loaded rules are cached per folder within a process)
    broken = tmp_path / "broken"
    shutil.copytree(data_dir("rules"), broken)
    lines = text.replace("score at least {cell_threshold:.0%}", "score at least {cell_treshold:.0%}", 1)
    (broken / "stages.yaml").write_text(lines)
    res = invoke("--rules", broken, "assess", "--example", "northwind-early-b")
    assert res.exit_code == 2
    # the line where the paragraph starts (its "- >-")
    line = next(n for n, t in enumerate(lines.splitlines(), 1) if "A stage of a topic is met" in t) - 1
    assert f"stages.yaml:{line}:" in res.output and "unknown param 'cell_treshold'" in res.output


def test_the_text_summary_states_stage_first_steps_and_flags_in_names():
    res = invoke("assess", "--example", "northwind-early-b")
    assert res.exit_code == 0, res.output
    out = res.output
    r = json.loads(invoke("assess", "--example", "northwind-early-b", "--format", "json").output)
    headline = " ".join(r["summary"]["headline"]["text"].split())
    assert headline in " ".join(out.split())
    assert "First steps: next 90 days" in out
    first = r["plan"]["phases"][0]["actions"]
    assert first[0]["text"].split(":")[0] in " ".join(out.split())
    for flag in r["red_flags"]:
        assert flag["title"].split()[0] in out
    # the terminal summary speaks in names: no rule ids, no checklist ids
    assert "state.between" not in out and "sp.goals.positioning" not in out
