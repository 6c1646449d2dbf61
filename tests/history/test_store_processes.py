"""Real processes against one history database: concurrent saves both land; kill -9 mid-save loses
nothing but the audit being saved, which is absent, never half-written. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from history.conftest import EXAMPLES, ROOT
from kam_advisor.store import open_store

CHILD = r"""
import json, sys, time
from sqlalchemy import event
from kam_advisor.store import open_store, save_assessment, sources_from_files
url, answers, result_file, organisation, count, mode = sys.argv[1:7]
result, sources = json.load(open(result_file)), sources_from_files([answers])
store = None if mode == "open-late" else open_store(url)   # open-late: create the schema in the race
if mode == "pause":   # hold the transaction open right after the answers are written
    @event.listens_for(store.engine, "after_cursor_execute")
    def pause(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO ANSWERS"):
            print("inside", flush=True)
            time.sleep(120)
print("ready", flush=True)
sys.stdin.readline()                                  # "go": both children start saving together
store = store or open_store(url)
for n in range(int(count)):
    save_assessment(store, result, sources, organisation=organisation, unit=f"unit {n}")
    print("saved", flush=True)
"""


@pytest.fixture(scope="module")
def result_file(tmp_path_factory, northwind) -> str:
    """The Northwind assessment as JSON, so each child process saves without assessing again."""
    path = tmp_path_factory.mktemp("result") / "northwind.json"
    path.write_text(json.dumps(northwind[0]))
    return str(path)


@pytest.fixture()
def spawn(result_file):
    def start(url: str, organisation: str, count: int, mode: str = "plain"):
        return _child(url, result_file, organisation, count, mode)
    return start


def _child(url: str, result_file: str, organisation: str, count: int, mode: str = "plain"):
    return subprocess.Popen([sys.executable, "-c", CHILD, url, str(EXAMPLES / "northwind-early-b.yaml"),
                             result_file, organisation, str(count), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _start(*children) -> None:
    """Wait until every child is ready (store open, answers assessed), then let all go at once."""
    for child in children:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()


def _complete(url: str, organisation: str) -> list[str]:
    """The ids of the organisation's audits, after checking each holds every answer it counted."""
    with open_store(url) as store:
        rows = store.audits(organisation)
        with store.engine.connect() as conn:
            for row in rows:
                expected, result = conn.execute(sa.text("SELECT answer_count, result FROM audits WHERE id = :id"),
                                                {"id": row.id}).one()
                stored = conn.execute(sa.text("SELECT COUNT(*) FROM answers WHERE audit_id = :id"),
                                      {"id": row.id}).scalar()
                assert stored == expected > 0
                assert result.startswith("{") and result.endswith("}")
        return [r.id for r in rows]


def test_two_processes_saving_at_once_both_land(db_url, spawn):
    open_store(db_url).close()                       # schema in place: the race is the saves
    children = [spawn(db_url, "Busy Ltd", 4) for _ in range(2)]
    _start(*children)
    for child in children:
        out, err = child.communicate(timeout=90)
        assert child.returncode == 0, err
        assert out.count("saved") == 4
    assert len(_complete(db_url, "Busy Ltd")) == 8


def test_two_processes_creating_a_new_database_at_once_both_land(db_url, spawn):
    children = [spawn(db_url, "New Ltd", 1, mode="open-late") for _ in range(2)]
    _start(*children)
    for child in children:
        _out, err = child.communicate(timeout=90)
        assert child.returncode == 0, err
    assert len(_complete(db_url, "New Ltd")) == 2


def test_kill_9_inside_the_save_leaves_no_trace_of_that_audit(db_url, spawn):
    open_store(db_url).close()
    child = spawn(db_url, "Crash Ltd", 1, mode="pause")
    _start(child)
    assert child.stdout.readline().strip() == "inside"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert _complete(db_url, "Crash Ltd") == []
    # the database is still usable: the next save lands
    survivor = spawn(db_url, "Crash Ltd", 1)
    _start(survivor)
    _out, err = survivor.communicate(timeout=90)
    assert survivor.returncode == 0, err
    assert len(_complete(db_url, "Crash Ltd")) == 1


def test_kill_9_in_a_stream_of_saves_keeps_every_finished_audit_whole(db_url, spawn):
    open_store(db_url).close()
    child = spawn(db_url, "Stream Ltd", 200)
    _start(child)
    saved = 0
    while saved < 3:
        assert child.stdout.readline().strip() == "saved"
        saved += 1
    time.sleep(0.013)                                # somewhere inside a later save
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert len(_complete(db_url, "Stream Ltd")) >= saved
