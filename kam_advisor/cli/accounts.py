"""The ``accounts`` commands (key-account selection over a portfolio) and ``plan check``.

Thin click wrappers: parse options, call one library function, render. Bad rows of a
portfolio are reported (one line each) and skipped, never fatal; the exit code is 2 at the end
when any row or plan file was skipped.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from kam_advisor.cli.shared import GuardedCommand, GuardedGroup, guard, root_options
from kam_advisor.data.errors import DataError, display_path

TEMPLATE_ROWS = [
    ["C-1001", "Northwind Components", "yes", "Ann Keller", "1200000", "2500000", "4", "5", "4", "4", "4", "5",
     "3", "4", "collaborative", "yes", "no"],
    ["C-1002", "Harbour Retail", "yes", "Ann Keller", "450000", "", "3", "2", "2", "3", "2", "3", "2", "2",
     "commodity", "no", "yes"],
]
ERRORS_SHOWN = 20


def _bases(ctx):
    from kam_advisor.results.bases import load_bases
    obj = root_options(ctx)
    return load_bases(obj.get("kb_dir"), obj.get("rules_dir"))


def _check_output(output: str | None, fmt: str) -> bool:
    """True when writing to stdout; html and xlsx need a file."""
    to_stdout = not output or output == "-"
    if to_stdout and fmt in ("html", "xlsx"):
        raise DataError(f"--format {fmt} writes a file: give --output PATH")
    if not to_stdout and str(Path(output).parent) and not Path(output).parent.is_dir():
        raise DataError("folder does not exist", Path(output).parent)
    return to_stdout


@click.group("accounts", cls=GuardedGroup)
def accounts():
    """Key-account selection over a portfolio of accounts (CSV or xlsx)."""


@accounts.command("template")
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the template here (.csv, or .xlsx); default stdout (CSV).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.pass_context
@guard
def accounts_template(ctx, output, force):
    """A portfolio file with the documented columns and two example rows; as .xlsx with
    drop-downs, 1-5 ranges, and a Columns sheet saying what each column holds."""
    if output and output != "-" and Path(output).is_file() and not force:
        raise DataError("exists; not overwriting it (it may hold your accounts); use --force to replace it", output)
    from kam_advisor.answers.portfolio import ACCOUNT_COLUMNS
    from kam_advisor.results.account import criteria
    kb, _ = _bases(ctx)
    crit = [k for k, _ in criteria(kb)]
    header = [*ACCOUNT_COLUMNS[:6], *crit, *ACCOUNT_COLUMNS[6:]]  # who and what it is worth, ratings, their view
    if output and output != "-" and output.lower().endswith(".xlsx"):
        from kam_advisor.answers.portfolio_template import workbook
        from kam_advisor.data.files import atomic_write
        atomic_write(Path(output), workbook(kb, criteria(kb), header, TEMPLATE_ROWS))
    else:
        import csv
        import io
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header] + TEMPLATE_ROWS)
        _write(buf.getvalue(), output)
    if output and output != "-":
        click.echo(f"template written to {display_path(output)}", err=True)


def _write(text: str, output: str | None) -> None:
    if not output or output == "-":
        click.echo(text, nl=False)
        return
    from kam_advisor.data.files import atomic_write
    atomic_write(Path(output), text)


def _count_rows(path: Path) -> int | None:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return None
    with open(path, "rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)


@accounts.command("score")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--weights", type=click.Path(dir_okay=False), metavar="FILE",
              help="YAML file 'weights: {criterion: weight}' replacing the default weights.")
@click.option("--previous", type=click.Path(dir_okay=False), metavar="FILE",
              help="An earlier `accounts score --format json` result: say which accounts moved.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "html", "xlsx"]), default=None,
              help="Output format (default: from --output's suffix, else csv).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write here ('-' = stdout; html and xlsx need a file).")
@click.pass_context
@guard
def accounts_score(ctx, file, weights, previous, fmt, output):
    """Score every account of FILE (CSV or xlsx), place it on the mutual-attractiveness matrix
    and say what to do; bad rows are reported and skipped (exit code 2 at the end)."""
    from kam_advisor.data.files import atomic_stream
    from kam_advisor.render import accounts as render
    from kam_advisor.results.account import open_portfolio
    if fmt is None:
        suffix = Path(output).suffix.lower().lstrip(".") if output and output != "-" else ""
        fmt = suffix if suffix in ("csv", "json", "html", "xlsx") else "csv"
    to_stdout = _check_output(output, fmt)
    kb, base = _bases(ctx)
    run = open_portfolio(file, kb, base, weights, previous)
    if run.reader.unknown:
        click.echo(f"kam-advisor: warning: {display_path(file)}: columns ignored: {', '.join(run.reader.unknown)}",
                   err=True)
    total = _count_rows(Path(file)) if sys.stderr.isatty() else None
    if total:
        bar = click.progressbar(length=total, label="scoring", file=sys.stderr)
        inner = run.accounts

        def accounts_with_progress():
            for n, a in enumerate(inner(), 1):
                if n % 500 == 0:
                    bar.update(500)
                yield a
            bar.finish()
            bar.render_finish()
        run.accounts = accounts_with_progress
    if fmt == "xlsx":
        tail = render.write_xlsx(Path(output), run)
    elif fmt == "html":
        text, tail = render.render_portfolio_html(run)
        _write(text, output)
    elif to_stdout:
        tail = (render.write_csv if fmt == "csv" else render.write_json)(sys.stdout, run)
    else:
        with atomic_stream(Path(output)) as handle:
            tail = (render.write_csv if fmt == "csv" else render.write_json)(handle, run)
    warned = tail.get("warnings") or []
    for w in warned[:ERRORS_SHOWN]:
        click.echo(f"kam-advisor: warning: {w['message']}", err=True)
    if len(warned) > ERRORS_SHOWN:
        click.echo(f"kam-advisor: warning: ... and {len(warned) - ERRORS_SHOWN} more ratings left out", err=True)
    skipped = tail["skipped"]
    for s in skipped[:ERRORS_SHOWN]:
        click.echo(f"kam-advisor: skipped {s['error']}", err=True)
    if len(skipped) > ERRORS_SHOWN:
        click.echo(f"kam-advisor: ... and {len(skipped) - ERRORS_SHOWN} more rows skipped", err=True)
    click.echo(render.summary_text(tail["summary"], len(skipped), len(tail["findings"]), len(warned))
               + (f"; written to {display_path(output)}" if not to_stdout else ""), err=True)
    if skipped:
        ctx.exit(2)


@click.group("plan", cls=GuardedGroup)
def plan():
    """Key-account plans: the health check."""


@plan.command("template")
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write the plan here: .yaml (default stdout) or .xlsx.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.pass_context
@guard
def plan_template(ctx, output, force):
    """A fillable key-account plan (YAML, or xlsx by --output's suffix) with the fields `plan
    check` reads: header, goal, critical success factors, necessary conditions, actions,
    reviews, each explained."""
    from kam_advisor.answers import plan_template as tpl
    kb, base = _bases(ctx)
    params = {k: base.param(k) for k in ("plan_pages_max", "plan_actions_max")}
    to_stdout = not output or output == "-"
    if not to_stdout:
        path = Path(output)
        if path.suffix.lower() not in (".yaml", ".yml", ".xlsx"):
            raise DataError("a plan template is .yaml, .yml or .xlsx", path)
        if path.exists() and not force:
            raise DataError("exists; not overwriting it (it may hold a plan); use --force to replace it", path)
        if str(path.parent) and not path.parent.is_dir():
            raise DataError("folder does not exist", path.parent)
    if not to_stdout and output.lower().endswith(".xlsx"):
        from kam_advisor.data.files import atomic_write
        atomic_write(Path(output), tpl.xlsx_template(kb, params))
    else:
        _write(tpl.yaml_template(kb, params), output)
    if not to_stdout:
        click.echo(f"plan template written to {display_path(output)}", err=True)


@plan.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", metavar="YYYY-MM-DD", help="Judge overdue reviews against this date (default today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "md", "html"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), metavar="PATH", help="Write here instead of stdout.")
@click.pass_context
@guard
def plan_check(ctx, files, as_of, fmt, output):
    """Check key-account plans (plan files, `kind: plan`, or `ka-plan` answers files): findings
    with severity and advice, and a plan score; several plans give a table."""
    from kam_advisor.render.plan import plans_table, render_plan
    from kam_advisor.results import plan as plan_mod
    from kam_advisor.results.assessment import evidence_from_files
    from kam_advisor.data.yamlio import load_file
    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        raise DataError(f"--as-of must be a date written YYYY-MM-DD (got '{as_of}')") from None
    if fmt == "html":
        _check_output(output, fmt)
    kb, base = _bases(ctx)
    results, failures = [], []
    for path in files:
        try:
            if not Path(path).is_file():
                raise DataError("plan file not found", path)
            data = None if Path(path).suffix.lower() in (".xlsx", ".xlsm") else load_file(path)
            if isinstance(data, dict) and "questionnaire" in data:
                evidence, gaps = evidence_from_files([path], kb, base.facts)
                if evidence.produces != "plan":
                    raise DataError(f"answers of questionnaire '{evidence.questionnaire}', which produces "
                                    f"'{evidence.produces}', not 'plan' (e.g. 'ka-plan')", path)
                result = plan_mod.plan_result(evidence, kb, base, day, gaps)
                result["file"] = Path(path).name
            else:
                result = plan_mod.check_plan_file(path, kb, base, day)
            results.append(result)
        except DataError as err:
            if len(files) == 1:
                raise
            failures.append(err.format().splitlines()[0])
    text = render_plan(results[0], fmt) if len(files) == 1 else plans_table(results, fmt)
    _write(text, output)
    for line in failures:
        click.echo(f"kam-advisor: skipped {line}", err=True)
    if failures:
        ctx.exit(2)
