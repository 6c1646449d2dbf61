"""Benchmark: a portfolio of accounts scored and classified from CSV through the account rules.

    python bench/bench_accounts.py [--n 100000] [--format csv|json] [--chunk 2000]

Writes a deterministic CRM export of N accounts (seeded random ratings, a few managers, every
quadrant represented) to a temporary folder, then times, in this process, reading the CSV,
scoring, the rules (one engine session per chunk of accounts, the same ruleset as one account)
and writing the output. Prints the seconds, accounts per second, peak RSS (this process's high
water mark, which includes the interpreter and the knowledge base) and, as a baseline in the same
process, the time to read and write the same CSV with the csv module alone. Wall time on a shared machine
varies with the other load on it; CPU time (this process) varies less.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kam_advisor.render import accounts as render  # noqa: E402
from kam_advisor.results import account  # noqa: E402
from kam_advisor.results.bases import load_bases  # noqa: E402

CRITERIA = ["stability", "cross_sell", "adjacent_markets", "order_flow", "aligned_strategy", "financial", "ease",
            "brand"]


def write_portfolio(path: Path, n: int, seed: int = 16) -> None:
    rnd = random.Random(seed)
    levels = ["commodity", "enhanced", "collaborative", "partner"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "name", "key_account", "manager", "revenue", "potential", *CRITERIA, "buysell_level",
                    "treats_us_as_key", "price_only"])
        for i in range(n):
            base = rnd.randint(1, 5)
            w.writerow([f"C{i:06d}", f"Customer {i}", rnd.choice(["yes", "no", "no", "no"]), f"KAM {i % 997}",
                        rnd.randint(10_000, 5_000_000), rnd.choice(["", rnd.randint(10_000, 9_000_000)]),
                        *[min(5, max(1, base + rnd.randint(-1, 1))) for _ in CRITERIA], rnd.choice(levels),
                        rnd.choice(["yes", "no"]), rnd.choice(["yes", "no", "no", ""])])


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--format", choices=["csv", "json"], default="csv")
    ap.add_argument("--chunk", type=int, default=account.CHUNK)
    args = ap.parse_args()
    account.CHUNK = args.chunk
    kb, base = load_bases()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "accounts.csv", Path(tmp) / f"scored.{args.format}"
        write_portfolio(src, args.n)
        # warm up: compile the ruleset once (as any run does at its start)
        account.score_portfolio(src.parent / "accounts.csv", kb, base) if args.n <= 100 else None
        rss_before = rss_mb()
        t0 = time.perf_counter()
        with open(src, newline="", encoding="utf-8") as fin, open(out, "w", newline="", encoding="utf-8") as fout:
            writer = csv.writer(fout)
            for row in csv.reader(fin):
                writer.writerow(row)
        baseline = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        run = account.open_portfolio(src, kb, base)
        with open(out, "w", newline="", encoding="utf-8") as handle:
            tail = (render.write_csv if args.format == "csv" else render.write_json)(handle, run)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = out.stat().st_size / 1e6
    s = tail["summary"]
    print(f"accounts: {s['accounts']} scored ({s['skipped_rows']} skipped), output {args.format} {size:.1f} MB")
    print("quadrants: " + ", ".join(f"{q['name']} {q['accounts']}" for q in s["quadrants"]))
    print(f"portfolio findings: {len(tail['findings'])}")
    print(f"time: {seconds:.2f} s wall, {cpu:.2f} s CPU ({s['accounts'] / seconds:,.0f} accounts/s); "
          f"csv read+write alone: {baseline:.2f} s (ratio {seconds / baseline:.1f}x)")
    print(f"peak RSS: {rss_mb():.0f} MB (before the run: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
