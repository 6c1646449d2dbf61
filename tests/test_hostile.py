"""Hostile input (issue 13): every hostile file is refused in one line with exit 2, fast and
without writing; outputs never land on devices, links or inputs; user text cannot drive a
spreadsheet, a Markdown viewer or a terminal; batches survive crashing and hanging workers.

The corpus is generated (tests/hostile_corpus.py), one file per case of the issue's classes.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import hostile_corpus
from conftest import ROOT
from kam_advisor.cli import main
from kam_advisor.data import cells, files, neutral, yamlio
from kam_advisor.data.errors import DataError
from kam_advisor.results import batch

EXAMPLE = ROOT / "examples" / "northwind-early-b.yaml"
KAM = [sys.executable, "-m", "kam_advisor"]
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    cases = hostile_corpus.corpus(folder)
    hostile_corpus.make_fifo(folder)
    return cases


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def assert_one_line(result, path: Path | None = None):
    """Exit 2, exactly one line on stderr (prefixed, naming the file), nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kam-advisor: ") and "Traceback" not in lines[0]
    assert not CONTROL.search(lines[0]), lines[0]
    if path is not None:
        assert path.name in lines[0], lines[0]
    assert result.stdout == ""
    return lines[0]


ALL_CASES = [case for case in hostile_corpus.CASES]
# cases that are hostile to `assess` but a valid, blank answers file to `questionnaire validate`
BLANK = {"answers-empty", "answers-missing"}


@pytest.mark.parametrize("case", ALL_CASES)
def test_a_hostile_file_is_refused_by_assess_and_report_in_one_line_and_nothing_is_written(case, corpus, tmp_path):
    klass, path = corpus[case]
    out = tmp_path / "out.json"
    line = assert_one_line(invoke("assess", "--answers", path, "--format", "json", "--output", out), path)
    assert not out.exists()
    if case not in ("file-11-mb", "not-utf8", "nul-byte") and "too large" not in line:
        assert re.search(rf"{re.escape(path.name)}:\d+: ", line), f"no line number: {line}"
    md = tmp_path / "out.md"
    assert_one_line(invoke("report", "--answers", path, "--format", "md", "--output", md), path)
    assert not md.exists()


@pytest.mark.parametrize("case", ALL_CASES)
def test_a_hostile_file_is_refused_by_questionnaire_validate(case, corpus):
    klass, path = corpus[case]
    result = invoke("questionnaire", "validate", "full-audit", path)
    if case in BLANK:  # a blank template is valid; only assessing it is refused
        assert result.exit_code == 0 and "0 of" in result.stdout
        return
    if case == "unknown-ids-4000":  # validate lists every problem, at most 20 and a count
        lines = result.stderr.splitlines()
        assert result.exit_code == 2 and len(lines) == 21 and lines[-1].endswith("... and 3980 more problems")
        return
    assert_one_line(result, path)


def _first_of_each_class():
    seen, out = set(), []
    for case, (klass, _) in hostile_corpus.CASES.items():
        if klass not in seen:
            seen.add(klass)
            out.append(case)
    return out + ["nesting-100000-flow", "billion-laughs", "organisation-set", "fact-nan"]


@pytest.mark.parametrize("fmt", ["html", "text", "json"])
@pytest.mark.parametrize("case", _first_of_each_class())
def test_every_report_format_and_text_assess_refuse_hostile_files(case, fmt, corpus, tmp_path):
    klass, path = corpus[case]
    out = tmp_path / f"report.{fmt}"
    assert_one_line(invoke("report", "--answers", path, "--format", fmt, "--output", out), path)
    assert not out.exists()
    if fmt == "text":
        assert_one_line(invoke("assess", "--answers", path), path)


def test_an_answers_file_that_is_a_fifo_a_device_or_a_folder_is_one_line(corpus, tmp_path):
    fifo = hostile_corpus.make_fifo(tmp_path)
    for where, expected in ((fifo, "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                            (tmp_path, "is a folder")):
        line = assert_one_line(invoke("assess", "--answers", where))
        assert expected in line
    assert "file not found" in assert_one_line(invoke("assess", "--answers", tmp_path / "nope.yaml"))


def test_blank_answers_validate_but_assess_says_there_is_nothing_to_assess(corpus):
    _, path = corpus["answers-empty"]
    line = assert_one_line(invoke("assess", "--answers", path), path)
    assert "no answers to assess" in line


def test_the_questionnaire_named_in_an_answers_file_is_an_id_never_a_path(corpus):
    for case in ("questionnaire-etc-passwd", "questionnaire-dotdot", "questionnaire-dev-zero",
                 "questionnaire-fifo", "questionnaire-yaml-name"):
        _, path = corpus[case]
        line = assert_one_line(invoke("assess", "--answers", path), path)
        assert f"{path.name}:1: 'questionnaire' must be the id of a questionnaire" in line


def test_a_questionnaire_path_on_the_command_line_that_is_not_a_questionnaire_is_one_line(tmp_path):
    for where in ("/etc/passwd", ROOT / "rules" / "facts.yaml", ROOT / "examples" / "northwind-early-b.yaml",
                  "/dev/zero", tmp_path):
        result = invoke("questionnaire", "validate", where)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr


# ------------------------------------------------------------------------------- valid input, every kind

@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    return hostile_corpus.valid_answers(tmp_path_factory.mktemp("valid"))


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
@pytest.mark.parametrize("qid", hostile_corpus.QUESTIONNAIRES)
def test_every_kind_of_valid_answers_file_reports_in_every_format(qid, fmt, valid, tmp_path):
    """Issue 21: a valid ka-plan file crashed the HTML (and so the PDF) report in the template."""
    out = tmp_path / f"report.{fmt}"
    result = invoke("report", "--answers", valid[qid], "--format", fmt, "--output", out)
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr.startswith("report written to ") and result.stderr.endswith(f"{out.name}\n"), result.stderr
    text = out.read_text(encoding="utf-8")
    kind = {"account": "account", "ka-plan": "plan"}.get(qid, "programme")
    if fmt == "json":
        assert json.loads(text).get("kind", "programme") == kind
    elif fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
        assert "Globex &lt;b&gt;&amp;amp; Co" in text and "<b>&amp" not in text  # user markup is text
    else:
        assert "Globex" in text


@pytest.mark.parametrize("qid", ["readiness", "account", "ka-plan"])  # one per HTML template
def test_every_html_template_prints_to_pdf(qid, valid, tmp_path, chromium_path):
    out = tmp_path / "report.pdf"
    result = invoke("report", "--answers", valid[qid], "--format", "pdf", "--output", out)
    assert result.exit_code == 0, (result.output, result.exception)
    from pypdf import PdfReader
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Globex" in text or "Acme" in text


# ------------------------------------------------------------------------------- workbooks (issue 21)

@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    return hostile_corpus.workbook_corpus(tmp_path_factory.mktemp("workbooks"))


WORKBOOK_EXPECTED = {  # what the one line says, for every reader
    "billion-laughs": "its XML holds a DTD, entity, comment or processing instruction",
    "external-entity": "its XML holds a DTD, entity, comment or processing instruction",
    "billion-laughs-shared-strings": "'xl/sharedStrings.xml': its XML declares entities or a DTD",
    "shared-string-out-of-range": "!row 2: a cell refers to a shared string that the workbook does not have",
    "number-nan": "!row 2: a cell's value does not fit its type",
    "number-inf": "!D2: inf is not a number",
    "number-text": "!row 2: a cell's value does not fit its type",
    "number-5000-digits": "!row 2: a cell's value does not fit its type",
    "row-number-4-billion": "more than",
    "row-3-million-cells": "row 4 (counting rows as written) is over 1 MB",
    "8-million-elements": "row 3 (counting rows as written) is over 1 MB",
    "2-million-empty-rows": "more than",
    "truncated-xml": ": damaged XML (",
    "sheet-unpacks-to-60-mb": "unpacks to 60 MB; refused above 50 MB",
    "shared-strings-30-mb": "part 'xl/sharedStrings.xml' unpacks to 30 MB; refused above 20 MB",
    "fifo": "not a regular file",
    "dev-zero": "not a regular file",
    "sparse-11-mb": "file too large",
}


def _workbook_command(reader, path, out):
    if reader == "answers":
        return ["assess", "--answers", path, "--format", "json", "--output", out]
    return ["accounts", "score", path, "--output", out]


@pytest.mark.parametrize("case", sorted(WORKBOOK_EXPECTED))
@pytest.mark.parametrize("reader", ["answers", "portfolio"])
def test_a_hostile_workbook_is_one_line_for_every_reader_and_nothing_is_written(reader, case, workbooks, tmp_path):
    """The answers workbook and the portfolio share one reader (kam_advisor.data.xlsx): the same
    limits, the same refusals, for XML met while opening the book and while reading its rows."""
    _, path = workbooks[f"{reader}-{case}"]
    out = tmp_path / "out.json"
    line = assert_one_line(invoke(*_workbook_command(reader, path, out)), path)
    assert WORKBOOK_EXPECTED[case] in line, line
    assert list(tmp_path.iterdir()) == []
    if reader == "answers":
        assert WORKBOOK_EXPECTED[case] in assert_one_line(invoke("questionnaire", "validate", "readiness", path), path)


def test_every_workbook_case_has_an_expected_line_for_both_readers(workbooks):
    assert set(workbooks) == {f"{reader}-{case}" for reader in ("answers", "portfolio") for case in WORKBOOK_EXPECTED}


def test_rows_below_a_sheets_declared_size_are_read(tmp_path):
    books = hostile_corpus.workbook_below_its_declared_size(tmp_path / "in")
    from kam_advisor.answers.workbook import read_workbook
    assert read_workbook(books["answers"]).answers == {"driver": "done", "strategy": "partial", "champion": "done"}
    out = tmp_path / "scored.csv"
    assert invoke("accounts", "score", books["portfolio"], "--output", out).exit_code == 0
    with out.open(newline="") as handle:
        assert [r["name"] for r in csv.DictReader(handle)] == ["Acme", "Globex", "Initech"]


# ------------------------------------------------------------------------------- the history store (issue 21)

ORG = "Northwind Components Ltd"


@pytest.fixture(scope="module")
def saved_db(tmp_path_factory):
    """A SQLite history holding one audit of Northwind, and its export document."""
    folder = tmp_path_factory.mktemp("store")
    url = f"sqlite:///{folder / 'history.db'}"
    assert invoke("assess", "--example", "northwind-early-b", "--save", "--db", url).exit_code == 0
    doc = json.loads(invoke("export", ORG, "--db", url).stdout)
    return url, doc


@pytest.fixture(scope="module")
def exports(saved_db, tmp_path_factory):
    return hostile_corpus.export_corpus(tmp_path_factory.mktemp("exports"), saved_db[1])


@pytest.mark.parametrize("case", ["no-organisation", "organisation-a-number", "date-a-number", "date-feb-30",
                                  "responses-text", "stage-script", "target-stage-script", "target-by-feb-30",
                                  "nested-900", "id-not-hex", "utf-16", "nested-100000", "number-5000-digits",
                                  "values-3-million", "strings-1.9-million", "audits-900000-empty",
                                  "audits-90000-empty", "not-json",
                                  "a-list", "fifo", "dev-zero"])
def test_a_hostile_export_is_refused_whole_before_the_store_is_touched(case, exports, tmp_path):
    expected, path = exports[case]
    db = tmp_path / "new.db"
    line = assert_one_line(invoke("import", path, "--db", f"sqlite:///{db}"), path)
    assert expected in line, line
    assert len(line) < 300, line
    assert not db.exists()  # checked whole before the database was even opened


def test_a_valid_export_still_imports_and_round_trips(saved_db, tmp_path):
    url, doc = saved_db
    path = tmp_path / "org.json"
    path.write_text(json.dumps(doc))
    other = f"sqlite:///{tmp_path / 'other.db'}"
    result = invoke("import", path, "--db", other)
    assert result.exit_code == 0 and "imported 1 audit of 'Northwind Components Ltd'" in result.stderr
    assert json.loads(invoke("export", ORG, "--db", other).stdout) == doc


@pytest.mark.parametrize("url, expected", [
    ("sqlite://", "an in-memory database keeps nothing"),
    ("sqlite:///:memory:", "an in-memory database keeps nothing"),
    ("sqlite:////dev/null", "not a regular file"),
    ("postgresql+psycopg2://u@localhost/db", "unsupported database 'postgresql+psycopg2'"),
    ("mysql://u@localhost/db", "unsupported database 'mysql'"),
    ("not a url", "not a database URL"),
])
@pytest.mark.parametrize("command", [["history", ORG], ["assess", "--example", "northwind-early-b", "--save"],
                                     ["db", "upgrade"], ["db", "info"]])
def test_a_database_url_the_store_cannot_use_is_one_line_at_once(url, expected, command):
    """In a real process with a timeout: an in-memory database used to spin at 100 % CPU."""
    journal_before = os.path.exists("/dev/null-journal")
    proc = subprocess.run(KAM + command + ["--db", url], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert os.path.exists("/dev/null-journal") == journal_before  # SQLite never touched /dev/null
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


READING_COMMANDS = [["history", ORG], ["show", "abcd"], ["export", ORG], ["compare", ORG, "--format", "json"],
                    ["reassess", "abcd"]]


def _foreign_db(path: Path) -> bytes:
    import sqlite3
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    conn.execute("INSERT INTO invoices (amount) VALUES (12.5)")
    conn.commit()
    conn.close()
    return path.read_bytes()


@pytest.mark.parametrize("command", READING_COMMANDS + [["db", "info"]])
def test_a_reading_command_never_creates_or_migrates_a_database(command, tmp_path):
    foreign = tmp_path / "crm.db"
    before = _foreign_db(foreign)
    result = invoke(*command, "--db", f"sqlite:///{foreign}")
    if command[0] == "db":  # info reports, changes nothing
        assert result.exit_code == 0 and "schema:        none" in result.stdout
    else:
        line = assert_one_line(result)
        assert "holds no kam-advisor history" in line and "kam-advisor db upgrade" in line and "assess --save" in line
    assert foreign.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]
    missing = tmp_path / "none.db"
    result = invoke(*command, "--db", f"sqlite:///{missing}")
    assert not missing.exists()
    if command[0] != "db":
        assert "no history database there yet" in assert_one_line(result)


def test_report_progress_on_a_foreign_database_warns_and_leaves_it_untouched(tmp_path):
    foreign = tmp_path / "crm.db"
    before = _foreign_db(foreign)
    result = invoke("report", "--example", "northwind-early-b", "--progress", "--format", "md",
                    "--db", f"sqlite:///{foreign}")
    assert result.exit_code == 0 and "holds no kam-advisor history" in result.stderr
    assert "the report has no progress page" in result.stderr
    assert foreign.read_bytes() == before


def test_one_bad_stored_target_never_breaks_compare_or_the_report(saved_db, tmp_path):
    """A target stored by an older version (its import did not check the stage) is left out."""
    import sqlite3
    db = tmp_path / "history.db"
    shutil.copy(saved_db[0].removeprefix("sqlite:///"), db)
    url = f"sqlite:///{db}"
    assert invoke("assess", "--example", "northwind-early-b", "--save", "--db", url, "--date", "2026-12-01").exit_code == 0
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO targets (organisation, unit, stage, by_date, set_at) VALUES (?, '', ?, NULL, ?)",
                 (ORG, "<script>Z", "2026-01-01T00:00:00+00:00"))
    conn.commit()
    conn.close()
    result = invoke("compare", ORG, "--format", "json", "--db", url)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"] is None
    result = invoke("report", "--example", "northwind-early-b", "--progress", "--format", "md", "--db", url,
                    "--date", "2027-01-01")
    assert result.exit_code == 0 and "<script>" not in result.stdout


def test_one_damaged_stored_audit_never_breaks_reading_the_others(saved_db, tmp_path):
    """Records written outside kam-advisor (or by an older version): a result and a summary that
    are not objects, a stage that is not a stage. Every reading command still answers."""
    import sqlite3
    db = tmp_path / "history.db"
    shutil.copy(saved_db[0].removeprefix("sqlite:///"), db)
    url = f"sqlite:///{db}"
    assert invoke("assess", "--example", "northwind-early-b", "--save", "--db", url, "--date", "2026-12-01").exit_code == 0
    conn = sqlite3.connect(db)
    damaged = conn.execute("SELECT id FROM audits ORDER BY date LIMIT 1").fetchone()[0]
    conn.execute("UPDATE audits SET result = '\"x\"', summary = '[1]', stage_achieved = '<script>Z' WHERE id = ?",
                 (damaged,))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(db)
    intact = conn.execute("SELECT id FROM audits WHERE id != ? ORDER BY date LIMIT 1", (damaged,)).fetchone()[0]
    conn.close()
    for command in (["history", ORG], ["compare", ORG, "--format", "json"], ["show", intact], ["export", ORG],
                    ["report", "--example", "northwind-early-b", "--progress", "--format", "md", "--date", "2027-01-01"]):
        result = invoke(*command, "--db", url)
        assert result.exit_code == 0 and result.exception is None or isinstance(result.exception, SystemExit), \
            (command, result.output, result.exception)
        assert result.exit_code == 0, (command, result.output)
    # the damaged audit itself: its record, then one line saying its result is not a document, exit 2
    result = invoke("show", damaged, "--db", url)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.splitlines()[-1].startswith("kam-advisor: not an assessment document")


# ------------------------------------------------------------------------------- terminals and files (issue 21)

OSC_TITLE, OSC_CLIPBOARD = "\x1b]0;pwned\x07", "\x1b]52;c;cm0gLXJmIH4=\x07"
ESCAPES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def on_terminal(args, timeout=30) -> tuple[int, str]:
    """Run kam-advisor with stdout and stderr on a pseudo-terminal: (exit code, all it printed)."""
    import pty
    import select
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(KAM + [str(a) for a in args], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=child_fd,
                            stderr=child_fd, env={**os.environ, "NO_COLOR": "1"})
    os.close(child_fd)
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(main_fd)
    return proc.wait(timeout=timeout), out.decode("utf-8", "replace")


@pytest.mark.parametrize("text, expected", [
    ("a\x1b]0;pwned\x07b", "ab"), ("a\x1b]52;c;aGk=\x1b\\b", "ab"), ("a\x1b[2J\x1b[31mb", "ab"), ("a\x9b31mb", "ab"),
    ("a\x9d0;t\x9cb", "ab"), ("a\x1bPq#0\x1b\\b", "ab"), ("a\x1b_apc\x9cb", "ab"), ("lone\x1b", "lone"),
    ("a\x1b(Bb", "ab"), ("c1\x85\x8dx", "c1x"), ("keeps\ttab\nnewline\rCR é 漢", "keeps\ttab\nnewline\rCR é 漢"),
    ("unterminated\x1b]0;title", "unterminated"),
])
def test_every_control_sequence_is_stripped(text, expected):
    assert neutral.strip_control_sequences(text) == expected


def test_names_from_an_import_never_drive_the_terminal_in_history_or_show(saved_db, tmp_path):
    evil = f"Evil{OSC_TITLE} Ltd"
    doc = json.loads(json.dumps(saved_db[1]))
    doc["organisation"] = doc["audits"][0]["organisation"] = evil
    doc["audits"][0]["assessor"] = f"{OSC_CLIPBOARD}Jo"
    doc["audits"][0]["result"]["organisation"] = evil
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    url = f"sqlite:///{tmp_path / 'h.db'}"
    assert invoke("import", path, "--db", url).exit_code == 0
    code, printed = on_terminal(["history", evil, "--db", url])
    assert code == 0 and "Evil" in printed and "Jo" in printed, printed
    assert not ESCAPES.search(printed.replace("\r\n", "\n")), repr(printed)
    audit_id = doc["audits"][0]["id"]
    code, printed = on_terminal(["show", audit_id, "--db", url])
    assert code == 0 and "Evil" in printed and not ESCAPES.search(printed.replace("\r\n", "\n")), repr(printed)
    exported = invoke("export", evil, "--db", url).stdout  # to a file or pipe the data stays whole
    assert json.loads(exported)["organisation"] == evil


def test_accounts_score_on_a_terminal_prints_no_escape_sequences(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(f"name,stability,ease\n{OSC_TITLE}Acme,4,4\n\x9b2JGlobex{OSC_CLIPBOARD},2,2\n", encoding="utf-8")
    code, printed = on_terminal(["accounts", "score", path])
    assert code == 0 and "Acme" in printed and "Globex" in printed, printed
    assert not ESCAPES.search(printed.replace("\r\n", "\n")), repr(printed)


@pytest.mark.parametrize("args", [
    ["assess", "--example", "northwind-early-b", "--date", "7" * 5000],
    ["history", "O" * 5000, "--db", "{db}"],
    ["target", ORG, "--stage", "Z" * 5000, "--db", "{db}"],
])
def test_an_error_line_quotes_at_most_80_characters_of_a_value(args, saved_db, tmp_path):
    line = assert_one_line(invoke(*[a.replace("{tmp}", str(tmp_path)).replace("{db}", saved_db[0]) for a in args]))
    assert len(line) < 300, line
    assert "(and 4,920 more characters)" in line, line


def test_a_usage_error_is_one_line(tmp_path):
    line = assert_one_line(invoke("accounts", "template", "-o", tmp_path))
    assert line.startswith("kam-advisor: accounts template: ") and "is a folder" in line
    assert "--format" in assert_one_line(invoke("assess", "--format", "nope"))
    assert "Missing argument 'FILE'" in assert_one_line(invoke("accounts", "score"))
    assert list(tmp_path.iterdir()) == []


def _big_portfolio(path: Path, accounts: int) -> None:
    with path.open("w") as handle:
        handle.write("name,stability,cross_sell,financial,ease,revenue\n")
        for n in range(accounts):
            handle.write(f"Account {n},{n % 5 + 1},{(n // 5) % 5 + 1},3,4,{n * 1000}\n")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_accounts_score_stopped_half_way_leaves_no_temporary_file(how, tmp_path):
    source, out = tmp_path / "p.csv", tmp_path / "scored.csv"
    _big_portfolio(source, 60_000)
    proc = subprocess.Popen(KAM + ["accounts", "score", str(source), "-o", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            if list(tmp_path.glob(".scored.csv.*.tmp")):
                break
            time.sleep(0.02)
        assert list(tmp_path.glob(".scored.csv.*.tmp")), "never started writing"
        proc.send_signal(how)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"Traceback" not in err, err
    assert not out.exists()
    if how == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert list(tmp_path.glob(".scored.csv.*")) == []
    else:  # kill -9 cannot be caught: the next run to the same path removes what it left
        time.sleep(files.STALE_SECONDS + 0.1)
        _big_portfolio(source, 10)
        assert invoke("accounts", "score", source, "-o", out).exit_code == 0
        assert out.exists() and list(tmp_path.glob(".scored.csv.*")) == []


def test_run_ended_by_sigterm_leaves_no_temporary_or_lock_file(tmp_path):
    answers = tmp_path / "a.yaml"
    proc = subprocess.Popen(KAM + ["run", "readiness", "--answers", str(answers)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(400):
            if answers.exists():
                break
            time.sleep(0.05)
        proc.stdin.write(b"done\n")
        proc.stdin.flush()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM and b"Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]
    assert "driver" in answers.read_text()  # the answer given before the signal is kept


def test_a_csv_line_of_150_mb_is_never_read_whole(tmp_path):
    path = tmp_path / "p.csv"
    with path.open("wb") as handle:
        handle.write(b"name,stability,ease\nAcme,4,4\n")
        handle.write(b"Huge," + b"9" * (150 * 1024 * 1024) + b",3\n")
        handle.write(b"Globex,2,2\n")
    code = ("import resource, subprocess, sys; "
            f"p = subprocess.run({KAM!r} + ['accounts', 'score', {str(path)!r}, '-o', {str(tmp_path / 'o.csv')!r}], "
            "capture_output=True, text=True, timeout=60); "
            "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(p.stderr)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=90)
    first, stderr = out.stdout.split("\n", 1)
    returncode, peak_kib = map(int, first.split())
    assert returncode == 2 and "row 3: a line longer than 1,048,576 bytes; skipped unread" in stderr, stderr
    assert "2 accounts scored, 1 row skipped" in stderr
    assert peak_kib < 120 * 1024, peak_kib


def test_batch_gives_a_fifo_or_a_device_named_like_answers_an_error_row(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "good.yaml")
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.xlsx").symlink_to("/dev/zero")
    (folder / "null.json").symlink_to("/dev/null")
    result = invoke("batch", folder, "--output", tmp_path / "out", "--jobs", "1")
    assert result.exit_code == 2
    with (tmp_path / "out" / "summary.csv").open(newline="") as handle:
        rows = {r["file"]: r for r in csv.DictReader(handle)}
    assert rows["good.yaml"]["status"] == "ok"
    for name in ("pipe.yaml", "zero.xlsx", "null.json"):
        assert rows[name]["status"] == "error" and "not a regular file" in rows[name]["error"]


# ------------------------------------------------------------------------------- the limits

@pytest.mark.parametrize("make, limit_name", [
    (lambda n: "[" * n + "]" * n, "MAX_DEPTH"),
    (lambda n: "{" + ", ".join(f"k{i}: 1" for i in range(n)) + "}", "MAX_KEYS"),
    (lambda n: "a: " + "x" * n, "MAX_TEXT"),
    (lambda n: "a: " + "7" * n, "MAX_NUMBER_DIGITS"),
    (lambda n: "k" * n + ": 1", "MAX_KEY_TEXT"),
])
def test_each_limit_holds_exactly_at_its_documented_value(make, limit_name):
    limit = getattr(yamlio, limit_name)
    yamlio.parse_yaml(make(limit), "f.yaml")
    with pytest.raises(DataError) as caught:
        yamlio.parse_yaml(make(limit + 1), "f.yaml")
    assert caught.value.line == 1 and f"{limit:,}" in caught.value.message or str(limit) in caught.value.message


def test_aliases_count_as_what_they_expand_to_and_a_file_may_be_10_mib(tmp_path):
    fine = "a: &a [1, 2, 3]\nb: *a\nc: *a\n"
    assert yamlio.parse_yaml(fine)["c"] == [1, 2, 3]
    with pytest.raises(DataError, match="too many values"):
        yamlio.parse_yaml(hostile_corpus._laughs(6, 8))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * (yamlio.MAX_FILE_BYTES - 6) + b"\n")
    assert yamlio.load_file(big) == {"a": 1}
    with big.open("ab") as handle:
        handle.write(b"#")
    with pytest.raises(DataError, match="file too large"):
        yamlio.load_file(big)


@pytest.mark.parametrize("text, expected", [
    ("a: 1:30", "1:30"), ("a: 190:20:30", "190:20:30"), ("a: 1_000", 1000), ("a: 2026-11-01", "2026-11-01"),
    ("a: 0x10", 16), ("a: !!str 12", "12"), ("a: 1.5", 1.5),
])
def test_numbers_read_as_written_and_no_base_60(text, expected):
    value = yamlio.parse_yaml(text)["a"]
    assert (value.isoformat() if hasattr(value, "isoformat") else value) == expected


@pytest.mark.parametrize("text", ["a: .nan", "a: .inf", "a: -.Inf", "a: 1.0e+999", "a: !!float nan"])
def test_nan_and_infinity_are_refused_with_their_line(text):
    with pytest.raises(DataError, match="not a number or infinite") as caught:
        yamlio.parse_yaml("ok: 1\n" + text, "f.yaml")
    assert caught.value.line == 2


@pytest.mark.parametrize("tag", ["!!set {a, b}", "!!binary aGk=", "!!omap [a: 1]", "!!pairs [a: 1]",
                                 "!!timestamp 2026-01-01", "!!python/name:os.system", "!custom x", "!<tag:x> y"])
def test_tags_other_than_plain_yaml_are_refused(tag):
    with pytest.raises(DataError, match="is not allowed"):
        yamlio.parse_yaml(f"a: {tag}")


def test_every_numeric_fact_has_a_plausible_range_with_its_reason():
    facts = yaml.safe_load((ROOT / "rules" / "facts.yaml").read_text())["facts"]
    numeric = [f for f in facts if f["type"] in ("integer", "number")]
    assert numeric
    for fact in numeric:
        assert "minimum" in fact and "maximum" in fact, fact["id"]
        assert len(fact.get("why", "")) > 10, fact["id"]


# ------------------------------------------------------------------------------- writing

@pytest.mark.parametrize("command", [
    ["assess", "--answers", EXAMPLE, "--format", "json", "--output"],
    ["report", "--answers", EXAMPLE, "--format", "md", "--output"],
    ["questionnaire", "template", "readiness", "--force", "--output"],
])
def test_outputs_go_only_to_regular_files_or_new_paths(command, tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("keep me")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    assert "symbolic link" in assert_one_line(invoke(*command, link))
    assert link.is_symlink() and target.read_text() == "keep me"
    assert "not a regular file" in assert_one_line(invoke(*command, "/dev/null"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert "is a folder" in assert_one_line(invoke(*command, tmp_path))
    assert "cannot write" in assert_one_line(invoke(*command, "/proc/kam-advisor-test.out"))
    assert invoke(*command, tmp_path / "new.out").exit_code == 0


UNWRITABLE = Path("/proc/kam-advisor-test")  # a folder nobody, not even root, can create files in


@pytest.mark.parametrize("command", [
    ["assess", "--example", "northwind-early-b", "--output", UNWRITABLE / "a.json"],
    ["report", "--example", "northwind-early-b", "--format", "md", "--output", Path("/proc") / "r.md"],
    ["report", "--example", "northwind-early-b", "--format", "html", "--output", Path("/proc") / "r.html"],
    ["questionnaire", "template", "readiness", "--output", Path("/proc") / "t.yaml"],
    ["kb", "export", "--output", Path("/proc") / "kb.json"],
    ["batch", ROOT / "examples", "--output", UNWRITABLE],
    ["run", "readiness", "--answers", Path("/proc") / "a.yaml"],
])
def test_a_folder_that_cannot_be_written_is_one_line(command):
    assert_one_line(invoke(*command, input=""))


def test_an_output_over_the_answers_file_being_read_is_refused(tmp_path):
    answers = tmp_path / "a.yaml"
    shutil.copy(EXAMPLE, answers)
    before = answers.read_bytes()
    for command in (["assess", "--format", "json"], ["report", "--format", "md"]):
        line = assert_one_line(invoke(*command, "--answers", answers, "--output", answers))
        assert "is an input of this command" in line
    assert answers.read_bytes() == before


def test_batch_refuses_its_input_folder_and_a_file_as_its_output(tmp_path):
    shutil.copy(EXAMPLE, tmp_path / "a.yaml")
    assert "is the input folder" in assert_one_line(invoke("batch", tmp_path, "--output", tmp_path))
    assert "not a folder" in assert_one_line(invoke("batch", tmp_path, "--output", tmp_path / "a.yaml"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


def test_a_save_killed_half_way_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    target = tmp_path / "answers.yaml"
    script = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from kam_advisor.data import files
        os.replace = lambda *a: time.sleep(60)   # stop between writing the temporary file and renaming it
        files.atomic_write(Path({str(target)!r}), "half")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        for _ in range(200):
            leftovers = list(tmp_path.glob(".answers.yaml.*.tmp"))
            if leftovers:
                break
            time.sleep(0.05)
        assert leftovers, "the writer never got to its temporary file"
        time.sleep(0.2)
        old = time.time() - 10
        os.utime(leftovers[0], (old, old))  # old enough to be a leftover: only its writer's lock protects it
        files.atomic_write(target, "while the writer lives")
        assert leftovers[0].exists(), "a live writer's temporary file was removed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    files.atomic_write(target, "whole")
    assert target.read_text() == "whole"
    assert list(tmp_path.glob(".answers.yaml.*")) == []


# ------------------------------------------------------------------------------- run: lock, Ctrl-C

def test_a_second_run_on_the_same_answers_file_is_refused_while_the_first_goes_on(tmp_path):
    answers = tmp_path / "a.yaml"
    first = subprocess.Popen(KAM + ["run", "readiness", "--answers", str(answers)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(400):  # until the first run holds the file (it saves the empty file at once)
            if answers.exists():
                break
            time.sleep(0.05)
        second = invoke("run", "readiness", "--answers", answers, input="1\n")
        line = assert_one_line(second, answers)
        assert "is being answered in another kam-advisor run" in line
        first.send_signal(signal.SIGINT)
        out, err = first.communicate(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130
    assert b"Aborted!" not in err and b"Traceback" not in err
    assert invoke("run", "readiness", "--answers", answers, input="").exit_code == 0  # lock released


def test_ctrl_c_anywhere_exits_130_without_aborted(monkeypatch):
    from kam_advisor.results import assess

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(assess, "assess_files", interrupted)
    result = invoke("assess", "--example", "northwind-early-b")
    assert result.exit_code == 130 and "Aborted" not in result.output


def test_a_closed_output_pipe_ends_quietly():
    proc = subprocess.Popen(KAM + ["kb", "export"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=20)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err
    assert proc.returncode in (0, 141)  # 141: the write failed; 0: it had been buffered


# ------------------------------------------------------------------------------- batch

def test_batch_over_the_whole_corpus_reports_every_file_and_writes_the_summary(corpus, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for case, (_, path) in corpus.items():
        if case not in ("file-11-mb",):  # keep the copy small; the limit is tested above
            shutil.copy(path, folder / path.name)
    shutil.copy(EXAMPLE, folder / "good.yaml")
    result = invoke("batch", folder, "--output", tmp_path / "out", "--jobs", "2")
    assert result.exit_code == 2 and "Traceback" not in result.output
    with (tmp_path / "out" / "summary.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(list(folder.iterdir()))
    by_file = {r["file"]: r for r in rows}
    assert by_file["good.yaml"]["status"] == "ok"
    bad = [r for r in rows if r["file"] != "good.yaml"]
    blank = {f"{case}.yaml" for case in BLANK}
    assert all(r["status"] == "error" and r["error"] for r in bad)
    assert all(r["file"] in blank or re.search(r":\d+: ", r["error"]) or "not UTF-8" in r["error"]
               or "NUL" in r["error"] for r in bad), [r["error"] for r in bad]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.json", "summary.csv"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_worker_that_crashes_or_hangs_is_that_files_error_row(tmp_path, jobs):
    """With one worker, every other file waits in the worker that crashes or hangs (a worker holds
    more than one job): those files are still assessed, by the next worker."""
    folder = tmp_path / "in"
    folder.mkdir()
    good = ["a-good", "d-good", "i-good", "z-good"]
    for name in good + ["crash", "hang"]:
        shutil.copy(EXAMPLE, folder / f"{name}.yaml")
    rows = batch.run(folder, tmp_path / "out", jobs=jobs, timeout=2, assess=hostile_corpus.crash_or_hang)
    status = {r["file"]: (r["status"], r["error"]) for r in rows}
    assert {name: status[f"{name}.yaml"] for name in good} == {name: ("ok", "") for name in good}
    assert status["crash.yaml"] == ("error", "the worker assessing this file crashed (SIGSEGV)")
    assert status["hang.yaml"] == ("error", "took longer than 2 s; stopped")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        [f"{name}.json" for name in good] + ["summary.csv"])


def test_a_worker_that_dies_while_the_parent_is_busy_is_still_that_files_error_row(tmp_path):
    """The worker crashes on its second file while the parent is still handling its first
    (``on_done`` takes a while): sending it more work must not fail the batch."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a-good", "crash", "z-good"):
        shutil.copy(EXAMPLE, folder / f"{name}.yaml")
    rows = batch.run(folder, tmp_path / "out", jobs=1, timeout=30, assess=hostile_corpus.crash_or_hang,
                     on_done=lambda path, error: time.sleep(0.5))
    assert [(r["file"], r["status"]) for r in rows] == [
        ("a-good.yaml", "ok"), ("crash.yaml", "error"), ("z-good.yaml", "ok")]


def test_summary_csv_cells_never_run_as_formulas(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tTabbed",
             "\rCarriage", "line\rbreak", "x" * 100_000]
    text = EXAMPLE.read_text()
    for n, name in enumerate(names):
        body = re.sub(r"(?m)^organisation:.*$", lambda _: "organisation: " + json.dumps(name), text)
        (folder / f"org{n}.yaml").write_text(body)
    (folder / "=1+1.yaml").write_text("questionnaire: nope\nanswers: {}\n")
    assert invoke("batch", folder, "--output", tmp_path / "out", "--jobs", "1").exit_code == 2
    raw = (tmp_path / "out" / "summary.csv").read_text()
    assert "\r" not in raw
    with (tmp_path / "out" / "summary.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(names) + 1
    for row in rows:
        for value in row.values():
            assert not value.startswith(cells.FORMULA_START), value
            assert len(value) <= cells.MAX_CELL
    assert rows[0]["file"] == "'=1+1.yaml"
    assert {r["organisation"] for r in rows} >= {"'=HYPERLINK(\"http://evil\",\"x\")", "'@SUM(1+1)", "'-2+3",
                                                 "' Tabbed", "' Carriage", "line break"}


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "' =1"), ("\r=1", "' =1"),
    ("a\nb", "a b"), ("Acme", "Acme"), (12, 12), (None, None), ("", ""), ("x" * 2000, "x" * 999 + "\u2026"),
    # the cases of the old `spreadsheet_safe` (portfolio outputs) and those white space before a sign hid
    (-3.5, -3.5), (0, 0), (True, True), ("-5", "'-5"), ("Acme = best", "Acme = best"), (" =1+1", "' =1+1"),
    ("  @SUM(A1)", "'  @SUM(A1)"), ("\u00a0+1", "'\u00a0+1"), ("\n=1", "' =1"), (" ", " "), ("a-b", "a-b"), ("\tTabbed", "' Tabbed"),
])
def test_spreadsheet_cell(value, expected):
    assert cells.spreadsheet_cell(value) == expected


def test_one_spreadsheet_rule_for_every_csv_and_xlsx_writer():
    import kam_advisor.data.neutral as terminal_module
    from kam_advisor.render import accounts as portfolio_outputs
    from kam_advisor.results import batch as batch_summary
    from kam_advisor.results.pipelines import account as account_rows, plan as plan_rows
    assert not hasattr(terminal_module, "spreadsheet_cell")
    for module in (portfolio_outputs, batch_summary, account_rows, plan_rows):
        assert module.spreadsheet_cell is cells.spreadsheet_cell, module.__name__


# ------------------------------------------------------------------------------- Markdown and terminals

def test_markdown_reports_turn_links_and_images_from_user_text_into_text(tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text(textwrap.dedent("""\
        questionnaire: full-audit
        organisation: "[click me](javascript:alert(1))"
        respondent: "![pixel](http://evil.example/p.png)"
        answers:
          sp.goals.positioning.a1: {status: done, note: "<img src=x onerror=alert(1)> [x]: javascript:alert(2)"}
        """))
    result = invoke("report", "--answers", answers, "--format", "md")
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert "](javascript:" not in md.replace("\\](javascript:", "") and "<img" not in md
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", html)  # only in text, never in an attribute
    assert "<img" not in html and 'href="javascript' not in html


def test_terminal_escape_sequences_never_reach_the_terminal(tmp_path):
    evil = "\x1b]0;pwned\x07\x1b[2J\x9b31m"
    result = invoke("report", "--example", "northwind-early-b", "--format", "text", "--org", evil)
    assert result.exit_code == 0 and "\\x1b]0;pwned" in result.stdout
    assert not CONTROL.search(result.stdout.replace("\n", "").replace("\t", ""))
    line = assert_one_line(invoke("assess", "--answers", tmp_path / f"{evil}.yaml"))
    assert "\\x1b" in line
    assert neutral.terminal_text(evil) == "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m"


# ------------------------------------------------------------------------------- fuzz

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**40), st.floats(allow_nan=True),
                    st.text(max_size=30), st.sampled_from(["done", "partial", "not_started", "na", "dont_know",
                                                           "yes", "1:30", "2026-02-30", "full-audit"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)
TOP = st.fixed_dictionaries({}, optional={
    "questionnaire": st.one_of(st.sampled_from(["full-audit", "readiness", "account", "/etc/passwd", "../x"]), VALUES),
    "answers": st.one_of(st.dictionaries(st.sampled_from(["sp.goals.positioning.a1", "oc.senior.role.a1",
                                                          "positioning", "ka_count", "nope"]), VALUES, max_size=4),
                         VALUES),
    "facts": st.one_of(st.dictionaries(st.sampled_from(["ka_count", "plan_pages", "has_senior_sponsor",
                                                        "account_name", "x"]), VALUES, max_size=3), VALUES),
    "notes": VALUES, "organisation": VALUES, "respondent": VALUES, "date": VALUES,
})
TAGS = ["!!set ", "!!binary ", "!!float ", "!!int ", "!!timestamp ", "!!str ", "!x ", "&a ", "*a ", "!!python/tuple "]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(doc=TOP, tag=st.one_of(st.none(), st.tuples(st.sampled_from(TAGS), st.integers(0, 10**6))),
       as_json=st.booleans())
def test_fuzzed_answers_files_give_exit_0_or_2_and_never_a_traceback(tmp_path, doc, tag, as_json):
    if as_json:
        text, suffix = json.dumps(doc, default=str), ".json"
    else:
        text, suffix = yaml.safe_dump(doc, allow_unicode=True, default_flow_style=bool(tag)), ".yaml"
    if tag:
        marker, at = tag
        spots = [m.end() for m in re.finditer(r": ", text)] or [0]
        spot = spots[at % len(spots)]
        text = text[:spot] + marker + text[spot:]
    path = tmp_path / f"fuzz{suffix}"
    path.write_text(text, encoding="utf-8")
    for args in (["assess", "--answers", path, "--format", "json"], ["questionnaire", "validate", "full-audit", path]):
        result = invoke(*args)
        assert result.exit_code in (0, 2), (text, result.output, result.exception)
        assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
            (text, repr(result.exception))
        assert "Traceback" not in result.output
        if result.exit_code == 2 and args[0] == "assess":
            assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("kam-advisor: "), result.stderr
        if result.exit_code == 0 and args[0] == "assess":
            json.loads(result.stdout)  # valid JSON: no NaN or Infinity


YAML_PIECES = st.sampled_from(["a", ": ", "- ", "\n", "  ", "[", "]", "{", "}", ", ", "&x ", "*x", "!!set ", "!!int ",
                                "!!float ", "!!str ", "!!binary ", "!t ", "? ", "|\n", ">\n", '"', "'", "\\e",
                                ".nan", ".inf", "1:30", "2026-02-30", "0x1F", "1e5", "~", "null", "yes", "#", "%YAML 1.1\n",
                                "---\n", "...\n", "<<: *x\n", "\t", "é", "\u2028"])


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(YAML_PIECES, max_size=40))
def test_the_loader_returns_data_or_one_data_error_for_any_text(pieces):
    text = "".join(pieces)
    try:
        data = yamlio.parse_yaml(text, "f.yaml")
    except DataError as err:
        assert "\n" not in err.format() and err.format().startswith("f.yaml")
        return
    json.dumps(yamlio.plain(data), default=str, allow_nan=False)  # plain, finite, no sets or bytes


# ------------------------------------------------------------------------------- time and memory

HEAVIEST_WORKBOOKS = ("portfolio-row-3-million-cells", "portfolio-8-million-elements", "portfolio-2-million-empty-rows",
                      "portfolio-row-number-4-billion", "answers-row-3-million-cells", "portfolio-dev-zero")
HEAVIEST_EXPORTS = ("strings-1.9-million", "audits-900000-empty", "audits-90000-empty", "values-3-million")


def test_the_heaviest_hostile_files_stay_under_300_mb_and_10_s_in_a_real_process(corpus, workbooks, exports, tmp_path):
    """Peak memory and wall time of a whole `kam-advisor` process (bench/bench_hostile.py prints
    them for every case); a hang would hit the timeout."""
    commands = [["assess", "--answers", corpus[case][1]] for case in ("file-11-mb", "billion-laughs", "nesting-100000-flow")]
    commands += [_workbook_command(workbooks[case][0], workbooks[case][1], "/nonexistent/out")[:-2]
                 for case in HEAVIEST_WORKBOOKS]
    commands += [["import", exports[case][1], "--db", f"sqlite:///{tmp_path / 'h.db'}"] for case in HEAVIEST_EXPORTS]
    for command in commands:
        code = ("import resource, subprocess, sys, time; t = time.monotonic(); "
                f"p = subprocess.run({KAM!r} + {[str(c) for c in command]!r}, capture_output=True, timeout=30); "
                "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, len(p.stderr.splitlines()), "
                "time.monotonic() - t)")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
        returncode, peak_kib, lines, seconds = out.stdout.split()
        assert (int(returncode), int(lines)) == (2, 1), (command, out)
        assert int(peak_kib) < 300 * 1024, (command, peak_kib)
        assert float(seconds) < 10, (command, seconds)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_batch_stopped_half_way_leaves_whole_files_and_no_traceback(tmp_path, how):
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(24):
        shutil.copy(EXAMPLE, folder / f"org{n:02}.yaml")
    out = tmp_path / "out"
    proc = subprocess.Popen(KAM + ["batch", str(folder), "--output", str(out), "--jobs", "2"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            if out.is_dir() and len(list(out.glob("*.json"))) >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(how)
        _, err = proc.communicate(timeout=30)  # returns once the workers, which share stderr, are gone too
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"Traceback" not in err and b"BrokenPipe" not in err and b"Aborted" not in err, err.decode()
    assert b"leaked" not in err, err.decode()  # no semaphores left to the resource tracker
    for result in out.glob("*.json"):
        json.loads(result.read_text())
    if how == signal.SIGINT:
        assert proc.returncode == 130
        with (out / "summary.csv").open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == 24 and any(r["error"] == "not assessed: the batch was interrupted" for r in rows)
