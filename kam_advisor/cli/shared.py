"""Helpers shared by the command modules: the error guard, root options, the answers/example options."""

from __future__ import annotations

import contextlib
import functools
import os
import sys

import click

from kam_advisor.data.errors import DataError, RuleFailure, display_path
from kam_advisor.data.neutral import TerminalGuard, terminal_text

EXIT_BAD_INPUT = 2
EXIT_RULE_FAILURE = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader went away (`kam-advisor ... | head`)


def say_error(text: str) -> None:
    """An error on stderr, ``kam-advisor:``-prefixed when it is one line, never a control sequence."""
    text = terminal_text(text)
    click.echo(text if "\n" in text else f"kam-advisor: {text}", err=True)


@contextlib.contextmanager
def error_guard():
    """The one error guard of every command: what went wrong in one line, and the exit code.

    DataError (bad input) -> 2; RuleFailure (a bug in rules or engine) -> 3; a file-system error
    (folder not writable, disk full) -> 2; input too deep or large for Python -> 2; Ctrl-C -> 130,
    without click's "Aborted!"; a closed output pipe -> 141, without a traceback."""
    try:
        yield
    except DataError as err:
        say_error(err.format())
        raise SystemExit(err.exit_code) from None
    except RuleFailure as err:
        say_error(f"inference failed: {err}")
        raise SystemExit(EXIT_RULE_FAILURE) from None
    except KeyboardInterrupt:
        click.echo("", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        _silence_stdout()
        raise SystemExit(EXIT_BROKEN_PIPE) from None
    except OSError as err:
        where = f"{display_path(err.filename)}: " if err.filename else ""
        say_error(f"{where}{err.strerror or err}")
        raise SystemExit(EXIT_BAD_INPUT) from None
    except (RecursionError, MemoryError):
        say_error("input too large or too deeply nested")
        raise SystemExit(EXIT_BAD_INPUT) from None


@contextlib.contextmanager
def terminal_guard():
    """Everything printed while a command runs goes through :class:`TerminalGuard`: no control
    sequence from user text (names from an import, a CSV, a notes field) reaches a terminal.
    stderr (messages for people) always; stdout while it is a terminal (a file or pipe gets
    the data as it is)."""
    if isinstance(sys.stdout, TerminalGuard) or isinstance(sys.stderr, TerminalGuard):
        yield  # a group's command inside the group: guarded already
        return
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalGuard(out, always=False), TerminalGuard(err, always=True)
    try:
        with _signals_end_cleanly():
            yield
    finally:
        sys.stdout, sys.stderr = out, err


def _stop_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals_end_cleanly():
    """SIGTERM and SIGHUP end a command as an exception would: ``finally`` blocks and context
    managers run, so a file being written (``atomic_stream``, ``atomic_write``) leaves no
    temporary file and a lock is released; the exit code is 128 + the signal's number.
    (``kill -9`` cannot be caught: the next write to the same path removes what it left.)"""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {}
    for signum in wanted:
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            previous[signum] = signal.signal(signum, _stop_on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _silence_stdout() -> None:
    """Python flushes stdout at exit; with the reader gone that would print a BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def guard(func):
    """``error_guard`` as a decorator (for a function outside a GuardedCommand)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with error_guard():
            return func(*args, **kwargs)

    return wrapper


class OneLineUsageError(click.UsageError):
    """A usage error (a bad option value, a missing argument) as one line on stderr, exit 2 —
    click's own is three (usage, hint, error)."""

    def __init__(self, err: click.UsageError):
        super().__init__(err.format_message(), err.ctx)
        self.exit_code = EXIT_BAD_INPUT

    def show(self, file=None) -> None:
        where = " ".join(self.ctx.command_path.split(" ")[1:]) if self.ctx is not None else ""  # without the program
        message = self.format_message().replace("File ", "").replace("is a directory", "is a folder")
        say_error(f"{where + ': ' if where else ''}{message} (see --help)")


def _one_line_usage(make_context):
    @functools.wraps(make_context)
    def wrapper(self, *args, **kwargs):
        try:
            return make_context(self, *args, **kwargs)
        except OneLineUsageError:
            raise
        except click.UsageError as err:
            raise OneLineUsageError(err) from None
    return wrapper


class GuardedCommand(click.Command):
    """A command whose every failure goes through :func:`error_guard` and whose output goes
    through :func:`terminal_guard`."""

    def invoke(self, ctx):
        with terminal_guard(), error_guard():
            return super().invoke(ctx)

    make_context = _one_line_usage(click.Command.make_context)


class GuardedGroup(click.Group):
    """A group whose own code and every command in it go through :func:`error_guard`."""

    command_class = GuardedCommand

    def invoke(self, ctx):
        with terminal_guard(), error_guard():
            return super().invoke(ctx)

    make_context = _one_line_usage(click.Group.make_context)

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except OneLineUsageError:
            raise
        except click.UsageError as err:  # no such command
            raise OneLineUsageError(err) from None


GuardedGroup.group_class = GuardedGroup


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
        return click.option("--answers", "answers", multiple=True, type=click.Path(), metavar="FILE",
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
        raise DataError(f"--date: expected a date YYYY-MM-DD (got {text!r})") from None


def brand_option(func):
    """``--brand FILE`` (default ``$KAM_ADVISOR_BRAND``): the firm's name, colour, logo and footer."""
    return click.option("--brand", "brand_file", metavar="FILE", envvar="KAM_ADVISOR_BRAND", show_envvar=True,
                        help="A brand file (YAML: firm, colour, logo, footer) for the firm's name, colour and "
                             "logo on what it writes.")(func)


def load_brand_option(path: str | None):
    """The checked brand of ``--brand`` (None without one); a bad file is one line, exit 2."""
    if not path:
        return None
    from kam_advisor.data.brand import load_brand
    return load_brand(path)
