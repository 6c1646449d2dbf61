"""Benchmark: how long the diagnostic report takes to render, per format (not a test).

Renders a full-audit (177-action) assessment result N times per format and prints the median and
95th percentile in milliseconds. The result comes from ``assess_files`` on the first
``examples/*.yaml`` when the assessment module and examples exist, else from the test fixture.
The target: a full-audit report renders in under a second.

    python bench/bench_report.py [-n 50] [--answers FILE ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "sample-result.json"


def load_result(answers: list[str]) -> tuple[dict, str]:
    """The assessment result to render, and where it came from."""
    paths = answers or [str(p) for p in sorted((ROOT / "examples").glob("*.yaml"))[:1]]
    if paths:
        try:
            from kam_advisor.results.assess import assess_files
        except ImportError:
            pass
        else:
            return assess_files(paths), "assess_files(" + ", ".join(Path(p).name for p in paths) + ")"
    return json.loads(FIXTURE.read_text(encoding="utf-8")), f"fixture {FIXTURE.relative_to(ROOT)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="renders per format (default 30)")
    parser.add_argument("--answers", action="append", default=[], help="answers file(s) to assess")
    args = parser.parse_args(argv)

    from kam_advisor.render import report

    result, origin = load_result(args.answers)
    actions = len(result.get("answers", []))
    print(f"result: {origin}; {actions} actions, {len(result.get('topics', []))} topics, "
          f"{len(result.get('recommendations', []))} recommendations")
    start = time.perf_counter()
    report.render(result, "html")                     # first render: template compilation
    print(f"first html render (compiles templates): {(time.perf_counter() - start) * 1000:.1f} ms")
    print(f"{'format':<8}{'median ms':>12}{'p95 ms':>10}{'size KB':>10}")
    worst = 0.0
    for fmt in report.FORMATS:
        times = []
        for _ in range(max(args.n, 1)):
            t0 = time.perf_counter()
            out = report.render(result, fmt)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        print(f"{fmt:<8}{statistics.median(times):>12.1f}{p95:>10.1f}{len(out.encode()) / 1024:>10.1f}")
    print("ok: every format under 1 s at p95" if worst < 1000 else "SLOW: a format took 1 s or more")
    return 0 if worst < 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
