"""Batch runs: every answers file in a folder assessed, one JSON per input plus a summary CSV.

Every file is assessed in a worker process (durable-rules is not safe across threads, and a
worker that crashes or hangs must not take the batch with it): a worker that dies or takes
longer than ``timeout`` seconds is that file's error row, and a fresh worker takes the next
file. Each worker loads the knowledge base and rules once. A bad file is recorded and skipped,
never fatal; ``summary.csv`` is always written (also after Ctrl-C, with the files not reached
marked), its cells neutralised for spreadsheets (:func:`kam_advisor.data.cells.spreadsheet_cell`).
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import gc
import io
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable, Iterator

from kam_advisor.data.errors import DataError, RuleFailure, display_path
from kam_advisor.data.files import atomic_write, remove_leftovers, sync_file
from kam_advisor.data.cells import spreadsheet_cell

ANSWER_SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")
SUMMARY_FIELDS = ["file", "status", "output", "organisation", "questionnaire", "achieved", "current",
                  "confidence", "answered", "total", "red_flags", "high_flags", "recommendations", "error",
                  "kind", "account", "customer_attractiveness", "supplier_attractiveness", "quadrant", "advice",
                  "plan_score"]
DEFAULT_TIMEOUT = 60.0   # seconds for one file; a hostile file is refused in well under 2 s
STARTUP_SECONDS = 120.0  # for a worker to start and load the knowledge base, before its first file

_BASES: dict = {}


def answer_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DataError("not a folder of answers files", folder)
    # every entry named like an answers file but a folder: a FIFO or device so named is that
    # file's error row (its reader refuses it without blocking), never silently skipped
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in ANSWER_SUFFIXES and not p.is_dir())


def output_names(files: list[Path]) -> dict[Path, str]:
    """`acme.yaml` -> `acme.json`; inputs sharing a stem keep their suffix (`acme.yaml.json`)."""
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    return {f: (f"{f.stem}.json" if stems[f.stem] == 1 else f"{f.name}.json") for f in files}


def _init(kb_dir, rules_dir) -> None:
    _BASES["dirs"] = (kb_dir, rules_dir)


def summary_fields(result: dict) -> dict:
    """The summary.csv columns a result fills: those of its kind's pipeline."""
    from kam_advisor.results.pipelines import pipeline
    return pipeline(result.get("kind", "programme")).summary(result)


def assess_one(job: tuple[str, str]) -> tuple[str, str | None, dict | None, str | None]:
    """(path, None, its summary fields, error line) for one (answers file, result file); never
    raises. The worker writes the result file itself: the result document never goes between
    processes, and writing (with its fsync) runs in the workers, side by side."""
    from kam_advisor.results.assess import assess_files
    from kam_advisor.results.assessment import dumps_utf8
    path, output = job
    kb_dir, rules_dir = _BASES.get("dirs", (None, None))
    try:
        result = assess_files([path], kb_dir=kb_dir, rules_dir=rules_dir)
        # run() cleaned the folder once, and syncs the file while this worker goes on
        atomic_write(Path(output), dumps_utf8(result), leftovers=False, sync=False)
        return path, None, summary_fields(result), None
    except DataError as err:
        return path, None, None, err.format().splitlines()[0]
    except RuleFailure as err:
        return path, None, None, f"inference failed: {err}"
    except (RecursionError, MemoryError):
        return path, None, None, "input too large or too deeply nested"
    except Exception as err:  # noqa: BLE001 - one file's bug must not end the batch; it is its error row
        return path, None, None, f"internal error: {type(err).__name__}: {err}"


def check_out_dir(folder: Path, out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError("not a folder; give a folder for the results", out_dir)
    if out_dir.is_dir() and folder.resolve() == out_dir.resolve():
        raise DataError("is the input folder; results written there would be read as answers next time "
                        "(give another --output folder)", out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the results folder: {err.strerror}", out_dir) from None


def run(folder: str | Path, out_dir: str | Path, kb_dir=None, rules_dir=None, jobs: int | None = None,
        on_done: Callable[[str, str | None], None] | None = None, timeout: float = DEFAULT_TIMEOUT,
        assess: Callable[[tuple[str, str]], tuple[str, str | None, dict | None, str | None]] = assess_one
        ) -> list[dict]:
    """Assess every answers file in `folder`; write `<stem>.json` files and `summary.csv` to
    `out_dir`. Returns the summary rows (in file order).

    ``assess`` runs in the workers (a module-level function: it is sent by name) on (answers file,
    result file) pairs; it writes the result file, or returns its JSON text for the parent to write."""
    folder, out_dir = Path(folder), Path(out_dir)
    files = answer_files(folder)
    check_out_dir(folder, out_dir)
    remove_leftovers(out_dir / "*")  # killed runs' temporary files, once for the folder
    names = output_names(files)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(files) or 1))
    results: dict[str, tuple[dict | None, str | None]] = {}
    # The workers write their result files without waiting for the disk; a thread here makes each
    # one durable meanwhile, and summary.csv is written only once all of them are: a summary on
    # disk means every result it lists is too.
    syncing = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    pending: dict[str, concurrent.futures.Future] = {}
    try:
        work = [(str(f), str(out_dir / names[f])) for f in files]
        for path, text, fields, error in isolated(work, assess, (kb_dir, rules_dir), jobs, timeout):
            if text is not None:
                try:
                    atomic_write(out_dir / names[Path(path)], text)
                except DataError as err:
                    fields, error = None, err.format()
            elif fields is not None:
                pending[path] = syncing.submit(sync_file, out_dir / names[Path(path)])
            results[path] = (fields, error)
            if on_done:
                on_done(path, error)
    except KeyboardInterrupt:
        _synced(pending, results, out_dir, names)
        _write_summary(out_dir, files, names, results, missing="not assessed: the batch was interrupted")
        raise
    finally:
        syncing.shutdown(wait=True)
    _synced(pending, results, out_dir, names)
    return _write_summary(out_dir, files, names, results, missing="not assessed")


def _synced(pending: dict, results: dict, out_dir: Path, names: dict) -> None:
    """Wait for the result files to reach the disk (and the folder's entries); a file that
    cannot be synced is that file's error."""
    for path, future in pending.items():
        try:
            future.result()
        except OSError as err:
            results[path] = (None, f"{display_path(out_dir / names[Path(path)])}: cannot write: {err.strerror}")
    pending.clear()
    try:
        sync_file(out_dir)
    except OSError:
        pass  # a folder that cannot be opened for syncing: its files are synced already


def _write_summary(out_dir: Path, files: list[Path], names: dict, results: dict, missing: str) -> list[dict]:
    rows = []
    for f in files:
        fields, error = results.get(str(f), (None, missing))
        row = dict.fromkeys(SUMMARY_FIELDS, "")
        row.update(file=f.name, status="error" if error else "ok", error=error or "")
        if fields is not None:
            row.update(output=names[f], **fields)
        rows.append(row)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    atomic_write(out_dir / "summary.csv", buf.getvalue())
    return rows


# --- isolated workers ----------------------------------------------------------------------------

def _worker(conn, assess, dirs) -> None:
    """A worker: load the bases, say so, then assess the jobs it is sent until told to stop (None)
    or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _init(*dirs)
    try:
        try:
            from kam_advisor.results.bases import load_bases
            load_bases(*dirs)
        except Exception:  # noqa: BLE001 - a bad knowledge base is reported by every file's assessment
            pass
        # The bases stay for the worker's life: out of the collector's sight, they are not walked
        # again at every full collection (about a tenth of the time per audit).
        gc.freeze()
        gc.set_threshold(100_000, 20, 20)  # an audit allocates ~200,000 objects: fewer young collections
        conn.send(READY)
        while True:
            path = conn.recv()
            if path is None:
                return
            conn.send(assess(path))
    except (EOFError, OSError):  # the parent ended (killed, or Ctrl-C): nobody to report to
        return


READY = "ready"
IN_FLIGHT = 2  # jobs sent ahead to a worker: it starts the next file without waiting for the parent


@dataclass
class _Slot:
    process: Any
    conn: Any
    started: float
    ready: bool = False
    jobs: collections.deque = field(default_factory=collections.deque)  # (path, output) sent, oldest first
    deadline: float = 0.0  # for the oldest job, the one being assessed


def _describe_death(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"the worker assessing this file crashed ({signal.Signals(-code).name})"
        except ValueError:
            return f"the worker assessing this file crashed (signal {-code})"
    return f"the worker assessing this file stopped (exit code {code})"


def isolated(work: list[tuple[str, str]], assess, dirs: tuple, jobs: int,
             timeout: float) -> Iterator[tuple[str, str | None, dict | None, str | None]]:
    """(path, result JSON or None, summary fields, error) for every (path, output) job, each
    assessed in a worker process, in completion order.

    A worker gets its first files once it has started and loaded the bases (STARTUP_SECONDS at
    most); it holds IN_FLIGHT jobs and answers them in order, so ``timeout`` counts from the
    moment the oldest one's turn came. When a worker dies or overruns, the file it was on is that
    file's error and the jobs queued behind it go to a fresh worker."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited engine state
    queue = collections.deque(work)
    slots: list[_Slot] = []

    def start() -> _Slot:
        parent_end, child_end = ctx.Pipe()
        process = ctx.Process(target=_worker, args=(child_end, assess, dirs), daemon=True)
        process.start()
        child_end.close()
        return _Slot(process, parent_end, started=time.monotonic())

    def give(slot: _Slot) -> None:
        while queue and len(slot.jobs) < IN_FLIGHT:
            if not slot.jobs:
                slot.deadline = time.monotonic() + timeout
            slot.jobs.append(queue.popleft())
            try:
                slot.conn.send(slot.jobs[-1])
            except OSError:  # the worker died on the job before (its answer to the one before came
                return       # first): the next wait sees it die, and its jobs go back to the queue

    def restart(slot: _Slot) -> None:
        slot.jobs.popleft()                      # the file that killed or stalled the worker: reported
        queue.extendleft(reversed(slot.jobs))    # the ones behind it: assessed by the next worker
        slot.jobs.clear()
        _stop(slot, kill=True)
        slots[slots.index(slot)] = start()

    try:
        for _ in range(min(jobs, len(queue))):
            slots.append(start())
        while queue or any(s.jobs for s in slots):
            live = [s for s in slots if not s.ready or s.jobs]
            if not live:  # work left but every worker idle: cannot happen, give it out
                for slot in slots:
                    give(slot)
                continue
            deadlines = [s.deadline if s.ready else s.started + STARTUP_SECONDS for s in live]
            left = max(0.0, min(deadlines) - time.monotonic())
            ready = set(wait([s.conn for s in live] + [s.process.sentinel for s in live], timeout=left))
            now = time.monotonic()
            for slot in live:
                path = slot.jobs[0][0] if slot.jobs else None
                if slot.conn in ready:
                    try:
                        message = slot.conn.recv()
                    except (EOFError, OSError):
                        message = None
                    if message == READY:
                        slot.ready = True
                        give(slot)
                        continue
                    if message is not None:
                        slot.jobs.popleft()
                        slot.deadline = time.monotonic() + timeout  # the next one's turn starts now
                        yield message  # the worker has its next job already: no hurry to send more
                        give(slot)
                        continue
                if slot.conn in ready or slot.process.sentinel in ready:  # died
                    slot.process.join(1)
                    if not slot.ready:
                        raise DataError(f"a batch worker could not start ({_describe_death(slot.process)})")
                    description = _describe_death(slot.process)
                    restart(slot)
                    yield path, None, None, description
                elif slot.ready and slot.jobs and now >= slot.deadline:
                    restart(slot)
                    yield path, None, None, f"took longer than {timeout:g} s; stopped"
                elif not slot.ready and now >= slot.started + STARTUP_SECONDS:
                    raise DataError(f"a batch worker did not start within {STARTUP_SECONDS:g} s")
    finally:
        for slot in slots:
            _stop(slot, kill=bool(slot.jobs) or not slot.ready)


def _stop(slot: _Slot, kill: bool) -> None:
    try:
        if not kill and slot.process.is_alive():
            slot.conn.send(None)
            slot.process.join(5)
    except OSError:
        pass
    if slot.process.is_alive():
        slot.process.kill()
        slot.process.join()
    slot.conn.close()


def describe_failure(path: str, error: str) -> str:
    return error if error.startswith(display_path(path)) else f"{display_path(path)}: {error}"
