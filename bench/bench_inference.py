"""Benchmark the inference on a full 177-answer audit (not a test: prints figures).

    python bench/bench_inference.py [--n 2000] [--rss-n 10000]

Reports, in one process: median and p95 latency per assessment (inference alone, and the whole
assessment including the result document), throughput, RSS growth over many assessments, and
the ratio against raw durable-rules asserting the same number of facts through trivial rules
(one rule per fact type, batched like ours, a no-op action) in the same process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from kam_advisor import assessment
from kam_advisor.engine import CompiledRule, Ruleset
from kam_advisor.inference import infer

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
    print(f"{label:<42} median {med:7.3f} ms   p95 {p95:7.3f} ms   {1e3 / med:8.0f} /s")
    return med


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--rss-n", type=int, default=10000)
    args = ap.parse_args()

    kb, base = assessment.load_bases()
    evidence, _ = assessment.evidence_from_files([ROOT / "examples" / "northwind-early-b.yaml"], kb, base.facts)
    # warm up and count what the engine sees
    run = infer(evidence, kb, base)
    asserted = len(run.facts)
    derived = sum(1 for f in run.findings.values())
    print(f"full audit: {len(evidence.statuses)} answers -> {asserted} facts asserted, {derived} records derived")

    for _ in range(50):
        infer(evidence, kb, base)
    t_inf = summary("inference (durable session + rules)", timed(lambda: infer(evidence, kb, base), args.n))
    summary("whole assessment (+ result document)", timed(lambda: assessment.assess_evidence(evidence, kb, base),
                                                         args.n))

    # baseline: raw durable-rules, same number of facts, trivial rules, same process
    types = sorted({f.type for f in run.facts.values()})
    trivial = Ruleset([CompiledRule(f"trivial.{t}", {"all": [{"m": {"t": t}}]}, 1, lambda frame, r: None)
                       for t in types], label="bench")
    facts = [{"t": f.type, "id": f.id} for f in run.facts.values()]

    class Sink:
        def record(self, record, meta):
            pass

    def raw():
        with trivial.session(Sink()) as s:
            s.assert_facts(facts)
    for _ in range(50):
        raw()
    t_raw = summary(f"raw durable-rules, {len(facts)} facts, trivial rules", timed(raw, args.n))
    print(f"ratio inference / raw durable-rules: {t_inf / t_raw:.2f}x")

    before = rss_mb()
    t0 = time.perf_counter()
    for i in range(args.rss_n):
        infer(evidence, kb, base)
    elapsed = time.perf_counter() - t0
    after = rss_mb()
    print(f"RSS over {args.rss_n} assessments: {before:.1f} MB -> {after:.1f} MB (growth {after - before:+.2f} MB); "
          f"throughput {args.rss_n / elapsed:.0f} assessments/s")


if __name__ == "__main__":
    main()
