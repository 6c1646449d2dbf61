"""The assessment-history commands: `assess --save`, history, show, export, import, delete, db.

Thin: each command opens the store (``--db URL``, else ``KAM_ADVISOR_DB``, else the default
SQLite file), calls one library function and renders. The store (kam_advisor.store) and the
renderers (kam_advisor.render) do not know each other; this module wires them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kam_advisor.cli.shared import GuardedCommand, GuardedGroup, guard
from kam_advisor.data.errors import DataError, display_path


def store_errors(func):
    """A database that fails under a command (locked too long, read-only, not a database, server
    gone) is one line and exit code 2, like any bad input; never a traceback."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as err:
            # SQLAlchemy is imported only by the store: a command that never opened it pays nothing
            exc = sys.modules.get("sqlalchemy.exc")
            if exc is None or not isinstance(err, exc.SQLAlchemyError):
                raise
            text = str(getattr(err, "orig", None) or err).strip().splitlines()
            raise DataError(f"database error: {text[0] if text else type(err).__name__}") from None
    return wrapper


def db_option(func):
    return click.option("--db", "db_url", envvar="KAM_ADVISOR_DB", metavar="URL",
                        help="History database: a SQLAlchemy URL, sqlite:///FILE or postgresql://USER@HOST/DB "
                             "(default: KAM_ADVISOR_DB, else a file in your user data folder).")(func)


def _open(db_url, write: bool = False):
    """The store; ``write=False`` (every command that only reads) never creates or migrates it."""
    from kam_advisor.store import open_store
    return open_store(db_url, write=write)


def _dump_json(data) -> str:
    """Indented JSON (orjson: the same text as json.dumps(indent=2, ensure_ascii=False), faster)."""
    import orjson
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"


def _echo_out(text: str, output: str | None) -> None:
    if not output or output == "-":
        click.echo(text, nl=False)
        return
    from kam_advisor.data.files import atomic_write
    atomic_write(Path(output), text)


# --- assess --save ---------------------------------------------------------------------------

def save_options(func):
    """`--save [--org] [--unit] [--date] [--assessor] [--db]` for a command that assesses answers."""
    for decorate in reversed([
        click.option("--save", is_flag=True, help="Save the assessment in the history database."),
        click.option("--org", help="Organisation to save it under (default: the one in the answers)."),
        click.option("--unit", help="Business unit or region this audit covers (default: the whole organisation)."),
        click.option("--date", "audit_date", metavar="YYYY-MM-DD",
                     help="Date of the audit (default: the answers' date, else today)."),
        click.option("--assessor", help="Who carried out the audit (default: the answers' assessor)."),
        click.option("--sector", help="The organisation's sector, saved for the peer benchmark (free text)."),
        click.option("--size", "size_band", metavar="BAND",
                     help="The organisation's size band, saved for the peer benchmark (see `benchmark --help`)."),
        db_option,
    ]):
        func = decorate(func)
    return func


def check_save_options(save, org, unit, audit_date, assessor, db_url=None, sector=None, size_band=None) -> None:
    """--unit, --sector and --size only make sense with --save: say so before any work (--org,
    --date and --assessor also name the assessment itself); a sector or size band that cannot be
    saved is refused before the assessment runs."""
    for name, value in (("--unit", unit), ("--sector", sector), ("--size", size_band)):
        if not save and value is not None:
            raise DataError(f"{name} says how to save: add --save")
    from kam_advisor.data.peers import check_size, normalise_sector
    normalise_sector(sector)
    check_size(size_band)


def apply_names(result: dict, org=None, audit_date=None, assessor=None, **_) -> None:
    """--org, --date and --assessor replace the answers' own in the result (and so in what is saved)."""
    from kam_advisor.cli.shared import check_date
    for key, value in (("organisation", org), ("date", check_date(audit_date)), ("assessor", assessor)):
        if value:
            result[key] = value


@store_errors
def save_if_asked(result: dict, paths, save, org, unit, audit_date, assessor, db_url, sector=None,
                  size_band=None) -> None:
    """Save an assessment when --save was given; say where on stderr."""
    check_save_options(save, org, unit, audit_date, assessor, sector=sector, size_band=size_band)
    if not save:
        return
    from kam_advisor.store import questionnaire_version, save_assessment, sources_from_files
    sources = sources_from_files([p for p in paths if p != "-"])
    with _open(db_url, write=True) as store:
        audit_id = save_assessment(store, result, sources, organisation=org, unit=unit, date=audit_date,
                                   assessor=assessor, questionnaire_version=questionnaire_version(
                                       result.get("questionnaire")), sector=sector, size_band=size_band)
        click.echo(f"saved audit {audit_id} in {store.url}", err=True)


# --- history, show, export, import, delete -----------------------------------------------------

@click.command("history", cls=GuardedCommand)
@click.argument("organisation")
@click.option("--unit", help="Only this unit's audits ('' for audits of the whole organisation).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@guard
@store_errors
def history(organisation, unit, fmt, db_url):
    """An organisation's audits, oldest first: date, unit, stage, how much of the checklist is done
    and the movement since the unit's audit before, coverage, confidence, red flags."""
    from kam_advisor.store.history import history_listing
    with _open(db_url) as store:
        doc = history_listing(store, organisation, unit)
    if fmt == "json":
        click.echo(_dump_json(doc), nl=False)
        return
    from kam_advisor.render.history import history_text
    click.echo(history_text(doc), nl=False)


@click.command("show", cls=GuardedCommand)
@click.argument("audit_id")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: the summary; json: the stored `assess` result.")
@db_option
@guard
@store_errors
def show(audit_id, fmt, db_url):
    """One saved audit: who, when, and its assessment (AUDIT_ID or a unique prefix of it)."""
    with _open(db_url) as store:
        found = store.load(audit_id)
    if fmt == "json":
        from kam_advisor.results.assessment import dumps
        click.echo(dumps(found.result), nl=False)
        return
    a = found.audit
    from kam_advisor.render.text import render_text
    click.echo(f"audit {a.id}: {a.organisation}{' / ' + a.unit if a.unit else ''}, {a.date}"
               f"{', by ' + a.assessor if a.assessor else ''} (saved {a.saved_at})")
    click.echo(f"respondents: {', '.join(a.respondents) or '-'}; {sum(len(s.answers) for s in found.sources)} "
               f"answers kept\n")
    click.echo(render_text(found.result), nl=False)


@click.command("export", cls=GuardedCommand)
@click.argument("organisation")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@db_option
@guard
@store_errors
def export(organisation, output, db_url):
    """Every audit of ORGANISATION as one JSON document (deterministic; `import` reads it back)."""
    with _open(db_url) as store:
        doc = store.export(organisation)
    _echo_out(_dump_json(doc), output)


@click.command("import", cls=GuardedCommand)
@click.argument("file", type=click.Path(dir_okay=False))
@db_option
@guard
@store_errors
def import_(file, db_url):
    """Add the audits of an export FILE ('-' = stdin); audits already present are left as they are."""
    from kam_advisor.data.neutral import quoted
    from kam_advisor.data.yamlio import open_regular
    from kam_advisor.store.audits import MAX_EXPORT_BYTES, parse_export
    if file == "-":
        data = sys.stdin.buffer.read(MAX_EXPORT_BYTES + 1)
    else:
        data = open_regular(file, MAX_EXPORT_BYTES)  # a regular file: never a FIFO or device
    doc = parse_export(data, "<stdin>" if file == "-" else file)  # checked whole before the store is opened
    with _open(db_url, write=True) as store:
        added, present = store.import_document(doc, file)
        click.echo(f"imported {added} audit{'s' if added != 1 else ''} of {quoted(doc['organisation'])} into {store.url}"
                   f" ({present} already present)", err=True)


@click.command("delete", cls=GuardedCommand)
@click.argument("audit_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@db_option
@guard
@store_errors
def delete(audit_id, yes, db_url):
    """Remove one saved audit and its answers (asks first unless --yes)."""
    with _open(db_url, write=True) as store:
        found = store.load(audit_id).audit
        what = f"audit {found.id} of {found.organisation}{' / ' + found.unit if found.unit else ''} ({found.date})"
        if not yes and not click.confirm(f"Delete {what}?", default=False, err=True):
            click.echo("nothing deleted", err=True)
            raise SystemExit(1)
        store.delete(found.id)
        click.echo(f"deleted {what}", err=True)


# --- db --------------------------------------------------------------------------------------

@click.group("db", cls=GuardedGroup, context_settings={"help_option_names": ["-h", "--help"]})
def db_group():
    """The history database: schema version, upgrade."""


@db_group.command("upgrade")
@db_option
@guard
@store_errors
def db_upgrade(db_url):
    """Bring the database's schema up to this version of kam-advisor (creates it when new)."""
    from kam_advisor.store import db as db_mod
    engine = db_mod.create_engine(db_url or db_mod.default_url())
    try:
        db_mod.check_revision(engine)
        before, after = db_mod.upgrade(engine)
    finally:
        engine.dispose()
    shown = engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{shown}: schema {after}, up to date")
    else:
        click.echo(f"{shown}: schema {before or 'none'} -> {after}")


@db_group.command("info")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@guard
@store_errors
def db_info(fmt, db_url):
    """Where the database is, its schema version and what it holds (changes nothing)."""
    from kam_advisor.store import db as db_mod
    info = db_mod.info(db_url or db_mod.default_url(create=False))
    if fmt == "json":
        click.echo(_dump_json(info), nl=False)
        return
    state = ("up to date" if info["schema"] == info["tool_schema"] else
             "new (created on first use)" if info["schema"] is None else "older: run kam-advisor db upgrade")
    click.echo(f"database:      {info['url']}\nbackend:       {info['backend']}\n"
               f"schema:        {info['schema'] or 'none'} ({state}; this tool: {info['tool_schema']})\n"
               f"organisations: {info['organisations']}\naudits:        {info['audits']}")


COMMANDS = [history, show, export, import_, delete, db_group]


# --- compare and target ------------------------------------------------------------------------

def _render_history(doc, fmt, output):
    from kam_advisor.render.history import render
    if fmt == "html" and not output:
        raise DataError("--format html writes a file: give --output PATH (or '-' for stdout)")
    _echo_out(render(doc, fmt), output)
    if output and output != "-":
        click.echo(f"written to {display_path(output)}", err=True)


def _root(ctx) -> dict:
    from kam_advisor.cli.shared import root_options
    return root_options(ctx)


def history_output(func):
    """--format text|md|html|json and --output, for the commands that render the history."""
    func = click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")(func)
    return click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "json"]), default="text",
                        show_default=True)(func)


@click.command("compare", cls=GuardedCommand)
@click.argument("organisation")
@click.option("--from", "from_id", metavar="AUDIT_ID", help="The earlier audit (default: the one before --to).")
@click.option("--to", "to_id", metavar="AUDIT_ID", help="The later audit (default: the latest).")
@click.option("--unit", help="Compare this unit's audits (default: audits of the whole organisation).")
@history_output
@db_option
@click.pass_context
@guard
@store_errors
def compare_cmd(ctx, organisation, from_id, to_id, unit, fmt, output, db_url):
    """What changed between two audits (default: the last two): regressions first, then stage
    changes, actions done, red flags raised and cleared, recommendations completed, facets; the
    trend over all audits, progress towards the target, and the units holding the organisation back."""
    from kam_advisor.store.history import history_document
    obj = _root(ctx)
    with _open(db_url) as store:
        doc = history_document(store, organisation, unit, from_id, to_id, obj.get("kb_dir"), obj.get("rules_dir"))
    _render_history(doc, fmt, output)


@click.command("target", cls=GuardedCommand)
@click.argument("organisation")
@click.option("--stage", required=True, metavar="STAGE", help="The stage to reach (A, B, C or D).")
@click.option("--by", "by_date", metavar="YYYY-MM-DD", help="When to reach it; phases the actions up to then.")
@click.option("--unit", help="A target for this unit (default: the whole organisation).")
@history_output
@db_option
@click.pass_context
@guard
@store_errors
def target_cmd(ctx, organisation, stage, by_date, unit, fmt, output, db_url):
    """Set the stage ORGANISATION aims at (kept in the history; compare shows it) and show the
    percent-to-target, progress since the first audit and the actions to get there, phased."""
    from kam_advisor.store.history import set_target
    with _open(db_url, write=True) as store:
        doc = set_target(store, organisation, stage, by_date, unit)
    _render_history(doc, fmt, output)


COMMANDS += [compare_cmd, target_cmd]


# --- knowledge-base upgrades ---------------------------------------------------------------------

@click.command("diff", cls=GuardedCommand)
@click.argument("old_dir", type=click.Path(file_okay=False))
@click.argument("new_dir", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guard
@store_errors
def kb_diff(old_dir, new_dir, fmt):
    """Actions added, removed, renamed, reworded and moved between two knowledge-base folders, and
    whether the version bump fits (exit 2 when it does not)."""
    from kam_advisor.data import knowledge
    from kam_advisor.data.kbdiff import diff
    for folder in (old_dir, new_dir):
        if not Path(folder).is_dir():
            raise DataError("knowledge-base folder not found", folder)
    d = diff(knowledge.load(old_dir), knowledge.load(new_dir))
    if fmt == "json":
        click.echo(_dump_json(d), nl=False)
    else:
        from kam_advisor.render.history import kb_diff_text
        click.echo(kb_diff_text(d), nl=False)
    if not d["bump"]["ok"]:
        raise SystemExit(2)


@click.command("reassess", cls=GuardedCommand)
@click.argument("audit_id")
@click.option("--save", is_flag=True, help="Save the new assessment as an audit of the same organisation, unit and date.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@click.pass_context
@guard
@store_errors
def reassess_cmd(ctx, audit_id, save, fmt, db_url):
    """Assess a stored audit again under the current knowledge base and rules: answers follow
    renamed actions; answers to removed actions are kept and reported."""
    from kam_advisor.results.reassess import reassess
    obj = _root(ctx)
    with _open(db_url, write=save) as store:
        found = store.load(audit_id)
        result = reassess(found.result, obj.get("kb_dir"), obj.get("rules_dir"))
        a = found.audit
        if save:
            new_id = store.save(result, found.sources, organisation=a.organisation, unit=a.unit, date=a.date,
                                assessor=a.assessor, questionnaire_version=a.questionnaire_version)
            click.echo(f"saved audit {new_id} in {store.url}", err=True)
    if fmt == "json":
        from kam_advisor.results.assessment import dumps
        click.echo(dumps(result), nl=False)
        return
    from kam_advisor.render.history import reassess_text
    click.echo(reassess_text(a.as_json(), found.result, result), nl=False)


COMMANDS += [reassess_cmd]


# --- the peer benchmark ---------------------------------------------------------------------------

def _size_help() -> str:
    from kam_advisor.data.peers import load
    rules = load()
    return (", ".join(f"{b['id']} ({b['name']})" for b in rules.size_bands)
            + f". Anonymity threshold: {rules.min_peers} other organisations (rules/benchmark/peers.yaml)")


class _BenchmarkCommand(GuardedCommand):
    def format_help_text(self, ctx, formatter):      # the size bands are data: listed from the file
        import inspect
        shown = self.help
        self.help = inspect.cleandoc(shown or "") + f"\n\nSize bands: {_size_help()}."
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = shown


@click.command("benchmark", cls=_BenchmarkCommand)
@click.argument("organisation")
@click.option("--sector", help="Peer group's sector (default: the organisation's own, as saved; 'any': every sector).")
@click.option("--size", "size_band", metavar="BAND",
              help="Peer group's size band (default: the organisation's own, as saved; 'any': every size).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout.")
@db_option
@guard
@store_errors
def benchmark_cmd(organisation, sector, size_band, fmt, output, db_url):
    """Where ORGANISATION's latest audit stands among the latest audits of the other organisations
    of its peer group: the percentile of the programme, each dimension and each topic, and the
    peers' median stage. Anonymous: no other organisation is named, and no figure is shown for
    a group smaller than the threshold below."""
    from kam_advisor.data.peers import check_size
    from kam_advisor.render.benchmark import render
    from kam_advisor.store.benchmark import benchmark
    check_size(size_band, allow_any=True)         # a bad band is refused before the store is opened
    with _open(db_url) as store:
        doc = benchmark(store, organisation, sector, size_band)
    _echo_out(render(doc, fmt), output)
    if output and output != "-":
        click.echo(f"written to {display_path(output)}", err=True)


COMMANDS += [benchmark_cmd]
