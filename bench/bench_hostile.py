"""Benchmark: time and peak memory of `kam-advisor assess` on every hostile file (not a test).

Generates the corpus of tests/hostile_corpus.py in a temporary folder and runs each file
through a whole `kam-advisor assess` process, measuring wall time and the peak resident
memory of that process (getrusage of the child). Prints one row per case, the worst cases,
and a baseline: the same process on the valid example (northwind-early-b), so the extra cost
of refusing a hostile file reads as a ratio; and, in this process with the knowledge base
already loaded, the time `assess_files` takes to refuse each file (the part that depends on
the file, free of interpreter start-up). Target (issue 13): every case within 2 s and
300 MB, exit code 2 and one line on stderr.

    python bench/bench_hostile.py [--only CASE ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus  # noqa: E402


def run(args: list[str]) -> tuple[float, float, int, int]:
    """(seconds, peak MB, exit code, stderr lines) of one `kam-advisor` process, measured by a
    small parent of its own so that only that process's memory counts."""
    code = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True); "
            "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "p.returncode, len(p.stderr.splitlines()))")
    out = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "kam_advisor", *args],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    seconds, peak_kib, exit_code, lines = out.stdout.split()
    return float(seconds), int(peak_kib) / 1024, int(exit_code), int(lines)


def in_process(path: Path) -> float:
    """Seconds `assess_files` takes to refuse ``path`` (bases already loaded)."""
    from kam_advisor.data.errors import DataError
    from kam_advisor.results.assessment import assess_files
    start = time.perf_counter()
    try:
        assess_files([str(path)])
    except DataError:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="case ids to run (default: all)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = hostile_corpus.corpus(folder)
        hostile_corpus.make_fifo(folder)
        base = run(["assess", "--answers", str(ROOT / "examples" / "northwind-early-b.yaml"), "--format", "json"])
        print(f"baseline (valid example, exit {base[2]}): {base[0]:.2f} s, {base[1]:.0f} MB")
        from kam_advisor.results.bases import load_bases
        load_bases()
        print(f"{'case':30} {'class':10} {'s':>6} {'MB':>6} {'×time':>6} exit lines {'in-process ms':>14}")
        rows = []
        for case, (klass, path) in cases.items():
            if opts.only and case not in opts.only:
                continue
            seconds, peak, code, lines = run(["assess", "--answers", str(path)])
            inside = in_process(path)
            rows.append((case, klass, seconds, peak, code, lines, inside))
            flag = "" if (code, lines) == (2, 1) and seconds < 2 and peak < 300 else "  <-- over target"
            print(f"{case:30} {klass:10} {seconds:6.2f} {peak:6.0f} {seconds / base[0]:6.2f} {code:4} {lines:5} {1000 * inside:14.1f}{flag}")
        worst_time = max(rows, key=lambda r: r[2])
        worst_mem = max(rows, key=lambda r: r[3])
        worst_inside = max(rows, key=lambda r: r[6])
        print(f"worst time: {worst_time[0]} {worst_time[2]:.2f} s; worst peak memory: {worst_mem[0]} {worst_mem[3]:.0f} MB; "
              f"worst in-process: {worst_inside[0]} {1000 * worst_inside[6]:.0f} ms; "
              f"{sum(1 for r in rows if (r[4], r[5]) == (2, 1))} of {len(rows)} cases exit 2 with one line")


if __name__ == "__main__":
    main()
