"""Worksheets laid out as a person would: columns as wide as their content, the header row
frozen and bold, a filter on it. Works with openpyxl's streaming (write-only) workbooks: the
first rows are held back until the columns can be sized, then everything streams. Every text
cell goes through :func:`kam_advisor.data.cells.spreadsheet_cell`: never a formula, no control
character (which openpyxl refuses).
"""

from __future__ import annotations

from typing import Any, Sequence

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kam_advisor.data.cells import spreadsheet_cell

SAMPLE_ROWS = 200   # rows that size the columns; later rows stream past
WIDTH_MIN, WIDTH_MAX = 6, 60  # characters; longer text wraps in its cell


def width_of(value: Any) -> int:
    """The characters a cell's value takes, by its longest line."""
    if value is None:
        return 0
    if isinstance(value, float):
        text = f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"
    else:
        text = str(value)
    return max((len(line) for line in text.split("\n")), default=0)


def widths(rows: Sequence[Sequence[Any]], n: int) -> list[float]:
    """One width per column: the widest value of ``rows`` plus a margin, within the bounds."""
    out = [0] * n
    for row in rows:
        for i, v in enumerate(row[:n]):
            out[i] = max(out[i], width_of(v))
    return [min(WIDTH_MAX, max(WIDTH_MIN, w + 2)) for w in out]


class TableSheet:
    """A sheet of one table: a header row, then data rows (``append``), then ``close()``."""

    def __init__(self, book, title: str, header: Sequence[str], number_formats: dict[int, str] | None = None):
        self.sheet = book.create_sheet(title)
        self.header = list(header)
        self.formats = number_formats or {}
        self.held: list[list] | None = []
        self.rows = 0

    def append(self, row: Sequence[Any]) -> None:
        self.rows += 1
        if self.held is None:
            self._write(row)
            return
        self.held.append(list(row))
        if len(self.held) >= SAMPLE_ROWS:
            self._flush()

    def _flush(self) -> None:
        held, self.held = self.held or [], None
        n = len(self.header)
        sheet = self.sheet
        for i, w in enumerate(widths([self.header] + held, n), 1):
            sheet.column_dimensions[get_column_letter(i)].width = w
        sheet.freeze_panes = "A2"
        self._head()
        for row in held:
            self._write(row)

    def _head(self) -> None:
        from openpyxl.cell import WriteOnlyCell
        cells = []
        for v in self.header:
            cell = WriteOnlyCell(self.sheet, value=v)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(vertical="top")
            cells.append(cell)
        self.sheet.append(cells)

    def _write(self, row: Sequence[Any]) -> None:
        row = [spreadsheet_cell(v) if isinstance(v, str) else v for v in row]
        if not self.formats:
            self.sheet.append(row)
            return
        from openpyxl.cell import WriteOnlyCell
        cells = []
        for i, v in enumerate(row):
            fmt = self.formats.get(i)
            if fmt and isinstance(v, (int, float)) and not isinstance(v, bool):
                cell = WriteOnlyCell(self.sheet, value=v)
                cell.number_format = fmt
                cells.append(cell)
            else:
                cells.append(v)
        self.sheet.append(cells)

    def close(self) -> None:
        if self.held is not None:
            self._flush()
        last = get_column_letter(max(1, len(self.header)))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"
