"""Helpers shared by the command modules: error guard, root options, the answers/example options."""

from __future__ import annotations

import functools

import click

from kam_advisor.data.errors import DataError


def guard(func):
    """DataError -> one line on stderr and exit code 2, wherever the command is mounted."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DataError as err:
            text = err.format()
            click.echo(text if "\n" in text else f"kam-advisor: {text}", err=True)
            raise SystemExit(err.exit_code) from None

    return wrapper


def root_options(ctx: click.Context) -> dict:
    """The main group's options (kb_dir, rules_dir); empty when a command runs on its own."""
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, dict) else {}


def example_names() -> list[str]:
    from kam_advisor.data.paths import data_dir
    return [p.stem for p in sorted(data_dir("examples").glob("*.yaml"))]


def example_path(name: str) -> str:
    """A built-in example organisation by name (only names listed in examples/, never a path)."""
    from kam_advisor.data.paths import data_dir
    known = {p.stem: p for p in sorted(data_dir("examples").glob("*.yaml"))}
    if name not in known:
        raise DataError(f"no built-in example '{name}' (examples: {', '.join(known)})")
    return str(known[name])


def answers_paths(answers, example) -> list[str]:
    """The answers files of --answers (repeatable) and --example NAME."""
    paths = list(answers)
    if example:
        paths.append(example_path(example))
    if not paths:
        raise DataError("give --answers FILE (or --example NAME for a built-in organisation)")
    return paths


def answers_options(verb: str):
    """The --answers FILE (repeatable) and --example NAME options; `verb` starts the example help."""
    def decorate(func):
        func = click.option("--example", metavar="NAME",
                            help=f"{verb} a built-in example organisation instead ({', '.join(example_names())}).")(func)
        return click.option("--answers", "answers", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
                            help="Answers file (YAML or JSON); repeat for several respondents to one "
                                 "questionnaire.")(func)
    return decorate


def check_date(text: str | None) -> str | None:
    """A --date option as an ISO date (YYYY-MM-DD), or one line naming what was expected."""
    if text is None:
        return None
    import datetime as dt
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise DataError(f"--date: expected a date as YYYY-MM-DD (got {text!r})") from None
