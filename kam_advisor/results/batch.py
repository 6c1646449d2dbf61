"""Batch runs: every answers file in a folder assessed, one JSON per input plus a summary CSV.

Work is spread over processes (durable-rules is not safe across threads); each worker loads
the knowledge base and rules once. A bad file is recorded and skipped, never fatal.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
from pathlib import Path
from typing import Callable, Iterator

from kam_advisor.data.errors import DataError, display_path
from kam_advisor.data.files import atomic_write

ANSWER_SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")
SUMMARY_FIELDS = ["file", "status", "output", "organisation", "questionnaire", "achieved", "current",
                  "confidence", "answered", "total", "red_flags", "high_flags", "recommendations", "error"]

_BASES: dict = {}


def answer_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError("not a folder of answers files", folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ANSWER_SUFFIXES)


def output_names(files: list[Path]) -> dict[Path, str]:
    """`acme.yaml` -> `acme.json`; inputs sharing a stem keep their suffix (`acme.yaml.json`)."""
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    return {f: (f"{f.stem}.json" if stems[f.stem] == 1 else f"{f.name}.json") for f in files}


def _init(kb_dir, rules_dir) -> None:
    _BASES["dirs"] = (kb_dir, rules_dir)


def assess_one(path: str) -> tuple[str, dict | None, str | None]:
    """(path, result, error line) for one file; never raises for bad input."""
    from kam_advisor.results.assessment import assess_files
    kb_dir, rules_dir = _BASES.get("dirs", (None, None))
    try:
        return path, assess_files([path], kb_dir=kb_dir, rules_dir=rules_dir), None
    except DataError as err:
        return path, None, err.format().splitlines()[0]


def run(folder: str | Path, out_dir: str | Path, kb_dir=None, rules_dir=None, jobs: int | None = None,
        on_done: Callable[[str, str | None], None] | None = None) -> list[dict]:
    """Assess every answers file in `folder`; write `<stem>.json` files and `summary.csv` to
    `out_dir`. Returns the summary rows (in file order)."""
    from kam_advisor.results.assessment import dumps
    folder, out_dir = Path(folder), Path(out_dir)
    files = answer_files(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(files)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files) or 1))
    results: dict[str, tuple[dict | None, str | None]] = {}
    for path, result, error in _iterate([str(f) for f in files], kb_dir, rules_dir, jobs):
        results[path] = (result, error)
        if result is not None:
            atomic_write(out_dir / names[Path(path)], dumps(result))
        if on_done:
            on_done(path, error)
    rows = []
    for f in files:
        result, error = results[str(f)]
        row = dict.fromkeys(SUMMARY_FIELDS, "")
        row.update(file=f.name, status="error" if error else "ok", error=error or "")
        if result is not None:
            o = result["overall"]
            row.update(output=names[f], organisation=result.get("organisation") or "",
                       questionnaire=result["questionnaire"], achieved=o["achieved"] or "", current=o["current"],
                       confidence=o.get("confidence") or "", answered=result["coverage"]["answered"],
                       total=result["coverage"]["total"], red_flags=len(result["red_flags"]),
                       high_flags=sum(1 for x in result["red_flags"] if x["severity"] == "high"),
                       recommendations=len(result["recommendations"]))
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out_dir / "summary.csv", buf.getvalue())
    return rows


def _iterate(paths: list[str], kb_dir, rules_dir, jobs: int) -> Iterator[tuple[str, dict | None, str | None]]:
    if jobs == 1 or len(paths) < 4:
        _init(kb_dir, rules_dir)
        for p in paths:
            yield assess_one(p)
        return
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited engine state
    with ctx.Pool(jobs, initializer=_init, initargs=(kb_dir, rules_dir)) as pool:
        yield from pool.imap_unordered(assess_one, paths, chunksize=max(1, len(paths) // (jobs * 8)))


def describe_failure(path: str, error: str) -> str:
    return error if error.startswith(display_path(path)) else f"{display_path(path)}: {error}"
