"""Benchmark the PDF report of the Northwind full audit (not a test: prints figures).

    python bench/bench_pdf.py [--n 3]

Prints the page count and, per run, the seconds for the HTML report alone and for the PDF
(the HTML report printed by headless Chromium: browser start, layout, printing), plus the
ratio of the two medians, all in one process on the same assessment result.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from kam_advisor.render import report
from kam_advisor.render.pdf import render_pdf
from kam_advisor.results.assess import assess_files
from kam_advisor.data.paths import data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="runs of each (default 3)")
    args = parser.parse_args()
    result = assess_files([data_dir("examples") / "northwind-early-b.yaml"])
    html_times, pdf_times, pages = [], [], None
    for _ in range(args.n):
        start = time.perf_counter()
        report.render(result, "html")
        html_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        data = render_pdf(result)
        pdf_times.append(time.perf_counter() - start)
        from pypdf import PdfReader
        pages = len(PdfReader(io.BytesIO(data)).pages)
    html, pdf = statistics.median(html_times), statistics.median(pdf_times)
    print(f"Northwind full audit: {pages} A4 pages, {len(data) / 1024:.0f} KB")
    print(f"HTML report: median {html * 1000:.0f} ms over {args.n} runs")
    print(f"PDF report:  median {pdf:.2f} s (runs: {', '.join(f'{t:.2f}' for t in pdf_times)}), "
          f"{pdf / html:.0f}x the HTML alone")


if __name__ == "__main__":
    main()
