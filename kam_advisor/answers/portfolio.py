"""A portfolio of accounts in, one account at a time: a CRM export as CSV or ``.xlsx``.

The first row names the columns (``ACCOUNT_COLUMNS`` and one column per attractiveness
criterion, in any order; case, spaces and hyphens do not matter). Rows are read as a stream,
never all at once; a row that does not hold is yielded as a :class:`RowError` naming its row
(CSV) or cell (xlsx) and what was expected, so that the caller can report and skip it. A bad
rating alone does not cost the account: the cell is left out, named in the account's
``warnings``, and the account is scored on its other criteria.
Spreadsheets are opened read-only with the values their cells hold: formulas are never run.
"""

from __future__ import annotations

import csv
import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from kam_advisor.data import xlsx
from kam_advisor.data.errors import DataError, display_path

# columns besides the criteria; `name` is required
ACCOUNT_COLUMNS = ("id", "name", "key_account", "manager", "revenue", "potential", "buysell_level",
                   "treats_us_as_key", "price_only")
ALIASES = {"account": "name", "account_name": "name", "customer": "name", "key_account_manager": "manager",
           "kam": "manager", "is_key": "key_account", "buy_sell_level": "buysell_level", "buysell": "buysell_level"}
BUYSELL_LEVELS = ("commodity", "enhanced", "collaborative", "partner")
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
NAME_MAX = 200
MAX_COLUMNS = 1_000  # of a workbook's header; columns further right are not read
_NOT_UTF8 = ["\ufffd"]  # stands for a CSV row that was not UTF-8 text
_TOO_LONG = ["\ufffd\ufffd"]  # stands for a CSV line over MAX_LINE_BYTES
MAX_LINE_BYTES = 1024 * 1024  # of one CSV line: a row of 20 fields is a few hundred bytes


@dataclass(slots=True)
class AccountInput:
    """One account as the export gives it (unknown values are None)."""

    row: int
    name: str
    id: str | None = None
    is_key: bool | None = None
    manager: str | None = None
    revenue: float | None = None
    potential: float | None = None
    ratings: dict[str, float] = field(default_factory=dict)
    buysell: str | None = None
    treats_us_as_key: bool | None = None
    price_only: bool | None = None
    warnings: list[CellWarning] | None = None  # ratings left out (None when there are none)


@dataclass(slots=True)
class CellWarning:
    """A rating cell that does not hold: left out, the account scored on its other criteria."""

    row: int
    column: str
    value: str      # the cell as given, shortened
    expected: str
    where: str      # file and row (CSV) or cell (xlsx)
    message: str    # one line: where, what was expected, what was done

    def as_dict(self, account: str | None = None) -> dict:
        out = {"row": self.row, "column": self.column, "value": self.value, "expected": self.expected,
               "where": self.where, "message": self.message}
        if account is not None:
            out["account"] = account
        return out


@dataclass(slots=True)
class RowError:
    row: int
    message: str  # one line: where and what was expected


def column_name(header: Any) -> str:
    text = re.sub(r"[\s\-]+", "_", str(header if header is not None else "").strip().lower())
    return ALIASES.get(text, text)


class PortfolioReader:
    """Opens a CSV or xlsx portfolio, checks its header; iterate it for the accounts."""

    def __init__(self, path: str | Path, criteria: Sequence[str]):
        self.path = Path(path)
        self.criteria = tuple(criteria)
        if not self.path.exists():
            raise DataError("accounts file not found", self.path)
        self.kind = "xlsx" if self.path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
        self._rows, self._close, self.sheet = self._open()
        try:
            header = next(self._rows, None)
        except DataError:
            self.close()
            raise
        if header is None or not any(str(h or "").strip() for h in header[1]):
            self.close()
            raise DataError("empty file: expected a header row naming the columns (see `accounts template`)", self.path, 1)
        names = [column_name(h) for h in header[1]]
        known = set(ACCOUNT_COLUMNS) | set(self.criteria)
        self.columns = [(i, n) for i, n in enumerate(names) if n in known]
        self.unknown = [str(h).strip() for h, n in zip(header[1], names) if n and n not in known]
        seen: set[str] = set()
        for _, n in self.columns:
            if n in seen:
                self.close()
                raise DataError(f"column '{n}' appears twice in the header", self.path, 1)
            seen.add(n)
        if "name" not in seen:
            self.close()
            raise DataError("no 'name' column in the header: every account needs its name "
                            f"(columns: {', '.join(ACCOUNT_COLUMNS + self.criteria)})", self.path, 1)

    def _open(self):
        if self.kind == "xlsx":
            return self._open_xlsx()
        handle = _open_regular(self.path)

        bad_lines: list[int] = []
        long_lines: list[int] = []

        def lines():  # decoded line by line, so that a bad byte is reported on its own row
            n = 0
            while True:
                raw = handle.readline(MAX_LINE_BYTES + 1)  # never more than that in memory
                if not raw:
                    return
                n += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    while True:  # the rest of the line is read in pieces and dropped
                        more = handle.readline(1 << 20)
                        if not more or more.endswith(b"\n"):
                            break
                    long_lines.append(n)
                    yield "\n"
                    continue
                try:
                    yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError:
                    bad_lines.append(n)
                    yield raw.decode("utf-8", "replace")

        def rows():
            reader = csv.reader(lines())
            n = 0
            try:
                for record in reader:
                    n += 1
                    if long_lines:
                        long_lines.clear()
                        if n == 1:
                            raise DataError(f"the header is longer than {MAX_LINE_BYTES:,} bytes", self.path, 1)
                        yield n, _TOO_LONG
                        continue
                    if bad_lines:
                        bad_lines.clear()
                        if n == 1:
                            raise DataError("not UTF-8 text; save the export as CSV UTF-8", self.path, 1)
                        yield n, _NOT_UTF8
                        continue
                    yield n, record
            except csv.Error as err:
                raise DataError(f"row {n + 1}: not valid CSV ({err})", self.path) from None
        return rows(), handle.close, None

    def _open_xlsx(self):
        # a regular file within the workbook limits, its XML bounded, entities never expanded
        book = xlsx.open_workbook(self.path, data_only=True, what="portfolio workbook")
        if not book.worksheets:
            book.close()
            raise DataError("the workbook has no sheet", self.path)
        sheet = book["Accounts"] if "Accounts" in book.sheetnames else book.worksheets[0]

        def rows():
            # the header over at most MAX_COLUMNS columns; the accounts only as far as the last
            # column read (a cell far to the right must not widen every row)
            for n, values in xlsx.sheet_rows(sheet, self.path, max_col=MAX_COLUMNS, values_only=True):
                yield n, list(values)
                break
            width = max((i for i, _ in self.columns), default=0) + 1
            for n, values in xlsx.sheet_rows(sheet, self.path, max_col=width, values_only=True, min_row=2):
                yield n, list(values)
        return rows(), book.close, sheet.title

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None

    def where(self, row: int, column: str | None = None, index: int | None = None) -> str:
        if self.kind == "xlsx":
            from openpyxl.utils import get_column_letter
            cell = f"{get_column_letter(index + 1)}{row}" if index is not None else f"row {row}"
            return f"{display_path(self.path)}: {self.sheet}!{cell}"
        return f"{display_path(self.path)}: row {row}"

    def __iter__(self) -> Iterator[AccountInput | RowError]:
        try:
            for n, record in self._rows:
                if not any(v not in (None, "") and str(v).strip() for v in record):
                    continue  # blank rows are not accounts
                yield self._account(n, record)
        finally:
            self.close()

    def _account(self, n: int, record: list) -> AccountInput | RowError:
        if record is _NOT_UTF8:
            return RowError(n, f"{self.where(n)}: not UTF-8 text; save the export as CSV UTF-8")
        if record is _TOO_LONG:
            return RowError(n, f"{self.where(n)}: a line longer than {MAX_LINE_BYTES:,} bytes; skipped unread")
        acc = AccountInput(row=n, name="")
        width = len(record)
        bad: list | None = None
        for index, col, setter in self._setters:
            raw = record[index] if index < width else None
            if raw.__class__ is str:
                raw = raw.strip()
                if not raw:
                    raw = None
            if raw is None:
                if col == "name":
                    return RowError(n, f"{self.where(n, col, index)}: the account has no name")
                continue
            try:
                setter(acc, raw)
            except ValueError as err:
                if col in self.criteria:  # one bad rating: the account is scored on the others
                    (bad := bad if bad is not None else []).append((index, col, raw, str(err)))
                    continue
                return RowError(n, f"{self.where(n, col, index)}: {col} {err} (got {_shown(raw)})")
        if bad:
            acc.warnings = [self._warning(n, acc.name, *b) for b in bad]
        return acc

    def _warning(self, n: int, name: str, index: int, col: str, raw: Any, err: str) -> CellWarning:
        where = self.where(n, col, index)
        if self.kind == "csv":
            where += f", column {col}"
        message = (f"{where}: {col} {RATING_EXPECTED} (got {_shown(raw)}); account {_shown(name)} "
                   "scored on its other criteria")
        return CellWarning(n, col, _shown(raw)[1:-1], RATING_EXPECTED.removeprefix("must be "), where, message)

    @property
    def _setters(self):
        setters = self.__dict__.get("_setter_list")
        if setters is None:
            setters = [(i, col, _setter(col, col in self.criteria)) for i, col in self.columns]
            self.__dict__["_setter_list"] = setters
        return setters


def _open_regular(path: Path):
    """A binary handle on a regular file: a FIFO, device or folder is refused without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise DataError("is a folder, expected a file", path) from None
    except OSError as err:
        raise DataError(f"cannot read: {err.strerror}", path) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DataError("is a folder, expected a file" if stat.S_ISDIR(mode) else
                        "not a regular file (a device, pipe or socket); expected a file", path)
    return os.fdopen(fd, "rb")


def _shown(raw: Any) -> str:
    text = str(raw)
    return repr(text[:40] + ("..." if len(text) > 40 else ""))


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).replace("\u00a0", "").replace(" ", "")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a number")
    return value


_YES_NO = {**dict.fromkeys(_YES, True), **dict.fromkeys(_NO, False)}


def _yes_no(raw: Any) -> bool:
    if raw.__class__ is str:
        found = _YES_NO.get(raw.lower())
        if found is not None:
            return found
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return bool(raw)
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError("must be yes or no")


def _rating(key: str):
    def set_rating(acc: AccountInput, raw: Any) -> None:
        value = _RATINGS.get(raw) if raw.__class__ is str else None
        if value is None:
            value = _number(raw)
        if not 1 <= value <= 5:
            raise ValueError(RATING_EXPECTED)
        acc.ratings[key] = value
    return set_rating


RATING_EXPECTED = "must be a rating from 1 to 5"
_RATINGS = {str(n): float(n) for n in range(1, 6)}


def _amount(attr: str):
    def set_amount(acc: AccountInput, raw: Any) -> None:
        value = _number(raw)
        if value < 0:
            raise ValueError("must be a yearly amount of 0 or more")
        setattr(acc, attr, value)
    return set_amount


def _flag(attr: str):
    def set_flag(acc: AccountInput, raw: Any) -> None:
        setattr(acc, attr, _yes_no(raw))
    return set_flag


def _set_name(acc: AccountInput, raw: Any) -> None:
    text = str(raw)
    if len(text) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    acc.name = text


def _set_id(acc: AccountInput, raw: Any) -> None:
    acc.id = str(int(raw)) if isinstance(raw, float) and raw.is_integer() else str(raw)


def _set_manager(acc: AccountInput, raw: Any) -> None:
    acc.manager = str(raw)[:NAME_MAX]


def _set_level(acc: AccountInput, raw: Any) -> None:
    level = str(raw).strip().lower()
    if level not in BUYSELL_LEVELS:
        raise ValueError(f"must be one of {', '.join(BUYSELL_LEVELS)}")
    acc.buysell = level


def _setter(col: str, criterion: bool):
    """The function that reads one column's text into an account (ValueError when it does not hold)."""
    if criterion:
        return _rating(col)
    return {"name": _set_name, "id": _set_id, "manager": _set_manager, "revenue": _amount("revenue"),
            "potential": _amount("potential"), "key_account": _flag("is_key"),
            "treats_us_as_key": _flag("treats_us_as_key"), "price_only": _flag("price_only"),
            "buysell_level": _set_level}[col]
