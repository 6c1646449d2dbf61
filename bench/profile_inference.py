"""Where the inference's time goes (not a test: prints figures).

    python bench/profile_inference.py [--n 500]

Wraps the calls into durable's C engine (asserts split by the type of fact asserted; the
first batch, "cell", holds every base fact but the roll-ups, which come once topics are
settled), the JSON encoding/decoding, the rule actions and the base-fact builders with
timers, runs the full 177-answer audit `n` times and prints the mean time per assessment of
each part, so that optimisation work starts from measurements.
"""

from __future__ import annotations

import argparse
import time
import types
from collections import defaultdict
from pathlib import Path

import durable_rules_engine
import orjson

from kam_advisor.results import assessment
from kam_advisor.reasoning import engine
from kam_advisor.reasoning import inference

ROOT = Path(__file__).resolve().parent.parent
SPENT: dict[str, float] = defaultdict(float)


def _timer(label, fn):
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[label] += time.perf_counter() - t
    return timed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    args = ap.parse_args()
    kb, base = assessment.load_bases()
    evidence, _ = assessment.evidence_from_files([ROOT / "examples" / "northwind-early-b.yaml"], kb, base.facts)

    c_engine = types.SimpleNamespace(**{n: getattr(durable_rules_engine, n) for n in dir(durable_rules_engine)
                                        if not n.startswith("_")})
    for name in ("assert_fact", "start_action_for_state", "complete_and_start_action", "delete_state"):
        setattr(c_engine, name, _timer("C engine: actions and session", getattr(durable_rules_engine, name)))

    def assert_facts(handle, text):  # split by the type of fact asserted (a batch holds one type)
        t = time.perf_counter()
        try:
            return durable_rules_engine.assert_facts(handle, text)
        finally:
            spent = time.perf_counter() - t
            SPENT[f"C engine: assert {orjson.loads(text)[0]['t']} facts"] += spent
    c_engine.assert_facts = assert_facts
    engine.durable_rules_engine = c_engine
    engine._dumps = _timer("JSON to/from the engine", engine._dumps)
    engine._loads = _timer("JSON to/from the engine", engine._loads)
    for name in ("cell_facts", "facet_facts", "named_facts", "coverage_fact", "rollup_facts"):
        setattr(inference, name, _timer("base facts (Python counts)", getattr(inference, name)))
    from kam_advisor.reasoning.compile import compile_rules, rules_reached
    actions = compile_rules(rules_reached(base, inference.BASE_TYPES))._actions
    for rule_id in list(actions):
        actions[rule_id] = _timer("rule actions (records, reasons)", actions[rule_id])

    for _ in range(50):
        assessment.assess_evidence(evidence, kb, base)
    SPENT.clear()
    t0 = time.perf_counter()
    for _ in range(args.n):
        run = inference.infer(evidence, kb, base)
    total = time.perf_counter() - t0
    t1 = time.perf_counter()
    for _ in range(args.n):
        assessment.build_result(evidence, kb, base, run, [])
    result = time.perf_counter() - t1
    print(f"inference, mean per assessment (timers add overhead): {total / args.n * 1e3:.3f} ms")
    accounted = 0.0
    for label, spent in sorted(SPENT.items(), key=lambda kv: -kv[1]):
        accounted += spent
        print(f"  {label:<36} {spent / args.n * 1e3:7.3f} ms")
    print(f"  {'other (loop, frames, session)':<36} {(total - accounted) / args.n * 1e3:7.3f} ms")
    print(f"result document, mean per assessment: {result / args.n * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
