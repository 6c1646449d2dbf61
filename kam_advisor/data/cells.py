"""Spreadsheet safety: text a person gave is shown in a CSV or xlsx cell we write, never run.

The one rule for every CSV and xlsx writer (OWASP "CSV injection"): text that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return, or whose first character that is not white space
is one of those four signs, gets a leading apostrophe (spreadsheets hide it and show the rest as
text). White space before a sign counts because some spreadsheet programs and importers trim it
before deciding that a cell is a formula. Control characters (line breaks included) then become
spaces, and text is cut at MAX_CELL characters. Numbers, booleans and None pass
unchanged: a negative number is a number, not a formula.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what no written cell starts with
_SIGNS = ("=", "+", "-", "@")
_CELL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_CELL = 1_000  # characters; Python's csv reader refuses fields over 131,072


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV or xlsx cell (see the module's rule)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) or text.lstrip().startswith(_SIGNS):
        text = "'" + text
    text = _CELL_CONTROL.sub(" ", text)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "\u2026"
    return text
