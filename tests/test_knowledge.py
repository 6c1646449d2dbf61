"""The knowledge base holds the seeds' content, completely and consistently."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from kam_advisor.cli import main

# (action text as printed in the seed's checklist table, topic, stage), read from
# 000_02632fcd5adbb510.txt by hand: the row gives the topic, the column the stage.
SPOT_CHECKS = [
    ("Find powerful driver", "sp.goals.positioning", "A"),
    ("Clarify purpose and goals, e.g. income predictability, growth", "sp.goals.positioning", "C"),
    ("Write KAM programme development plan", "sp.goals.programme", "B"),
    ("Revisit and revise KAM programme development plan", "sp.goals.programme", "C"),
    ("Define objectives and set metrics", "sp.planning.objectives", "B"),
    ("Review forecasts in KA plans, outputs and inputs", "sp.planning.objectives", "D"),
    ("Specify selection/categorisation criteria for KAs", "sp.planning.customers", "A"),
    ("Apply criteria to focus more selectively on fewer, strategic key customers", "sp.planning.customers", "C"),
    ("Develop template and benchmark for good quality plans", "sp.planning.kaplans", "C"),
    ("Assess current customers & relationships", "sp.research.customers", "A"),
    ("Observe competitor approach to customers", "sp.research.competitors", "A"),
    ("Identify and track benchmark company for best practice KAM", "sp.research.sources", "D"),
    # the first glued pair in the seed: two actions on one line
    ("Define KAMgr role & responsibilities", "oc.kamgr.role", "B"),
    ("Assess existing 'inventory' of KAMgr skills", "oc.kamgr.role", "B"),
    ("Give real P&L responsibility to KAMgr", "oc.kamgr.role", "D"),
    ("Specify selection criteria for KAMgrs", "oc.kamgr.recruitment", "A"),
    ("Develop succession planning for KAMgrs", "oc.kamgr.recruitment", "C"),
    ("Reduce short-term, volume-based bonus to minor component of total (e.g. 5%)", "oc.kamgr.rewards", "C"),
    ("Appoint Executive sponsors to specific KAs as team members", "oc.teams.membership", "D"),
    ("Remove geographical elements from KAM structure", "oc.teams.structure", "D"),
    ("Create awareness/understanding of KAM with senior management", "oc.senior.role", "A"),
    ("Change language from Sales to KAM", "oc.senior.role", "C"),
    ("Create KAM communications strategy and plan", "oc.senior.stakeholders", "A"),
    ("Change own interaction and ways of working with customers", "pr.kamgr.ops", "B"),
    ("Develop recognition process for KA teams", "pr.other.change", "C"),
    ("Adjust core processes in all functions to be flexible for delivery to KAs", "pr.core.operational", "D"),
]


def test_counts_match_the_seed(kb):
    assert len(kb.dimensions) == 3
    assert len(kb.areas) == 9
    assert len(kb.topics) == 24
    assert len(kb.items) == 177
    assert [s.id for s in kb.stages] == ["A", "B", "C", "D"]
    assert [s.name for s in kb.stages] == ["Scoping KAM", "Introducing KAM", "Embedding KAM", "Optimising KAM value"]
    assert len(kb.facets) == 8


def test_the_two_customers_topics_are_distinct(kb):
    customers = sorted(t.id for t in kb.topics.values() if t.name == "Customers")
    assert customers == ["sp.planning.customers", "sp.research.customers"]


def test_ka_plans_have_no_stage_a_action(kb):
    assert kb.items_of("sp.planning.kaplans", "A") == []


@pytest.mark.parametrize("text,topic,stage", SPOT_CHECKS, ids=[t[0][:30] for t in SPOT_CHECKS])
def test_spot_check_against_the_seed(kb, text, topic, stage):
    # some texts recur (the seed repeats "Review forecasts ..." at C and D): look in the cell
    matches = [i for i in kb.items_of(topic, stage) if i.text == text]
    assert len(matches) == 1, f"{text!r} should be one action of {topic} at stage {stage}"
    assert matches[0].id.startswith(f"{topic}.{stage.lower()}")


def test_every_action_has_a_facet_and_every_facet_three_actions(kb):
    per_facet = {f: 0 for f in kb.facets}
    for item in kb.items.values():
        assert item.facets, item.id
        for f in item.facets:
            per_facet[f] += 1
    assert min(per_facet.values()) >= 3, per_facet


def test_every_record_names_a_seed_or_general_practice(kb):
    seeds = set(kb.sources)
    for item in kb.items.values():
        assert item.source in seeds
    for rec in kb.records.values():
        src = rec.data.get("source")
        if src is not None:
            assert src in seeds, rec.id


@pytest.mark.parametrize("level", ["commodity", "enhanced", "collaborative", "partner"])
def test_buy_sell_hierarchy_levels(kb, level):
    rec = kb.records[f"buysell.{level}"]
    for row in ("differentiator", "services", "customer_view"):
        assert rec.data[row]


def test_supporting_models_are_present(kb):
    for rid in ["attract.stability", "attract.cross-sell", "attract.adjacent-markets", "attract.order-flow",
                "attract.aligned-strategy", "attract.financial", "attract.ease", "attract.brand",
                "mutual.maintenance", "kaplan.goal", "kaplan.csf", "kaplan.nc", "kaplan.actions",
                "kaplan.review.quick", "kaplan.review.deep", "kaplan.two-page-rule",
                "conflict.geography", "conflict.product", "conflict.service",
                "transition.step1", "pitfall.no-sponsor", "pitfall.too-many-accounts"]:
        assert rid in kb.records, rid


def test_export_json_contract_lists_every_action(kb):
    result = CliRunner().invoke(main, ["kb", "export", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["version"] == kb.version
    assert len(data["items"]) == 177
    for item in data["items"]:
        assert set(item) >= {"id", "dimension", "area", "topic", "stage", "text", "source", "facets"}
        assert item["topic"] == kb.items[item["id"]].topic
    assert {f["id"] for f in data["facets"]} == set(kb.facets)
    assert all({"id", "name", "considerations"} <= set(f) for f in data["facets"])
    assert [s["id"] for s in data["stages"]] == ["A", "B", "C", "D"]


def test_export_is_deterministic():
    a = CliRunner().invoke(main, ["kb", "export", "--format", "json"]).output
    b = CliRunner().invoke(main, ["kb", "export", "--format", "json"]).output
    assert a == b


def test_show_and_stats():
    shown = CliRunner().invoke(main, ["kb", "show", "oc.kamgr.rewards.c2"])
    assert shown.exit_code == 0 and "volume-based bonus" in shown.output
    unknown = CliRunner().invoke(main, ["kb", "show", "oc.kamgr.rewards.c9"])
    assert unknown.exit_code == 2 and "oc.kamgr.rewards.c" in unknown.output
    stats = CliRunner().invoke(main, ["kb", "stats"])
    assert stats.exit_code == 0
    assert re.search(r"total\s+All actions\s+28\s+43\s+59\s+47\s+177", stats.output)


# -- broken knowledge bases: one line per problem, file and line, exit 2 --------------------

def _break(path, old, new, count=1):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


BREAKAGES = {
    "malformed yaml": ("checklist/3-processes.yaml", "  - id: pr.kamgr", "  - id: [pr.kamgr", r"3-processes\.yaml:\d+: "),
    "duplicate id": ("checklist/3-processes.yaml", "id: pr.core.operational.d1", "id: pr.core.operational.c1",
                     r"3-processes\.yaml:\d+: .*pr\.core\.operational\.c1.*(duplicate|twice|already)"),
    "missing field": ("checklist/1-strategy-planning.yaml", "            text: Find powerful driver\n", "",
                      r"1-strategy-planning\.yaml:\d+: .*sp\.goals\.positioning\.a1.*text"),
    "bad stage": ("checklist/3-processes.yaml", "stage: B", "stage: E",
                  r"3-processes\.yaml:\d+: item '[a-z.0-9]+': stage must be one of A, B, C, D \(got 'E'\)"),
    "dangling reference": ("checklist/2-organisation-culture.yaml", "facets: [recruitment]", "facets: [recruitmnt]",
                           r"2-organisation-culture\.yaml:\d+: .*recruitmnt"),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_broken_knowledge_base_gives_one_line_and_exit_2(kb_copy, case):
    rel, old, new, pattern = BREAKAGES[case]
    _break(kb_copy / rel, old, new)
    result = CliRunner().invoke(main, ["kb", "validate", str(kb_copy)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert lines and all(re.search(r"\.yaml:\d+: ", ln) for ln in lines), lines
    assert any(re.search(pattern, ln) for ln in lines), lines


def test_valid_copy_validates(kb_copy):
    result = CliRunner().invoke(main, ["kb", "validate", str(kb_copy)])
    assert result.exit_code == 0 and result.output.startswith("ok:")
