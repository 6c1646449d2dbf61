"""Text from users made harmless in a terminal and in error lines.

User text (names, notes, ids, file names) is data. Printed to a terminal, an escape sequence in
it could retitle the window or clear the screen. (Spreadsheet cells: :mod:`kam_advisor.data.cells`.)
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but tab and newline, DEL and the C1 controls (ESC, CSI 0x9b, OSC 0x9d, ...)
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Whole control sequences, 7-bit and 8-bit (ECMA-48): OSC (title, clipboard: ESC ] 52;...) to BEL
# or ST; DCS, SOS, PM and APC to ST; CSI with its parameters; any other escape; then every lone
# control character but tab and newline. An unterminated string sequence runs to the end.
_SEQUENCE = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"      # OSC ... BEL | ST
    r"|(?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC ... ST
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"                        # CSI
    r"|\x1b[ -/]*[0-~]?"                                         # other escapes, lone ESC
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")                   # other controls (tab, newline, CR stay)


def strip_control_sequences(text: str) -> str:
    """``text`` without any terminal control sequence or control character (tab, newline and
    carriage return, which progress bars redraw with, stay): what every kam-advisor process prints goes through this (see :class:`TerminalGuard`)."""
    return _SEQUENCE.sub("", text) if _MAYBE_CONTROL.search(text) else text


_MAYBE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class TerminalGuard:
    """A text stream (stdout, stderr) that strips control sequences from everything written to
    it: the one place every printing path (click.echo, print, the interview) goes through.
    ``always=False``: only while the stream is a terminal (data written to a file or a pipe,
    such as an export, stays byte for byte what it is)."""

    def __init__(self, stream, always: bool = True):
        self._stream = stream
        try:
            self._active = always or bool(stream.isatty())
        except (AttributeError, ValueError):
            self._active = always

    @property
    def unguarded(self):
        """The stream itself: only for text already neutralised and styled by kam-advisor (the
        coloured text report, whose user text :func:`terminal_text` has made visible)."""
        return self._stream

    def write(self, text):
        if self._active and isinstance(text, str):
            text = strip_control_sequences(text)
        return self._stream.write(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._stream, name)


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


# a quoted value opens after a space, '(', '=' or ':' and closes before a space or punctuation
_LONG_VALUE = re.compile(r"""(?<![^\s(=:])(?:'[^'\n]{%d,}'|"[^"\n]{%d,}")(?![^\s,.;:)?!])|[^\s'"]{%d,}"""
                         % (QUOTE_MAX + 1, QUOTE_MAX + 1, 2 * QUOTE_MAX + 1))


def _shorten(match: re.Match) -> str:
    text = match.group()
    if text[0] in "'\"" and text[-1] == text[0]:
        inner = text[1:-1]
        return f"{text[0]}{inner[:QUOTE_MAX]}\u2026{text[0]} (and {len(inner) - QUOTE_MAX:,} more characters)"
    return f"{text[:QUOTE_MAX]}\u2026 (and {len(text) - QUOTE_MAX:,} more characters)"


def shorten_values(message: str) -> str:
    """An error message with every quoted value over QUOTE_MAX characters (and any unbroken run
    over twice that, e.g. a 5,000-digit number) cut there, saying how much was left out."""
    return _LONG_VALUE.sub(_shorten, message) if len(message) > QUOTE_MAX else message

