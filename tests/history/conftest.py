"""Fixtures of the assessment-history tests: a SQLite file or a real PostgreSQL server per test.

The PostgreSQL server is Debian's (package ``postgresql``, installed by .ci/run): started once
per session with initdb/pg_ctl in a temporary folder, on 127.0.0.1 and a free port; each test
gets a fresh database. Without the server binaries the PostgreSQL cases are skipped locally
and fail in CI (CI=true), so a missing install step cannot hide.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BACKENDS = ["sqlite", "postgresql"]


def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throw-away PostgreSQL cluster; run as the 'postgres' user when the tests run as root."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="kam-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self.as_user = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("PostgreSQL tests run as root need the 'postgres' user (Debian's package creates it)")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self.as_user = "postgres"
        self.user = self.as_user or pwd.getpwuid(os.geteuid()).pw_name
        self._counter = itertools.count()
        self._shared = False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.base)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "-U", self.user, "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "server.log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _create(self, name: str, template: str = "template0") -> None:
        import psycopg
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")   # names made here, never input

    def new_database(self) -> str:
        """A fresh, empty database."""
        name = f"kam_test_{next(self._counter)}"
        self._create(name)
        return self.url(name)

    def emptied_database(self) -> str:
        """The one shared database with the current schema, emptied (faster than a new one per test)."""
        import psycopg
        if not self._shared:
            self._create("kam_shared")
            from kam_advisor.store import open_store
            open_store(self.url("kam_shared")).close()
            self._shared = True
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=kam_shared",
                             autocommit=True) as conn:
            conn.execute("TRUNCATE answers, responses, audit_scores, targets, audits")
        return self.url("kam_shared")


@pytest.fixture(scope="session")
def pg_server():
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries not found: .ci/run installs Debian's postgresql package")
        pytest.skip("PostgreSQL server binaries (pg_ctl, initdb) not installed")
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture()
def db_url(backend, request, tmp_path) -> str:
    """A new, empty history database on each backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture()
def store(backend, request, tmp_path):
    """An open history store with the current schema, on each backend."""
    from kam_advisor.store import open_store
    url = (f"sqlite:///{tmp_path / 'history.db'}" if backend == "sqlite"
           else request.getfixturevalue("pg_server").emptied_database())
    with open_store(url) as opened:
        yield opened


@pytest.fixture(scope="session")
def northwind():
    """The Northwind example assessed, with its raw answers: (result, sources)."""
    from kam_advisor.results.assess import assess_files
    from kam_advisor.store import sources_from_files
    path = EXAMPLES / "northwind-early-b.yaml"
    return assess_files([path]), sources_from_files([path])


@pytest.fixture(scope="session")
def meridian():
    from kam_advisor.results.assess import assess_files
    from kam_advisor.store import sources_from_files
    path = EXAMPLES / "meridian-mature.yaml"
    return assess_files([path]), sources_from_files([path])
