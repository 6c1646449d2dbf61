"""Benchmark the assessment history (not a test: prints figures).

    python bench/bench_history.py [--n 30] [--no-postgres]

An organisation with 10 units x 50 audits (500 audits of the full 177-action audit, each with
its answers and full result) is saved into a fresh SQLite file and, when Debian's PostgreSQL
binaries are installed, into a throw-away PostgreSQL server started here (as the tests do).
Then, per database, median and p95 over --n runs of:

- save: one audit saved (`Store.save`: one transaction of the audit, its 177 answers, its result);
- history: the `history ORG --format json` command, run in-process (click's runner; the store is
  opened afresh each time, as at the command line), for the organisation's 500 audits;
- compare --unit: the `compare ORG --unit U --format json` command: the last two of the unit's
  50 audits compared, the trend over its 50 audits;
- compare (units): `compare ORG --format json`: the roll-up of the 10 units (latest audit each);

each against a floor run in the same process on the same database: a bare SELECT of the same
rows (history), and loading + parsing the two results compare reads. The issue's bound is
100 ms per command beyond start-up; start-up itself (`kam-advisor --help` in a new process)
is printed for reference, with one whole `history` in a new process.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kam_advisor.cli import main  # noqa: E402
from kam_advisor.results.assess import assess_files  # noqa: E402
from kam_advisor.store import open_store, sources_from_files  # noqa: E402

ORG = "Bench Components Ltd"
UNITS = [f"Unit {n:02d}" for n in range(10)]
AUDITS_PER_UNIT = 50


def timed(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def line(label, times, floor=None):
    times = sorted(times)
    med = statistics.median(times) * 1e3
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))] * 1e3
    ratio = f"   x{med / (statistics.median(floor) * 1e3):5.1f} floor" if floor else ""
    print(f"  {label:<34} median {med:7.1f} ms   p95 {p95:7.1f} ms{ratio}")
    return med


def variants(tmp: Path, count: int = 6):
    """Northwind at six points of progress: (result, sources), each a real assessment."""
    base = yaml.safe_load((ROOT / "examples" / "northwind-early-b.yaml").read_text())
    items = list(base["answers"])
    out = []
    for n in range(count):
        doc = copy.deepcopy(base)
        for item in items[: n * 25]:
            value = doc["answers"][item]
            doc["answers"][item] = {**value, "status": "done"} if isinstance(value, dict) else "done"
        path = tmp / f"v{n}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        out.append((assess_files([path]), sources_from_files([path])))
    return out


def fill(url: str, versions) -> float:
    t = time.perf_counter()
    with open_store(url) as store:
        for n in range(AUDITS_PER_UNIT):
            for k, unit in enumerate(UNITS):
                result, sources = versions[(n // 9 + k) % len(versions)]
                store.save(result, sources, organisation=ORG, unit=unit,
                           date=f"{2020 + n // 12}-{n % 12 + 1:02d}-{10 + k:02d}")
    return time.perf_counter() - t


def bench(url: str, label: str, versions, n: int) -> dict:
    print(f"\n{label}: {url.split('@')[-1]}")
    filled = fill(url, versions)
    print(f"  filled 10 units x 50 audits = 500 audits in {filled:.1f} s ({filled / 500 * 1e3:.1f} ms per audit)")
    runner = CliRunner()

    def cli(*args):
        res = runner.invoke(main, list(args) + ["--db", url])
        assert res.exit_code == 0, res.output
        return res

    result, sources = versions[0]
    with open_store(url) as store:
        save = timed(lambda: store.save(result, sources, organisation="Save Bench", date="2026-01-01"), n)
        import sqlalchemy as sa
        from kam_advisor.store.schema import audits
        floor_history = timed(lambda: store.engine.connect().__enter__().execute(
            sa.select(audits.c.id, audits.c.date, audits.c.unit, audits.c.summary)
            .where(audits.c.organisation == ORG)).all(), n)
        ids = [a.id for a in store.audits(ORG, UNITS[3])][-2:]
        floor_compare = timed(lambda: store.results(ids), n)
    figures = {"save": line("save one audit", save)}
    figures["history"] = line("history ORG (500 audits)", timed(lambda: cli("history", ORG, "--format", "json"), n),
                              floor_history)
    figures["compare_unit"] = line("compare ORG --unit (50 audits)",
                                   timed(lambda: cli("compare", ORG, "--unit", UNITS[3], "--format", "json"), n),
                                   floor_compare)
    figures["compare_units"] = line("compare ORG (roll-up of 10 units)",
                                    timed(lambda: cli("compare", ORG, "--format", "json"), n))
    return figures


def startup(url: str):
    exe = Path(sys.executable).parent / "kam-advisor"
    env = {**os.environ, "KAM_ADVISOR_DB": url}
    help_ = timed(lambda: subprocess.run([exe, "--help"], capture_output=True, check=True), 3)
    whole = timed(lambda: subprocess.run([exe, "history", ORG], capture_output=True, check=True, env=env), 3)
    print(f"\nstart-up (new process): kam-advisor --help median {statistics.median(help_) * 1e3:.0f} ms; "
          f"history ORG in a new process median {statistics.median(whole) * 1e3:.0f} ms")


def main_():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        versions = variants(Path(tmp))
        sqlite_url = f"sqlite:///{Path(tmp) / 'history.db'}"
        results = {"sqlite": bench(sqlite_url, "SQLite (WAL)", versions, args.n)}
        if not args.no_postgres:
            from history.conftest import PostgresServer, _pg_bin
            bindir = _pg_bin()
            if bindir is None:
                print("\nPostgreSQL: server binaries not installed; skipped")
            else:
                server = PostgresServer(bindir)
                server.start()
                try:
                    results["postgresql"] = bench(server.new_database(), "PostgreSQL", versions, args.n)
                finally:
                    server.stop()
        startup(sqlite_url)
    worst = max(v for r in results.values() for k, v in r.items())
    print(f"\nslowest median of any command: {worst:.1f} ms (bound: 100 ms beyond start-up); "
          f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main_()
