"""History survives knowledge-base upgrades: `kb diff`, `replaces:` renames, and a stored audit
re-assessed under a newer knowledge base, its answers following renamed actions and answers to
removed actions kept and reported."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from history.conftest import EXAMPLES
from kam_advisor.cli import main
from kam_advisor.data import knowledge
from kam_advisor.data.errors import DataError
from kam_advisor.data.kbdiff import bump_of, diff
from kam_advisor.data.paths import data_dir

CHECKLIST = "checklist/1-strategy-planning.yaml"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _edit(folder, old: str, new: str, path=CHECKLIST):
    file = folder / path
    text = file.read_text()
    assert old in text
    file.write_text(text.replace(old, new, 1))


@pytest.fixture()
def kb_v11(tmp_path):
    """Version 1.2.0: a5 of Positioning renamed a6 (replaces a5), a4 reworded."""
    folder = tmp_path / "kb-1.1"
    shutil.copytree(data_dir("knowledge"), folder)
    _edit(folder, "          - id: sp.goals.positioning.a5\n",
          "          - id: sp.goals.positioning.a6\n            replaces: [sp.goals.positioning.a5]\n")
    _edit(folder, "text: Describe alignment of KAM with corporate strategy",
          "text: Describe how KAM aligns with corporate strategy")
    _edit(folder, "version: 1.1.0", "version: 1.2.0", "kb.yaml")
    return folder


@pytest.fixture()
def kb_v2(kb_v11):
    """Version 2.0.0: also the Positioning action a3 removed."""
    text = (kb_v11 / CHECKLIST).read_text()
    start = text.index("          - id: sp.goals.positioning.a3\n")
    end = text.index("          - id: sp.goals.positioning.a4\n")
    (kb_v11 / CHECKLIST).write_text(text[:start] + text[end:])
    # a stage's hallmark names it: the knowledge base is checked for every reference, so it goes too
    _edit(kb_v11, "items: [sp.goals.positioning.a1, sp.goals.positioning.a3]", "items: [sp.goals.positioning.a1]",
          "stages.yaml")
    _edit(kb_v11, "version: 1.2.0", "version: 2.0.0", "kb.yaml")
    return kb_v11


def test_replaces_makes_an_alias_from_the_old_id(kb_v11):
    kb = knowledge.load(kb_v11)
    assert kb.aliases == {"sp.goals.positioning.a5": "sp.goals.positioning.a6"}
    assert kb.items["sp.goals.positioning.a6"].replaces == ("sp.goals.positioning.a5",)


def test_replacing_an_id_still_in_use_is_an_error_with_its_line(kb_v11):
    _edit(kb_v11, "replaces: [sp.goals.positioning.a5]", "replaces: [sp.goals.positioning.a2]")
    with pytest.raises(DataError) as err:
        knowledge.load(kb_v11)
    assert "replaces 'sp.goals.positioning.a2', which is still an action" in str(err.value)
    assert "1-strategy-planning.yaml:" in str(err.value)


def test_kb_diff_names_each_kind_of_change_and_checks_the_bump(kb_v11):
    d = diff(knowledge.load(data_dir("knowledge")), knowledge.load(kb_v11))
    assert d["renamed"] == [{"from": "sp.goals.positioning.a5", "to": "sp.goals.positioning.a6",
                             "text": knowledge.load(kb_v11).items["sp.goals.positioning.a6"].text}]
    assert [r["id"] for r in d["reworded"]] == ["sp.goals.positioning.a4"]
    assert d["added"] == d["removed"] == d["moved_stage"] == d["moved_topic"] == []
    assert d["bump"] == {"made": "minor", "needed": "minor", "ok": True,
                         "verdict": "version 1.1.0 -> 1.2.0 (minor) fits the changes (need minor)"}


def test_a_removed_action_needs_a_major_bump(kb_v2, tmp_path):
    d = diff(knowledge.load(data_dir("knowledge")), knowledge.load(kb_v2))
    assert [r["id"] for r in d["removed"]] == ["sp.goals.positioning.a3"]
    assert d["bump"]["needed"] == "major" and d["bump"]["ok"]
    _edit(kb_v2, "version: 2.0.0", "version: 1.3.0", "kb.yaml")
    res = invoke("kb", "diff", data_dir("knowledge"), kb_v2)
    assert res.exit_code == 2
    assert res.stdout.splitlines()[-1] == ("version 1.1.0 -> 1.3.0 is a minor bump, but actions removed or "
                                          "moved to another stage need a major bump")
    assert "removed (1)\n  sp.goals.positioning.a3 (Positioning, stage A)" in res.stdout


@pytest.mark.parametrize("old, new, bump", [("1.0.0", "2.0.0", "major"), ("1.0.0", "1.1.0", "minor"),
                                            ("1.0.0", "1.0.1", "patch"), ("1.2.0", "1.2.0", "none"),
                                            ("1.2.0", "1.1.9", None), ("1.0", "1.1", None)])
def test_bump_of(old, new, bump):
    assert bump_of(old, new) == bump


def test_a_stored_audit_follows_renames_and_keeps_answers_to_removed_actions(kb_v2, tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("assess", "--answers", EXAMPLES / "northwind-early-b.yaml", "--save", "--db", url).exit_code == 0
    audit_id = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json",
                                 "--db", url).stdout)["audits"][0]["id"]
    res = invoke("--kb", kb_v2, "reassess", audit_id, "--format", "json", "--save", "--db", url)
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    r = result["reassessment"]
    assert (r["from_kb_version"], r["to_kb_version"]) == ("1.1.0", "2.0.0")
    assert r["renamed"] == [{"from": "sp.goals.positioning.a5", "to": "sp.goals.positioning.a6", "status": "done"}]
    assert [x["item"] for x in r["removed_answers"]] == ["sp.goals.positioning.a3"]
    statuses = {a["item"]: a["status"] for a in result["answers"]}
    assert statuses["sp.goals.positioning.a6"] == "done" and "sp.goals.positioning.a5" not in statuses
    assert result["kb_version"] == "2.0.0"
    text = invoke("--kb", kb_v2, "reassess", audit_id, "--db", url).stdout
    assert text.startswith(f"audit {audit_id} (Northwind Components Ltd, 2026-10-15) re-assessed: "
                           "knowledge base 1.1.0 -> 2.0.0\nprogramme: achieved A -> ")
    assert "answers to actions no longer in the knowledge base, kept but not assessed (1)" in text
    assert "sp.goals.positioning.a3: Scope and create KAM strategy (done)" in text
    # the re-assessed audit is saved beside the original, which keeps every raw answer
    audits = json.loads(invoke("history", "Northwind Components Ltd", "--format", "json", "--db", url).stdout)["audits"]
    assert [a["kb_version"] for a in audits] == ["1.1.0", "2.0.0"]
    original = json.loads(invoke("export", "Northwind Components Ltd", "--db", url).stdout)["audits"][0]
    assert original["responses"][0]["answers"]["sp.goals.positioning.a3"] == {"value": "done"}
    # compare across versions says which changes come from the knowledge base
    doc = json.loads(invoke("--kb", kb_v2, "compare", "Northwind Components Ltd", "--format", "json",
                            "--db", url).stdout)
    kb = doc["comparison"]["knowledge_base"]
    assert kb["changed"] and kb["actions_renamed"] == [{"from": "sp.goals.positioning.a5",
                                                        "to": "sp.goals.positioning.a6"}]
    assert [a["item"] for a in kb["actions_removed"]] == ["sp.goals.positioning.a3"]
    assert doc["comparison"]["regressions"]["actions"] == []      # a rename is not a regression
