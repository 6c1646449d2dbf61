"""Benchmark the web questionnaire under load (not a test: prints figures).

    python bench/bench_web.py [--respondents 200] [--at-once 16] [--workers 4] [--no-postgres]

A readiness engagement of --respondents respondents is answered over HTTP on 127.0.0.1, page
by page as a browser would (tests/webload.py), by `kam-advisor serve` processes on a fresh
database: a PostgreSQL server started here (as the tests do; Debian's binaries) and a SQLite
file. Per database, in the same process:

- baseline: one respondent at a time against one worker: the latency of a page post with
  nothing else going on;
- one worker, --at-once respondents at a time;
- --workers workers, --at-once respondents at a time;
- the same, the server restarted (SIGTERM, started again) when half have finished: every
  answer must still be stored.

It prints p50, p95 and the slowest page post of each (a post's own time: the redirect it
answers with is not followed) and the ratios to the baseline, and checks no answer was lost.
The issue's bound: p95 <= 300 ms with 16 at once, 4 workers, PostgreSQL, on the 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from kam_advisor.store import engagements as eng, open_store  # noqa: E402
from webload import ServeProcess, expected_answers, percentile, run_load  # noqa: E402
from webserver import free_port  # noqa: E402


def engagement(url: str, respondents: int) -> list[str]:
    with open_store(url) as store:
        eid = eng.create(store, f"Bench {time.time_ns()}", "readiness",
                         [f"Manager {n:03d}" for n in range(respondents)])
        return [p.token for p in eng.get(store, eid).respondents]


def lost(url: str, tokens: list[str]) -> int:
    with open_store(url) as store:
        return sum(1 for n, t in enumerate(tokens) if eng.answers(store, t)[0] != expected_answers(n))


def scenario(url: str, respondents: int, at_once: int, workers: int, restart: bool) -> tuple[list[float], float, int]:
    tokens = engagement(url, respondents)
    server = ServeProcess(url, free_port(), workers)
    server.start()
    started = time.perf_counter()
    try:
        load = run_load(server.port, tokens, at_once, restart_after=respondents // 2 if restart else None,
                        server=server)
    finally:
        server.stop()
    return load.posts, time.perf_counter() - started, lost(url, tokens)


def report(label: str, posts: list[float], seconds: float, missing: int, base: float | None) -> float:
    p50, p95 = statistics.median(posts), percentile(posts, 0.95)
    ratio = f"  p95 {p95 / base:4.1f}x baseline" if base else ""
    print(f"  {label:<44} {len(posts):5d} posts in {seconds:5.1f} s  p50 {p50 * 1000:6.1f} ms  "
          f"p95 {p95 * 1000:6.1f} ms  max {max(posts) * 1000:7.1f} ms{ratio}  answers lost: {missing}")
    return p95


def bench(name: str, url_of, args) -> None:
    print(f"{name}:")
    posts, seconds, missing = scenario(url_of(), max(8, args.respondents // 10), 1, 1, False)
    base = report("baseline: 1 at a time, 1 worker", posts, seconds, missing, None)
    posts, seconds, missing = scenario(url_of(), args.respondents, args.at_once, 1, False)
    report(f"{args.at_once} at once, 1 worker", posts, seconds, missing, base)
    posts, seconds, missing = scenario(url_of(), args.respondents, args.at_once, args.workers, False)
    report(f"{args.at_once} at once, {args.workers} workers", posts, seconds, missing, base)
    posts, seconds, missing = scenario(url_of(), args.respondents, args.at_once, args.workers, True)
    p95 = report(f"{args.at_once} at once, {args.workers} workers, restart half-way", posts, seconds, missing, base)
    print(f"  p95 with {args.workers} workers: {p95 * 1000:.0f} ms (bound 300 ms: "
          f"{'within' if p95 <= 0.3 else 'OVER'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--at-once", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"{args.respondents} respondents of the readiness check, page by page over HTTP on 127.0.0.1")
    if not args.no_postgres:
        from history.conftest import PostgresServer, _pg_bin
        bindir = _pg_bin()
        if bindir is None:
            print("PostgreSQL: skipped (no pg_ctl/initdb)")
        else:
            pg = PostgresServer(bindir)
            pg.start()
            try:
                bench("PostgreSQL", pg.new_database, args)
            finally:
                pg.stop()
    folder = Path(tempfile.mkdtemp(prefix="kam-bench-web-"))
    counter = iter(range(100))
    bench("SQLite", lambda: f"sqlite:///{folder / f'web{next(counter)}.db'}", args)


if __name__ == "__main__":
    main()
