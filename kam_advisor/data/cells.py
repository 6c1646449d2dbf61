"""Spreadsheet safety: text a person gave never becomes a formula in a CSV or xlsx we write.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheet programs skip before such a sign) is run as a formula when the file is opened
("CSV injection"). Such text is written with a leading apostrophe, which spreadsheet programs
show as plain text; numbers are left alone.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """`value` as it may go into a spreadsheet cell: text that could start a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
