"""Opening the history database: the URL, the engine, and the schema brought up to date.

A store is a SQLAlchemy URL: ``sqlite:///path/to/file.db`` (the default lives in the user's
data directory) or ``postgresql://user@host/db`` for a team's shared server (driven by
psycopg 3). SQLite runs in WAL mode (readers never wait for a writer) with a busy timeout, and
every writing transaction starts with ``BEGIN IMMEDIATE`` so two processes saving at once queue
instead of failing. The schema is migrated by Alembic on open, under a lock (SQLite's write
lock, PostgreSQL's advisory lock), so two processes opening a new database at once do not
race. A database whose schema is newer than this version of the tool knows is refused with one
line and left untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from kam_advisor.data import extras
from kam_advisor.data.errors import DataError

# The migrations this version ships, oldest first; the last is the schema the queries expect.
# tests/test_store_migrations.py checks this against Alembic's own view of the scripts.
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = REVISIONS[-1]
ENV_VAR = "KAM_ADVISOR_DB"
_BUSY_SECONDS = 60         # how long a SQLite connection waits for another process's lock
_MIGRATION_LOCK = 7245_1401  # PostgreSQL advisory lock key: one migrating process at a time


class StoreError(DataError):
    """A store that cannot be opened or used: one line, exit code 2."""


def default_url(create: bool = True) -> str:
    """``KAM_ADVISOR_DB`` when set, else a SQLite file in the user's data directory (its folder
    made only when ``create``: a command that only reads makes nothing)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return env
    import platformdirs
    folder = Path(platformdirs.user_data_dir("kam-advisor"))
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'history.db'}"


SUPPORTED = "sqlite:///FILE or postgresql://USER@HOST/DB (psycopg 3; postgresql+psycopg:// too)"
_DRIVERS = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql+psycopg",
            "postgres": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg"}


class NoHistory(StoreError):
    """A command that only reads was pointed at a place that holds no kam-advisor history (no
    file yet, or a database without our schema): it is never created or migrated from there."""


def normalise_url(url: str) -> sa.engine.URL:
    """A SQLAlchemy URL of a supported driver; ``postgresql://`` means psycopg 3 (not SQLAlchemy's
    default psycopg2). An in-memory SQLite database is refused: a history kept in memory is gone
    when the command ends (and SQLite cannot put it in WAL mode)."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise StoreError(f"not a database URL: {_quoted(url)} (expected {SUPPORTED})") from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise StoreError(f"unsupported database '{_quoted(parsed.drivername, 40)[1:-1]}' in "
                         f"{_quoted(_shown(parsed))}: expected {SUPPORTED}")
    parsed = parsed.set(drivername=driver)
    if driver == "sqlite" and (not parsed.database or parsed.database == ":memory:" or
                               parsed.database.startswith("file:") or
                               "memory" in str(parsed.query.get("mode", ""))):
        raise StoreError(f"{_quoted(url)}: an in-memory database keeps nothing once the command ends; "
                         "give a file: sqlite:///FILE")
    return parsed


def _quoted(text, limit: int = 80) -> str:
    from kam_advisor.data.neutral import quoted
    return quoted(text, limit)


def _shown(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_engine(url: sa.engine.URL, write: bool = True) -> sa.Engine:
    """A SQLite engine on a regular file. ``write=False`` (a command that only reads): the file
    must exist, its journal mode is left as it is and the connection is query-only."""
    import stat
    database = Path(url.database).expanduser()
    folder = database.parent
    if not folder.is_dir():
        raise StoreError(f"folder does not exist: {folder} (for the database {_shown(url)})")
    try:
        info = os.stat(database)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise StoreError(f"cannot open {_shown(url)}: {err.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        # SQLite would write its journal beside it (/dev/null-journal) or block on a FIFO
        raise StoreError(f"{_shown(url)}: not a regular file (a folder, device, pipe or socket); "
                         "the history needs a database file")
    if info is None and not write:
        raise NoHistory(f"{_shown(url)}: no history database there yet; save an assessment "
                        "(assess --save) or run kam-advisor db upgrade to create it")
    engine = sa.create_engine(url, connect_args={"timeout": _BUSY_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None          # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {_BUSY_SECONDS * 1000}")
        if write:
            _wal_mode(cur)
        else:
            cur.execute("PRAGMA query_only = ON")  # a reading command changes nothing, not even the journal mode
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")  # durable in WAL mode up to the last checkpoint
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writing") else "BEGIN")

    return engine


def _wal_mode(cur, wait: float = _BUSY_SECONDS) -> None:
    """Switch the database to WAL. SQLite answers "database is locked" at once, without its busy
    handler, when another connection holds a lock during the switch (two processes creating one
    new database), so this retries with a growing pause until ``wait`` seconds have passed."""
    import sqlite3
    import time

    deadline, pause = time.monotonic() + wait, 0.005
    mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
    while mode.lower() != "wal":
        try:
            mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
            continue
        if mode.lower() != "wal":  # SQLite answered, and not "wal" (e.g. "memory"): asking again never helps
            raise StoreError(f"the database cannot run in WAL mode (its journal mode stays '{mode}')")


def create_engine(url: str, write: bool = True) -> sa.Engine:
    """The engine for a store URL. ``write=False``: for a command that only reads (see
    :func:`_sqlite_engine`)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, write)
    try:
        import psycopg  # noqa: F401 - say clearly when the driver (the postgres extra) is missing
    except ImportError:
        raise StoreError(extras.missing("a postgresql:// history database", extras.POSTGRES)) from None
    # no hstore lookup on connect: the store never uses hstore (one round trip less per command)
    try:
        return sa.create_engine(parsed, use_native_hstore=False)
    except (ImportError, sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
        raise StoreError(f"cannot use {_quoted(_shown(parsed))}: {_first_line(err)} (expected {SUPPORTED})") from None


def writing(engine: sa.Engine):
    """A transaction that will write: on SQLite it takes the write lock at once (BEGIN IMMEDIATE)."""
    return engine.execution_options(writing=True).begin()


def current_revision(conn) -> str | None:
    """The schema revision Alembic recorded; None for a database without our schema."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                     "AND name = 'alembic_version'").first()
    else:   # one round trip, cheaper than the inspector; the search path as our queries see it
        found = conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar()
    if not found:
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    return rows[0][0] if rows else None


def _refuse_newer(revision: str, url: sa.engine.URL) -> None:
    raise StoreError(f"{_shown(url)}: the database has schema {revision}, newer than this version of "
                     f"kam-advisor knows (up to {HEAD}); upgrade kam-advisor to use it (left untouched)")


def check_revision(engine: sa.Engine) -> str | None:
    """The schema revision of the database; refuses one that is newer than this tool."""
    try:
        with engine.connect() as conn:
            revision = current_revision(conn)
    except sa.exc.DBAPIError as err:       # no server, no such file, not a database, no permission
        raise StoreError(f"cannot open {_shown(engine.url)}: {_first_line(err)}") from None
    if revision is not None and revision not in REVISIONS:
        _refuse_newer(revision, engine.url)
    return revision


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the schema to HEAD under a lock; returns (revision before, revision after)."""
    from alembic.config import Config
    from alembic import command

    with writing(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        before = current_revision(conn)          # again, under the lock: another process may have done it
        if before is not None and before not in REVISIONS:
            _refuse_newer(before, engine.url)
        if before != HEAD:
            config = Config()
            config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
            config.attributes["connection"] = conn
            command.upgrade(config, HEAD)
    return before, HEAD


def info(url: str) -> dict:
    """URL, backend, schema revision and counts; reads only, creates nothing (a newer schema is
    refused; a SQLite file not there yet is reported as having no schema)."""
    try:
        engine = create_engine(url, write=False)
    except NoHistory:
        parsed = normalise_url(url)
        return {"url": _shown(parsed), "backend": parsed.get_backend_name(), "schema": None, "tool_schema": HEAD,
                "audits": 0, "organisations": 0}
    try:
        return _info(engine)
    finally:
        engine.dispose()


def _info(engine: sa.Engine) -> dict:
    revision = check_revision(engine)
    audits = organisations = 0
    if revision is not None:
        with engine.connect() as conn:
            audits, organisations = conn.exec_driver_sql(
                "SELECT COUNT(*), COUNT(DISTINCT organisation) FROM audits").one()
    return {"url": _shown(engine.url), "backend": engine.dialect.name, "schema": revision, "tool_schema": HEAD,
            "audits": audits, "organisations": organisations}
