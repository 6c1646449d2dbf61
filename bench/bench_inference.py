"""Benchmark the inference on a full 177-answer audit (not a test: prints figures).

    python bench/bench_inference.py [--n 2000] [--rss-n 10000]

Reports, in one process: median and p95 latency per assessment (the whole assessment, which is
inference plus the result document with every reason text, and the inference alone),
throughput, RSS growth over many assessments, and the ratio against two baselines run in the
same process on the same facts:

- "durable-rules API": durable-rules used through its own public API (a Host, one trivial rule
  per fact type with a no-op action, `assert_facts` of the facts our inference asserts, then
  `delete_state`) - what asserting these facts costs a plain durable-rules program;
- "C engine floor": the same facts through our engine wrapper (the C engine driven directly,
  matches batched, fields projected) with trivial no-op rules - the least any program built
  on this engine can pay for them; no rule derives anything there.

And one bound, also in the same process: "same rules, bare actions" runs the real inference
(same base facts, same 37 rules and conditions, same chain of derived facts) with actions that
derive each record's id and fields only - no reason text, no `because` list. The gap between it
and "inference alone" is what the explanations cost; its own figure is the least this rule
design can cost on durable-rules.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import time
from pathlib import Path

from durable import engine as durable_engine

from kam_advisor.results import assessment
from kam_advisor.reasoning.engine import CompiledRule, Ruleset
from kam_advisor.reasoning import inference
from kam_advisor.reasoning.compile import rules_reached
from kam_advisor.reasoning.inference import infer

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(label, times):
    times = sorted(times)
    med = statistics.median(times) * 1e3
    p95 = times[int(len(times) * 0.95)] * 1e3
    print(f"{label:<44} median {med:7.3f} ms   p95 {p95:7.3f} ms   {1e3 / med:8.0f} /s")
    return med


class _QuietHost(durable_engine.Host):
    """durable's Host without its background timer threads (they are not needed to run rules
    and the shared notes record crashes with them); everything else is durable's own code."""

    def _run(self):
        return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rss-n", type=int, default=10000)
    args = ap.parse_args()

    kb, base = assessment.load_bases()
    evidence, _ = assessment.evidence_from_files([ROOT / "examples" / "northwind-early-b.yaml"], kb, base.facts)
    run = infer(evidence, kb, base)
    print(f"full audit: {len(evidence.statuses)} answers -> {len(run.facts)} facts asserted, "
          f"{len(run.findings)} records derived by the {len(rules_reached(base, inference.BASE_TYPES).rules)} rules its "
          f"facts can reach (of {len(base.rules)})")

    for _ in range(50):
        assessment.assess_evidence(evidence, kb, base)
    t_all = summary("whole assessment (inference + result)", timed(
        lambda: assessment.assess_evidence(evidence, kb, base), args.n))
    t_inf = summary("inference alone", timed(lambda: infer(evidence, kb, base), args.n))
    check = infer(evidence, kb, base, bare=True)
    assert {f.id for f in check.findings.values()} == set(run.findings), "bare actions must derive the same records"
    for _ in range(50):
        infer(evidence, kb, base, bare=True)
    t_bare = summary("same rules, bare actions (no reasons)", timed(lambda: infer(evidence, kb, base, bare=True), args.n))

    # baseline 1: durable-rules' public API, the same facts, trivial rules
    types = sorted({f.type for f in run.facts.values()})
    host = _QuietHost()

    def noop(c):
        return None

    host.set_rulesets({"bench_api": {f"trivial.{t}": {"all": [{"m": {"t": t}}], "run": noop} for t in types}})
    facts = [{k: v for k, v in f.fields.items()} for f in run.facts.values()]
    sids = itertools.count()

    def durable_api():
        sid = f"b{next(sids)}"
        host.assert_facts("bench_api", [{**f, "sid": sid} for f in facts])
        host.delete_state("bench_api", sid)

    # baseline 2: the same facts through our wrapper with trivial rules (the engine's floor)
    trivial = Ruleset([CompiledRule(f"trivial.{t}", {"all": [{"m": {"t": t}}]}, 1, lambda frame, r: None)
                       for t in types], label="bench")

    class Sink:
        def add(self, *record):
            pass

    def floor():
        with trivial.session(Sink()) as s:
            s.assert_facts([dict(f) for f in facts])

    for _ in range(50):
        durable_api()
        floor()
    t_api = summary(f"durable-rules API, {len(facts)} facts, trivial rules", timed(durable_api, args.n))
    t_floor = summary(f"C engine floor, {len(facts)} facts, trivial rules", timed(floor, args.n))
    print(f"ratio whole assessment / durable-rules API: {t_all / t_api:.2f}x   "
          f"inference / durable-rules API: {t_inf / t_api:.2f}x")
    print(f"explanations (reason texts, because lists) cost {t_inf - t_bare:.3f} ms of the inference's "
          f"{t_inf:.3f} ms; bare actions / durable-rules API: {t_bare / t_api:.2f}x")
    print(f"ratio whole assessment / C engine floor:    {t_all / t_floor:.2f}x   "
          f"inference / C engine floor:    {t_inf / t_floor:.2f}x")

    before = rss_mb()
    t0 = time.perf_counter()
    for _ in range(args.rss_n):
        assessment.assess_evidence(evidence, kb, base)
    elapsed = time.perf_counter() - t0
    after = rss_mb()
    print(f"RSS over {args.rss_n} whole assessments: {before:.1f} MB -> {after:.1f} MB "
          f"(growth {after - before:+.2f} MB); throughput {args.rss_n / elapsed:.0f} assessments/s")


if __name__ == "__main__":
    main()
