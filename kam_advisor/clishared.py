"""Helpers shared by the command modules: error guard and access to the root options."""

from __future__ import annotations

import functools

import click

from kam_advisor.errors import DataError


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
