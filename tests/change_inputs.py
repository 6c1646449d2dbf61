"""Generated inputs for the issue-19 principles (tests/test_consistency_change.py): programme
audits of organisations nobody has seen, pairs of audits of one organisation some months apart,
units of one organisation, and portfolios of accounts.

Audits are drawn as a few numbers (a seed, how far each stage has got, how much is unknown or
not applicable, the facts behind the red flags) that a seeded random generator turns into the
177 answers: hypothesis shrinks the numbers, and every draw is a realistic organisation (stages
done in order more often than not, red flags raised and cleared)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from kam_advisor.answers.files import Evidence
from kam_advisor.results.assessment import assess_evidence
from kam_advisor.results.bases import load_bases

STATUSES = ("done", "partial", "not_started", "na", "dont_know")
FORWARD = {"not_started": "partial", "partial": "done", "dont_know": "partial", "na": "na", "done": "done"}
BACKWARD = {"done": "partial", "partial": "not_started", "not_started": "not_started", "dont_know": "not_started",
            "na": "na"}


def bases():
    return load_bases()


facts = st.fixed_dictionaries({
    "ka_count": st.sampled_from([20, 60, 99, 100, 150, 250]),
    "kam_count": st.sampled_from([2, 4, 10, 30]),
    "volume_bonus_pct": st.sampled_from([0, 5, 8, 25]),
    "plan_pages": st.sampled_from([1, 2, 4, 8]),
    "deep_review_months": st.sampled_from([3, 5, 12]),
    "quick_review_months": st.sampled_from([1, 3, 6]),
    "has_senior_sponsor": st.booleans(),
    "kam_owned_by_sales": st.booleans(),
    "kams_from_sales_untrained": st.booleans(),
})

profile = st.fixed_dictionaries({
    "seed": st.integers(0, 2 ** 32 - 1),
    "done": st.tuples(*[st.floats(0, 1) for _ in range(4)]),     # how far each stage A..D has got
    "unknown": st.sampled_from([0.0, 0.02, 0.1, 0.3]),
    "na": st.sampled_from([0.0, 0.02, 0.1]),
    "facts": facts,
})

change = st.fixed_dictionaries({
    "seed": st.integers(0, 2 ** 32 - 1),
    "forward": st.sampled_from([0.0, 0.1, 0.3, 0.6]),
    "backward": st.sampled_from([0.0, 0.02, 0.1, 0.3]),
    "facts": facts,
    "keep_facts": st.booleans(),
})


def statuses_of(p: dict, kb) -> dict[str, str]:
    rnd = random.Random(p["seed"])
    out = {}
    order = {s: n for n, s in enumerate(kb.stage_ids)}
    for item in kb.items.values():
        r = rnd.random()
        if r < p["na"]:
            out[item.id] = "na"
            continue
        if r < p["na"] + p["unknown"]:
            if rnd.random() < 0.5:
                out[item.id] = "dont_know"         # else left unanswered
            continue
        level = p["done"][order[item.stage]]
        x = rnd.random()
        out[item.id] = "done" if x < level else "partial" if x < level + (1 - level) / 3 else "not_started"
    return out


def assess(statuses: dict, fact_values: dict, kb, base, organisation="Generated Ltd", date="2026-10-15") -> dict:
    evidence = Evidence(questionnaire="full-audit", statuses=dict(statuses), facts=dict(fact_values),
                        organisation=organisation, date=date)
    return assess_evidence(evidence, kb, base)


def moved(statuses: dict, c: dict, kb) -> dict[str, str]:
    """The same organisation some months on: some actions forward, some back."""
    rnd = random.Random(c["seed"])
    out = dict(statuses)
    for item in kb.items:
        s = out.get(item, "dont_know")
        x = rnd.random()
        if x < c["backward"]:
            out[item] = BACKWARD[s]
        elif x < c["backward"] + c["forward"]:
            out[item] = FORWARD[s]
    return out


def audit_pair(p: dict, c: dict, kb, base) -> tuple[dict, dict]:
    before = statuses_of(p, kb)
    after = moved(before, c, kb)
    old = assess(before, p["facts"], kb, base, date="2026-04-15")
    new = assess(after, p["facts"] if c["keep_facts"] else c["facts"], kb, base, date="2026-10-15")
    return old, new
