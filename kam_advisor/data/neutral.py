"""Text from users made harmless where it lands: a terminal, a spreadsheet cell.

User text (names, notes, ids, file names) is data. Printed to a terminal, an escape sequence in
it could retitle the window or clear the screen; opened in a spreadsheet, a cell starting with
``=`` could run a formula (CSV injection). Every writer of such text calls one of these.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL and the C1 controls (ESC, CSI 0x9b, OSC 0x9d, ...)
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CELL_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL = 1_000  # characters; Python's csv reader refuses fields over 131,072


def _visible(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def terminal_text(text: Any) -> str:
    """``text`` with every control character but newline and tab shown as ``\\xNN``: nothing in it
    can move the cursor, change the title or clear the screen."""
    return _TERMINAL_CONTROL.sub(_visible, str(text))


QUOTE_MAX = 80  # characters of a value an error line quotes


def quoted(value: Any, limit: int = QUOTE_MAX) -> str:
    """A value as an error line quotes it: in quotes, at most ``limit`` characters, control
    characters shown as ``\\xNN``, and how much was left out (a 5,000-digit number must not
    make a 5,000-character line): ``'7777…' (and 4,920 more characters)``."""
    text = str(value)
    if len(text) <= limit:
        return repr(text) if _TERMINAL_CONTROL.search(text) is None else "'" + terminal_text(text) + "'"
    head = terminal_text(text[:limit])
    return f"'{head}\u2026' (and {len(text) - limit:,} more characters)"


def spreadsheet_cell(value: Any) -> Any:
    """A CSV/spreadsheet cell that is shown, never run: text starting with ``= + - @``, tab or CR
    gets a leading apostrophe (the OWASP rule; spreadsheets hide it), control characters
    (line breaks included) become spaces, and text is cut at MAX_CELL characters. Numbers,
    booleans and None pass unchanged."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    text = _CELL_CONTROL.sub(" ", text)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "\u2026"
    return text
