"""Benchmark the whole command path, start-up included (not a test: prints figures).

    python bench/bench_startup.py [--runs 7] [--files 40]

Every figure is a fresh process (`python -m kam_advisor ...`), measured in CPU time (user +
system, the process and its children) and wall time, median of `--runs`, the measurements
interleaved so that a busy machine slows them alike. The baseline, run in the same loop, is a
process that only imports kam-advisor's runtime dependencies. Printed:

- `assess --example northwind-early-b` with a warm cache (the knowledge base, rules and
  questionnaire validated by an earlier run), a cold cache (validated and stored in this run)
  and no cache (KAM_ADVISOR_CACHE empty: validated on every run, as before the cache); the
  target: warm <= 1.5x the baseline;
- `batch` of N and N + `--files` copies of the full 177-answer audit with 2 processes (warm
  cache): the marginal cost of one more audit, (T(N + files) - T(N)) / files; target <= 5 ms;
- `report --format html` end to end (warm cache), for reference.

The package's bytecode is compiled first (`compileall`), as `pip install` does for an installed
package: with PYTHONDONTWRITEBYTECODE set (as on the CI machine) every process would otherwise
compile ~70 modules from source, which the baseline (installed dependencies) never pays.

`--compare TREE` also runs `assess` and the batches with the package of another source tree
(e.g. `git archive <commit> | tar -x -C TREE`) on PYTHONPATH, interleaved with the others:
before and after in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "northwind-early-b.yaml"
DEPENDENCIES = "import click, yaml, jinja2, jsonschema, orjson, platformdirs, durable_rules_engine, durable.engine"


def measure(args: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one process and everything it waited for."""
    before = os.times()
    start = time.perf_counter()
    # run outside the source tree: `python -m` puts the working folder first on the path
    subprocess.run(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--files", type=int, default=40, help="extra audits in the larger batch")
    ap.add_argument("--base-files", type=int, default=4, help="audits in the smaller batch")
    ap.add_argument("--compare", metavar="TREE", help="a source tree to run too, as `before`")
    args = ap.parse_args()

    import compileall
    compileall.compile_dir(ROOT / "kam_advisor", quiet=1)
    work = Path(tempfile.mkdtemp(prefix="kam-bench-"))
    try:
        py = [sys.executable]
        cli = py + ["-m", "kam_advisor"]
        env = dict(os.environ)
        warm = {**env, "KAM_ADVISOR_CACHE": str(work / "warm")}
        off = {**env, "KAM_ADVISOR_CACHE": ""}
        folders = {}
        for n in (args.base_files, args.base_files + args.files):
            folder = work / f"in{n}"
            folder.mkdir()
            for i in range(n):
                shutil.copy(EXAMPLE, folder / f"org{i:03d}.yaml")
            folders[n] = folder
        assess = cli + ["assess", "--example", "northwind-early-b", "--format", "json"]
        subprocess.run(assess, env=warm, cwd=work, stdout=subprocess.DEVNULL, check=True)  # fills the warm cache

        cases = {
            "import the dependencies (baseline)": (py + ["-c", DEPENDENCIES], env),
            "assess, warm cache": (assess, warm),
            "assess, cold cache": (assess, None),
            "assess, no cache": (assess, off),
            "report --format html, warm cache": (cli + ["report", "--example", "northwind-early-b", "--format",
                                                        "html", "--output", str(work / "r.html")], warm),
        }
        for n, folder in folders.items():
            cases[f"batch of {n} audits, 2 processes"] = (
                cli + ["batch", str(folder), "--output", str(work / f"out{n}"), "--jobs", "2"], warm)
        if args.compare:
            before = {**off, "PYTHONPATH": str(Path(args.compare).resolve())}
            cases["before: assess"] = (assess, before)
            for n, folder in folders.items():
                cases[f"before: batch of {n} audits, 2 processes"] = (
                    cli + ["batch", str(folder), "--output", str(work / f"before{n}"), "--jobs", "2"], before)
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        wall: dict[str, list[float]] = {k: [] for k in cases}
        for run in range(args.runs):
            for label, (command, case_env) in cases.items():
                if case_env is None:  # a cold cache: a new, empty folder each time
                    case_env = {**env, "KAM_ADVISOR_CACHE": str(work / f"cold{run}")}
                c, w = measure(command, case_env, work)
                cpu[label].append(c)
                wall[label].append(w)

        med = {k: (statistics.median(cpu[k]), statistics.median(wall[k])) for k in cases}
        base_cpu, base_wall = med["import the dependencies (baseline)"]
        print(f"{args.runs} runs each, interleaved; medians ({os.cpu_count()} CPUs)")
        print(f"{'':44}{'CPU s':>8}{'wall s':>8}{'CPU / baseline':>16}")
        for label, (c, w) in med.items():
            print(f"{label:44}{c:8.3f}{w:8.3f}{c / base_cpu:15.2f}x")
        small, large = args.base_files, args.base_files + args.files
        b_small, b_large = med[f"batch of {small} audits, 2 processes"], med[f"batch of {large} audits, 2 processes"]
        marginal_wall = (b_large[1] - b_small[1]) / args.files * 1e3
        marginal_cpu = (b_large[0] - b_small[0]) / args.files * 1e3
        ratio = med["assess, warm cache"][0] / base_cpu
        print(f"assess warm / baseline (CPU): {ratio:.2f}x (target <= 1.5x): {'ok' if ratio <= 1.5 else 'MISSED'}")
        print(f"batch marginal cost per full audit, 2 processes: {marginal_wall:.1f} ms wall, {marginal_cpu:.1f} ms CPU "
              f"(target <= 5 ms): {'ok' if marginal_wall <= 5 else 'MISSED'}")
        if args.compare:
            o_small = med[f"before: batch of {small} audits, 2 processes"]
            o_large = med[f"before: batch of {large} audits, 2 processes"]
            print(f"before: assess / baseline (CPU): {med['before: assess'][0] / base_cpu:.2f}x; batch marginal cost: "
                  f"{(o_large[1] - o_small[1]) / args.files * 1e3:.1f} ms wall, "
                  f"{(o_large[0] - o_small[0]) / args.files * 1e3:.1f} ms CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
