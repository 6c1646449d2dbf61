"""The blind panel's client situations (docs/panel/round-*/CASE/) as golden cases: the answers the
panel wrote from the seeds, and in `expect.yaml` what its signed verdict asks that a principle
decides. Each is also run through the report-consistency checker in every format."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from kam_advisor.render import consistency, report
from kam_advisor.results import assessment
from kam_advisor.results import assess

CASES = sorted(p.parent for p in (ROOT / "docs" / "panel").glob("round-*/*/expect.yaml"))
PHASES = ["90d", "6m", "12m"]


def _case(folder: Path) -> tuple[dict, dict]:
    spec = yaml.safe_load((folder / "expect.yaml").read_text())
    result = assess.assess_files([str(folder / name) for name in spec["answers"]])
    return result, spec["expect"]


def test_the_panel_has_cases():
    assert len(CASES) >= 3


@pytest.mark.parametrize("folder", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_the_panels_verdict_holds(folder):
    result, expect = _case(folder)
    if "overall" in expect:
        assert {k: result["overall"][k] for k in expect["overall"]} == expect["overall"]
    lagging = {lag["unit"]: lag for lag in result["summary"]["lagging"]}
    for unit in expect.get("lagging", []):
        assert unit in lagging and lagging[unit]["ahead"] and lagging[unit]["risk"], unit
    flags = {f["id"]: f for f in result["red_flags"]}
    assert set(expect.get("flags", [])) <= set(flags), set(expect["flags"]) - set(flags)
    assert not set(expect.get("no_flags", [])) & set(flags)
    for fid, severity in (expect.get("flag_severity") or {}).items():
        assert flags[fid]["severity"] == severity, fid
    placed = {a["item"]: p["id"] for p in result["plan"]["phases"] for a in p["actions"] if a["item"]}
    for item, latest in (expect.get("plan_by") or {}).items():
        assert item in placed and PHASES.index(placed[item]) <= PHASES.index(latest), (item, placed.get(item))
    if expect.get("skipping"):
        assert result["summary"]["stage_skipping"]["topics"]
    if "perception_rosier" in expect:
        assert bool((result["summary"]["perception"] or {}).get("rosier")) == expect["perception_rosier"]
    if "held_back_by" in expect:
        assert (result["summary"]["held_back"] or {}).get("topics") == expect["held_back_by"]
    first = result["plan"]["phases"][0]["actions"]
    for tid in expect.get("assess_first", []):
        assert any(a["kind"] == "assess" and a["topic"] == tid for a in first), tid
    if expect.get("no_later_stage_in_first_phase_unless_foundation"):
        foundation = set(result["parameters"]["foundation_topics"])
        later = result["parameters"]["unrated_later_rank"]
        rank = {s["id"]: n for n, s in enumerate(result["stages"], 1)}
        # (an action that removes a red flag goes with the flag: that is not later-stage polish)
        assert not [a["text"] for a in first if a["kind"] == "action" and a["topic"] not in foundation
                    and rank[a["stage"]] >= later and not any(b.startswith("flag.") for b in a["because"])]
    perception = result["summary"]["perception"] or {}
    for who, view in (expect.get("perception_by_respondent") or {}).items():
        got = next(b for b in perception["by_respondent"] if b["respondent"] == who)
        assert got["rosier"] == (view == "rosier"), who
    if expect.get("respondents_disagree"):
        assert perception["between_respondents"]["questions"] > 0
    rosier = {f["fact"] for f in result["view_fact_gaps"] if f["rosier"]}
    assert set(expect.get("rosier_facts", [])) <= rosier
    rendered = {fmt: report.render(result, fmt) for fmt in ("text", "md", "html")}
    for who in expect.get("respondents_on_cover", []):
        for fmt, text in rendered.items():
            words = consistency.plain_text(text, fmt)
            cover = words[:words.lower().index("executive summary")]
            assert who in cover, (fmt, who)
    consistency.check(result, rendered)
