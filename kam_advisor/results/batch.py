"""Batch runs: every answers file in a folder assessed, one JSON per input plus a summary CSV.

Work is spread over processes (durable-rules is not safe across threads); each worker loads
the knowledge base and rules once and writes its results itself. A bad file is recorded and
skipped, never fatal.
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

ANSWER_SUFFIXES = (".yaml", ".yml", ".json")
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


def summary_fields(result: dict) -> dict:
    """The summary.csv columns a result fills."""
    o = result["overall"]
    return dict(organisation=result.get("organisation") or "", questionnaire=result["questionnaire"],
                achieved=o["achieved"] or "", current=o["current"], confidence=o.get("confidence") or "",
                answered=result["coverage"]["answered"], total=result["coverage"]["total"],
                red_flags=len(result["red_flags"]),
                high_flags=sum(1 for x in result["red_flags"] if x["severity"] == "high"),
                recommendations=len(result["recommendations"]))


def assess_one(job: tuple[str, str]) -> tuple[str, dict | None, str | None]:
    """(path, summary fields, error line) for one (answers file, output file); never raises for
    bad input. The worker writes the result itself: the result document never goes between
    processes, and writing (with its fsync) runs in parallel, not one file after another."""
    from kam_advisor.results.assessment import assess_files, dumps
    path, output = job
    kb_dir, rules_dir = _BASES.get("dirs", (None, None))
    try:
        result = assess_files([path], kb_dir=kb_dir, rules_dir=rules_dir)
        atomic_write(Path(output), dumps(result))
    except DataError as err:
        return path, None, err.format().splitlines()[0]
    return path, summary_fields(result), None


def run(folder: str | Path, out_dir: str | Path, kb_dir=None, rules_dir=None, jobs: int | None = None,
        on_done: Callable[[str, str | None], None] | None = None) -> list[dict]:
    """Assess every answers file in `folder`; write `<stem>.json` files and `summary.csv` to
    `out_dir`. Returns the summary rows (in file order)."""
    folder, out_dir = Path(folder), Path(out_dir)
    files = answer_files(folder)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = output_names(files)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files) or 1))
    results: dict[str, tuple[dict | None, str | None]] = {}
    for path, fields, error in _iterate([(str(f), str(out_dir / names[f])) for f in files], kb_dir, rules_dir,
                                        jobs):
        results[path] = (fields, error)
        if on_done:
            on_done(path, error)
    rows = []
    for f in files:
        fields, error = results[str(f)]
        row = dict.fromkeys(SUMMARY_FIELDS, "")
        row.update(file=f.name, status="error" if error else "ok", error=error or "")
        if fields is not None:
            row.update(output=names[f], **fields)
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out_dir / "summary.csv", buf.getvalue())
    return rows


def _iterate(jobs_list: list[tuple[str, str]], kb_dir, rules_dir,
             jobs: int) -> Iterator[tuple[str, dict | None, str | None]]:
    if jobs == 1 or len(jobs_list) < 4:
        _init(kb_dir, rules_dir)
        for job in jobs_list:
            yield assess_one(job)
        return
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited engine state
    with ctx.Pool(jobs, initializer=_init, initargs=(kb_dir, rules_dir)) as pool:
        yield from pool.imap_unordered(assess_one, jobs_list, chunksize=max(1, len(jobs_list) // (jobs * 8)))


def describe_failure(path: str, error: str) -> str:
    return error if error.startswith(display_path(path)) else f"{display_path(path)}: {error}"
