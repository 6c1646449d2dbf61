"""Benchmark the peer benchmark (not a test: prints figures).

    python bench/bench_benchmark.py [--orgs 10000] [--n 10] [--result-kb 16] [--no-postgres]

--orgs organisations, each with one whole-organisation audit (and every tenth with an older one,
so "latest" has work to do), are bulk-inserted straight into a fresh SQLite file and, when
Debian's PostgreSQL binaries are installed, into a throw-away PostgreSQL server started here
(as the tests do): audit rows with a stored result of --result-kb KB (real results are about
330 KB; the benchmark must never read them) and 28 scores each (programme, 3 dimensions, 24
topics) drawn at random around a real assessment's. Sectors (12) and size bands (4) make peer
groups of about 200. Then, per database, median and p95 over --n runs of:

- benchmark ORG (its group): `benchmark ORG --format json` run in-process (click's runner; the
  store opened afresh each time, as at the command line);
- benchmark ORG --sector any --size any: every other organisation a peer (the worst case);
- history ORG: `history ORG --format json` of the same organisation, the baseline in the same
  process (a command that reads one organisation's rows).

The issue's bound: one benchmark over 10,000 organisations' audits in at most 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kam_advisor.cli import main  # noqa: E402
from kam_advisor.results.assess import assess_files  # noqa: E402
from kam_advisor.store import open_store  # noqa: E402
from kam_advisor.store.benchmark import score_rows  # noqa: E402
from kam_advisor.store.schema import audit_scores, audits  # noqa: E402

ORG = "Bench Subject Ltd"
SECTORS = [f"sector {n:02d}" for n in range(12)]
BANDS = ["small", "medium", "large", "very-large"]


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
    ratio = f"   x{med / (statistics.median(floor) * 1e3):5.1f} history" if floor else ""
    print(f"  {label:<44} median {med:7.1f} ms   p95 {p95:7.1f} ms{ratio}")
    return med


def fill(url: str, orgs: int, result_kb: int, real: dict) -> float:
    """Bulk insert: audits rows and their scores, 1,000 organisations per transaction."""
    rng = random.Random(23)
    template = score_rows("x", real)
    filler = orjson.dumps({"kind": "assessment", "filler": "x" * (result_kb * 1024)}).decode()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    base = {"unit": None, "assessor": None, "questionnaire": "full-audit", "questionnaire_version": "1",
            "kb_version": real.get("kb_version"), "tool_version": "bench", "respondents": "[]", "confidence": "high",
            "coverage": 0.97, "red_flags": 0, "answer_count": 0, "summary": "{}", "facts": "{}"}
    t = time.perf_counter()
    with open_store(url) as store:
        store.save(real, organisation=ORG, sector=SECTORS[0], size_band=BANDS[2], date="2026-06-01")
        for start in range(0, orgs, 1000):
            rows, scores = [], []
            for k in range(start, min(orgs, start + 1000)):
                for older in ((True, False) if k % 10 == 0 else (False,)):
                    audit_id = uuid.uuid4().hex[:12]
                    shift = rng.gauss(0, 25)
                    stage = rng.choice([None, "A", "A", "B", "B", "C", "D"])
                    rows.append({**base, "id": audit_id, "organisation": f"Peer {k:05d}",
                                 "date": "2024-01-01" if older else "2026-03-01",
                                 "saved_at": (now + dt.timedelta(seconds=k)).isoformat(),
                                 "stage_achieved": stage, "stage_current": stage, "result": filler,
                                 "sector": SECTORS[k % len(SECTORS)], "size_band": BANDS[(k // 12) % len(BANDS)]})
                    scores += [{**r, "audit_id": audit_id, "stage": stage if r["scope"] == "programme" else r["stage"],
                                "value": round(min(100.0, max(0.0, r["value"] + shift + rng.gauss(0, 8))), 2)}
                               for r in template]
            with store.engine.begin() as conn:
                conn.execute(audits.insert(), rows)
                conn.execute(audit_scores.insert(), scores)
        with store.engine.connect() as conn:      # as a live database would be: statistics up to date
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - t


def bench(url: str, label: str, args, real: dict) -> dict:
    print(f"\n{label}: {url.split('@')[-1]}")
    filled = fill(url, args.orgs, args.result_kb, real)
    total = args.orgs + (args.orgs + 9) // 10
    print(f"  inserted {args.orgs:,} organisations ({total:,} audits, {total * 28:,} scores) in {filled:.1f} s")
    runner = CliRunner()

    def cli(*a):
        res = runner.invoke(main, list(a) + ["--db", url])
        assert res.exit_code == 0, res.output
        return res

    doc = orjson.loads(cli("benchmark", ORG, "--format", "json").output)
    every = orjson.loads(cli("benchmark", ORG, "--sector", "any", "--size", "any", "--format", "json").output)
    print(f"  peers: {doc['group']['peers']} in the group, {every['group']['peers']} in all; programme percentile "
          f"{doc['programme']['percentile']} (group), {every['programme']['percentile']} (all)")
    floor = timed(lambda: cli("history", ORG, "--format", "json"), args.n)
    figures = {"history": line("history ORG (baseline)", floor)}
    figures["group"] = line("benchmark ORG (its group)", timed(lambda: cli("benchmark", ORG, "--format", "json"),
                                                                args.n), floor)
    figures["all"] = line("benchmark ORG --sector any --size any",
                          timed(lambda: cli("benchmark", ORG, "--sector", "any", "--size", "any", "--format", "json"),
                                args.n), floor)
    return figures


def main_():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--result-kb", type=int, default=16)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    real = assess_files([ROOT / "examples" / "northwind-early-b.yaml"])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = bench(f"sqlite:///{Path(tmp) / 'history.db'}", "SQLite (WAL)", args, real)
        if not args.no_postgres:
            from history.conftest import PostgresServer, _pg_bin
            bindir = _pg_bin()
            if bindir is None:
                print("\nPostgreSQL: server binaries not installed; skipped")
            else:
                server = PostgresServer(bindir)
                server.start()
                try:
                    results["postgresql"] = bench(server.new_database(), "PostgreSQL", args, real)
                finally:
                    server.stop()
    worst = max(r[k] for r in results.values() for k in ("group", "all"))
    print(f"\nslowest benchmark median: {worst:.0f} ms (bound: 1,000 ms over {args.orgs:,} organisations); "
          f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main_()
