"""The ``report`` command: assess one or more answers files and write the diagnostic report.

A thin click wrapper over :func:`kam_advisor.results.assess.assess_files` and
:func:`kam_advisor.render.report.render`, for the main CLI to register (``main.add_command(report)``).
Every expected failure is a DataError: one line on stderr, exit code 2 (also when the command
is used on its own, outside the main group).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kam_advisor.cli.shared import (GuardedCommand, answers_options, answers_paths, brand_option, check_date,
                                    load_brand_option, root_options)
from kam_advisor.cli.store import db_option, store_errors
from kam_advisor.data.errors import DataError, display_path


_obj = root_options


def _assess(paths: list[str], kb_dir: str | None, rules_dir: str | None) -> dict:
    """The assessment result for the answers files (imported late: a heavy module)."""
    from kam_advisor.results.assess import assess_files
    if rules_dir:
        return assess_files(paths, kb_dir=kb_dir, rules_dir=rules_dir)
    return assess_files(paths, kb_dir=kb_dir)


def _progress(result: dict, org: str | None, date: str | None, unit: str | None, db_url: str | None) -> dict | None:
    """The earlier audits and target progress of the result's organisation, from the store; None
    (with a warning) when the store keeps neither."""
    from kam_advisor.store import open_store
    from kam_advisor.store.db import NoHistory
    from kam_advisor.store.progress import report_progress
    organisation = org or result.get("organisation")
    if not organisation:
        raise DataError("--progress: the answers name no organisation; give --org NAME")
    dated = {**result, "date": date or result.get("date")}
    scope = f"unit '{unit}' of '{organisation}'" if unit else f"'{organisation}'"
    try:
        store = open_store(db_url, write=False)  # a report only reads the history: never creates one
    except NoHistory as err:
        click.echo(f"kam-advisor: warning: no earlier audit and no target of {scope} ({err.message}): "
                   "the report has no progress page", err=True)
        return None
    with store:
        history = report_progress(store, organisation, dated, unit)
        if history is None:
            click.echo(f"kam-advisor: warning: no earlier audit and no target of {scope} in {store.url}: "
                       "the report has no progress page", err=True)
    return history


def _benchmark(result: dict, org: str | None, db_url: str | None) -> dict | None:
    """This assessment placed among the latest audits of the organisation's peers in the store
    (its peer group as last saved); None (with a warning) when there is no history."""
    from kam_advisor.store import open_store
    from kam_advisor.store.benchmark import benchmark
    from kam_advisor.store.db import NoHistory
    organisation = org or result.get("organisation")
    if not organisation:
        raise DataError("--benchmark: the answers name no organisation; give --org NAME")
    try:
        store = open_store(db_url, write=False)
    except NoHistory as err:
        click.echo(f"kam-advisor: warning: no peers to compare with ({err.message}): the report has no "
                   "benchmark page", err=True)
        return None
    with store:
        return benchmark(store, organisation, result=result)


def _use_colour(stream) -> bool:
    """ANSI colour only on an interactive terminal, and never when NO_COLOR is set."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@click.command("report", cls=GuardedCommand)
@answers_options("Report on")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md", "text", "json", "pptx"]), default="html",
              show_default=True, help="Report format (pptx: the board deck).")
@click.option("--output", "-o", type=click.Path(), metavar="PATH",
              help="Write the report here ('-' = stdout). Required for html, pdf and pptx; default stdout otherwise.")
@click.option("--org", help="Organisation name to show (default: the one in the answers).")
@click.option("--assessor", help="Assessor's name to show on the cover.")
@click.option("--date", "date", metavar="YYYY-MM-DD", help="Date of the assessment to show (default: the answers').")
@click.option("--title", help="Report title (default: 'Key Account Management programme diagnostic').")
@click.option("--appendix", is_flag=True,
              help="Add the technical appendix (rules and the answers behind each conclusion) and every answer "
                   "with its evidence note.")
@click.option("--brief", is_flag=True,
              help="The one-page brief for a board instead: the headline, the stage, what is in place, three "
                   "priorities, the top red flags and the date of the next review (json: the same content, "
                   "kind 'brief').")
@click.option("--progress", is_flag=True,
              help="Add the organisation's earlier audits and its progress towards its target stage, from the "
                   "history database (see 'assess --save', 'target').")
@click.option("--unit", help="With --progress: the unit's audits and target (default: the whole organisation's).")
@click.option("--benchmark", "with_benchmark", is_flag=True,
              help="Add the peer benchmark: this assessment among the latest audits of the organisation's peers "
                   "in the history database (no figure for fewer than 5 of them; none named).")
@brand_option
@db_option
@click.pass_context
@store_errors
def report(ctx, answers, example, fmt, output, org, assessor, date, title, appendix, brief, progress, unit,
           with_benchmark, brand_file, db_url):
    """Assess the answers and write the diagnostic report (html, pdf, md, text, json or pptx).

    pdf prints the HTML report to A4 with headless Chromium (Debian's 'chromium'); pptx is the
    board deck (python-pptx). --progress adds a page on the audits kept in the history database
    before this one and on the way to the organisation's target stage. --brand puts a firm's
    name, colour, logo and footer on the html, pdf and pptx."""
    from kam_advisor.render import report as report_mod
    from kam_advisor.data.files import atomic_write, check_output

    date = check_date(date)
    answers = answers_paths(answers, example)
    for path in answers:
        if path != "-" and not os.path.lexists(path):
            raise DataError("answers file not found", path)
    to_stdout = not output or output == "-"
    if fmt == "html" and not output:
        raise DataError("--format html writes a file: give --output PATH (or '-' for stdout)")
    if fmt in ("pdf", "pptx") and to_stdout:
        raise DataError(f"--format {fmt} writes a file: give --output PATH")
    if not to_stdout and not Path(output).parent.is_dir() and str(Path(output).parent):
        raise DataError("folder does not exist", Path(output).parent)
    if not to_stdout:
        check_output(Path(output), inputs=answers)
    if brief and (appendix or progress or with_benchmark or fmt == "pptx"):
        raise DataError("--brief: one page for a board (html, pdf, md, text or json); it takes none of "
                        "--appendix, --progress, --benchmark and --format pptx")
    if unit and not progress:
        raise DataError("--unit: only with --progress (the unit whose earlier audits and target to show)")
    brand = load_brand_option(brand_file)
    if fmt == "pptx":
        from kam_advisor.render.deck import check_available, render_deck
        check_available()  # before the assessment runs
    obj = _obj(ctx)
    result = _assess(list(answers), obj.get("kb_dir"), obj.get("rules_dir"))
    history = _progress(result, org, date, unit, db_url) if progress else None
    peers = _benchmark(result, org, db_url) if with_benchmark else None
    if fmt == "pptx":
        atomic_write(Path(output), render_deck(result, org=org, assessor=assessor, title=title, date=date,
                                               progress=history, brand=brand), inputs=answers)
        click.echo(f"deck written to {display_path(output)}", err=True)
        return
    if fmt == "pdf":
        from kam_advisor.render.pdf import render_pdf
        atomic_write(Path(output), render_pdf(result, org=org, assessor=assessor, title=title, date=date,
                                              appendix=appendix, progress=history, brand=brand, benchmark=peers,
                                              brief=brief),
                     inputs=answers)
        click.echo(f"report written to {display_path(output)}", err=True)
        return
    colour = fmt == "text" and to_stdout and _use_colour(sys.stdout)
    text = report_mod.render(result, fmt, org=org, assessor=assessor, date=date, title=title, color=colour,
                             appendix=appendix, progress=history, brand=brand, benchmark=peers, brief=brief)
    if to_stdout:
        # we decided; click must not strip or add. Coloured, the text goes past the terminal
        # guard: its user text is shown as \xNN by the renderer, the colours are ours
        click.echo(text, nl=False, color=colour, file=getattr(sys.stdout, "unguarded", sys.stdout) if colour else None)
        return
    atomic_write(Path(output), text, inputs=answers)
    click.echo(f"report written to {display_path(output)}", err=True)


if __name__ == "__main__":  # pragma: no cover
    report(sys.argv[1:])
