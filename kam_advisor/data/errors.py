"""The one error type users see: a problem in a file they gave us, reported on one line."""

from __future__ import annotations

import os

from kam_advisor.data.neutral import shorten_values, terminal_text


def display_path(path: str | os.PathLike | None) -> str:
    """A path as the user should read it: relative to the working directory when inside it."""
    if path is None:
        return "<input>"
    text = os.fspath(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text in ("-", "<stdin>"):
        return "<stdin>"
    try:
        rel = os.path.relpath(text)
    except ValueError:
        rel = ".."
    return terminal_text(text if rel.startswith("..") else rel)


class DataError(Exception):
    """Bad input: a knowledge-base, rules, questionnaire or answers file that does not hold.

    ``str(error)`` is the one line the CLI prints: ``file:line: what was expected``.
    """

    exit_code = 2

    def __init__(self, message: str, path=None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(message)  # the line is formatted when shown: a file may hold thousands of errors

    def __str__(self) -> str:
        return self.format()

    def format(self) -> str:
        message = shorten_values(self.message)  # a hostile value is quoted in part, never whole
        if self.path is None:
            return message
        where = display_path(self.path)
        if self.line:
            place = str(self.line)          # a line number, or a workbook's Sheet!Cell
            where += f":{place}" if place.isdigit() else f": {place}"
        return f"{where}: {message}"


class DataErrors(DataError):
    """Several problems found in one pass (e.g. ``kb validate`` lists all of them)."""

    def __init__(self, errors: list[DataError]):
        self.errors = errors
        super().__init__("\n".join(e.format() for e in errors))

    def format(self) -> str:
        return "\n".join(e.format() for e in self.errors)


class RuleFailure(RuntimeError):
    """A rule action raised inside the inference engine: a bug in rules or engine, never ignored."""
