"""Benchmark: time and peak memory of a whole `kam-advisor` process on every hostile input (not a test).

Generates the corpora of tests/hostile_corpus.py in a temporary folder and runs each case
through the command that reads it, measuring wall time and the peak resident memory of that
process (getrusage of the child):

- answers files (issue 13): `kam-advisor assess --answers FILE`;
- workbooks (issue 21): answers workbooks through `assess`, portfolios through `accounts score`;
- history exports (issue 21): `kam-advisor import FILE` into a new SQLite file;
- database URLs (issue 21): `kam-advisor history ORG --db URL` (in-memory, /dev/null, a driver
  that is not installed);
- a portfolio CSV with a 150 MB line (issue 21): `accounts score`.

Prints one row per case, then the slowest and the largest of all cases, and a baseline: the
same process on the valid example (northwind-early-b), so the extra cost of refusing a hostile
input reads as a ratio; and, for the answers files, the time `assess_files` takes in this
process with the knowledge base already loaded (free of interpreter start-up). Target: every
case within 10 s and 300 MB (issue 13: 2 s for answers files), exit code 2 and one line on stderr.

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
    from kam_advisor.results.assess import assess_files
    start = time.perf_counter()
    try:
        assess_files([str(path)])
    except DataError:
        pass
    return time.perf_counter() - start


def cases(folder: Path) -> list[tuple[str, str, list[str], Path | None]]:
    """(case, class, command arguments, answers file for the in-process timing) of every corpus."""
    import json

    out = []
    for case, (klass, path) in hostile_corpus.corpus(folder / "answers").items():
        out.append((case, klass, ["assess", "--answers", str(path)], path))
    hostile_corpus.make_fifo(folder / "answers")
    for case, (reader, path) in hostile_corpus.workbook_corpus(folder / "workbooks").items():
        args = ["assess", "--answers", str(path)] if reader == "answers" else ["accounts", "score", str(path)]
        out.append((case, "workbook", args, None))
    db = folder / "history.db"
    subprocess.run([sys.executable, "-m", "kam_advisor", "assess", "--example", "northwind-early-b", "--save",
                    "--db", f"sqlite:///{db}"], cwd=ROOT, capture_output=True, check=True)
    export = subprocess.run([sys.executable, "-m", "kam_advisor", "export", "Northwind Components Ltd",
                             "--db", f"sqlite:///{db}"], cwd=ROOT, capture_output=True, check=True, text=True)
    for case, (_, path) in hostile_corpus.export_corpus(folder / "exports", json.loads(export.stdout)).items():
        out.append((f"export-{case}", "import", ["import", str(path), "--db", f"sqlite:///{folder / case}.db"], None))
    for case, url in (("db-sqlite-memory", "sqlite://"), ("db-sqlite-memory-named", "sqlite:///:memory:"),
                      ("db-dev-null", "sqlite:////dev/null"), ("db-psycopg2", "postgresql+psycopg2://u@localhost/d")):
        out.append((case, "store", ["history", "Acme", "--db", url], None))
    huge = folder / "huge-line.csv"
    with huge.open("wb") as handle:
        handle.write(b"name,ease\nAcme,4\nHuge," + b"9" * (150 * 1024 * 1024) + b"\n")
    out.append(("csv-150-mb-line", "portfolio", ["accounts", "score", str(huge), "-o", str(folder / "o.csv")], None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="case ids to run (default: all)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        todo = cases(folder)
        base = run(["assess", "--answers", str(ROOT / "examples" / "northwind-early-b.yaml"), "--format", "json"])
        print(f"baseline (valid example, exit {base[2]}): {base[0]:.2f} s, {base[1]:.0f} MB")
        from kam_advisor.results.bases import load_bases
        load_bases()
        print(f"{'case':42} {'class':10} {'s':>6} {'MB':>6} {'×time':>6} exit lines {'in-process ms':>14}")
        rows = []
        for case, klass, args, answers in todo:
            if opts.only and case not in opts.only:
                continue
            seconds, peak, code, lines = run(args)
            inside = in_process(answers) if answers is not None else None
            rows.append((case, klass, seconds, peak, code, lines, inside))
            limit = 2 if klass in ("traceback", "reading", "values", "injection") else 10
            expected = 2 if case == "csv-150-mb-line" else 1  # the skipped row, then the summary line
            flag = "" if (code, lines) == (2, expected) and seconds < limit and peak < 300 else "  <-- over target"
            shown = f"{1000 * inside:14.1f}" if inside is not None else f"{'-':>14}"
            print(f"{case:42} {klass:10} {seconds:6.2f} {peak:6.0f} {seconds / base[0]:6.2f} {code:4} {lines:5} {shown}{flag}")
        if not rows:
            return
        slowest = max(rows, key=lambda r: r[2])
        largest = max(rows, key=lambda r: r[3])
        timed = [r for r in rows if r[6] is not None]
        print(f"slowest of all: {slowest[0]} ({slowest[1]}) {slowest[2]:.2f} s; "
              f"largest of all: {largest[0]} ({largest[1]}) {largest[3]:.0f} MB peak")
        if timed:
            worst_inside = max(timed, key=lambda r: r[6])
            print(f"worst in-process (answers files): {worst_inside[0]} {1000 * worst_inside[6]:.0f} ms")
        print(f"{sum(1 for r in rows if r[4] == 2 and r[5] == (2 if r[0] == 'csv-150-mb-line' else 1))} of "
              f"{len(rows)} cases exit 2 with one line (the CSV case: the skipped row and the summary)")


if __name__ == "__main__":
    main()
