"""Reading a workbook (.xlsx) someone else made, within limits: the one way every reader opens one.

An .xlsx file is a zip of XML parts, and each of them can be hostile. Every workbook reader
(answers workbooks, portfolios) goes through :func:`open_workbook` and :func:`sheet_rows`, which
refuse, on one line naming the file and the place, with exit code 2:

- anything but a regular file (a FIFO would block for ever, ``/dev/zero`` never ends): opened
  without blocking, checked with ``fstat`` and read with a byte cap, never trusting ``st_size``;
- a file over :data:`MAX_FILE_BYTES`, or one whose parts unpack to over :data:`MAX_UNPACKED_BYTES`
  (zip's declared sizes, which are also the most ``zipfile`` ever inflates), or whose parts held
  whole in memory (shared strings, styles, the workbook part) unpack to over :data:`MAX_PART_BYTES`;
- XML with a DTD or entities (billion laughs, external entities): openpyxl parses through
  **defusedxml**, which refuses entity declarations instead of expanding them;
- damaged sheets, met only while the rows are read (truncated XML, a shared-string index out of
  range, a number cell holding text, more rows than allowed): each is a :class:`DataError` naming
  the sheet and the row reached; a number cell holding NaN or infinity is refused at its cell.

Rows are read to the end of the sheet, whatever size the sheet declares (its ``dimension``, which
a writer may get wrong): a row below the declared size is read like any other.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator

from kam_advisor.data.errors import DataError
from kam_advisor.data.yamlio import open_regular

MAX_FILE_BYTES = 10 * 1024 * 1024        # a filled full audit is about 40 KB; 100,000 accounts about 8 MB
MAX_UNPACKED_BYTES = 50 * 1024 * 1024    # all parts unpacked: 100,000 accounts written by openpyxl are 71 MB
MAX_PART_BYTES = 20 * 1024 * 1024        # a part other than a sheet, which openpyxl holds whole in memory
EXCEL_MAX_ROWS = 1_048_576               # the most rows Excel itself allows in a sheet
NOT_XLSX = "not an Excel workbook (.xlsx); save it from Excel or LibreOffice as .xlsx"


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"


MAX_ROW_BYTES = 1024 * 1024              # the XML of one row (or of what lies between two rows)
_ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,20}:)?row[\s/>]")
_TAIL = 64                               # bytes kept between chunks so that no row start is cut


def read_workbook_bytes(path: str | Path, what: str = "workbook", max_rows: int = EXCEL_MAX_ROWS) -> bytes:
    """The bytes of a workbook that is a regular file within the size limits, its zip and the
    XML of its sheets checked (see :func:`_scan_sheet`)."""
    data = open_regular(path, MAX_FILE_BYTES)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            unpacked = sum(info.file_size for info in infos)
            if unpacked > MAX_UNPACKED_BYTES:
                raise DataError(f"{what} unpacks to {_mb(unpacked)}; refused above {_mb(MAX_UNPACKED_BYTES)} "
                                "(an .xlsx is a zip)", path)
            titles = _sheet_titles(archive)
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    _scan_sheet(archive, info, titles.get(info.filename, info.filename[:80]), path, max_rows)
                elif info.file_size > MAX_PART_BYTES:
                    raise DataError(f"part {info.filename[:80]!r} unpacks to {_mb(info.file_size)}; refused above "
                                    f"{_mb(MAX_PART_BYTES)}", path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, zlib.error):
        raise DataError(NOT_XLSX, path) from None
    return data


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """{part name: sheet title} from the workbook part and its relations (parsed by defusedxml;
    empty when they cannot be read, and the part names stand for the sheets)."""
    from defusedxml.ElementTree import fromstring
    try:
        infos = {i.filename: i for i in archive.infolist()}
        names = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
        if any(n not in infos or infos[n].file_size > MAX_PART_BYTES for n in names):
            return {}
        book, rels = (fromstring(archive.read(n)) for n in names)
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        out = {}
        for node in book.iter():
            if node.tag.endswith("}sheet"):
                rid = next((v for k, v in node.attrib.items() if k.endswith("}id")), None)
                target = targets.get(rid, "")
                part = target.lstrip("/") if target.startswith("/") else "xl/" + target
                out[part] = str(node.get("name", ""))[:80]
        return out
    except Exception:  # a damaged workbook part is reported by openpyxl when it opens the book
        return {}


def _scan_sheet(archive: zipfile.ZipFile, info: zipfile.ZipInfo, title: str, path, max_rows: int) -> None:
    """Stream one sheet's XML and refuse, before openpyxl builds anything from it, what would
    make it build without bound: a DTD, comment, CDATA or processing instruction (Excel writes
    none), more than ``max_rows`` rows, or a row (or what lies between rows) of over
    MAX_ROW_BYTES. openpyxl keeps every element of a row, and of a sheet without a declared
    size, until the end of that row or sheet; these bounds keep that small."""
    rows, last, offset, carry = 0, 0, 0, b""
    with archive.open(info) as stream:
        while True:
            chunk = stream.read(1024 * 1024)
            data = carry + chunk
            if offset == 0 and data.startswith((b"\xef\xbb\xbf<?xml", b"<?xml")):
                data = data.replace(b"<?", b"<_", 1)  # the XML declaration is the one allowed
            if b"<!" in data or b"<?" in data:
                raise DataError(f"sheet {title!r}: its XML holds a DTD, entity, comment or processing "
                                "instruction; refused (entities are never expanded)", path)
            usable = len(data) if not chunk else max(0, len(data) - _TAIL)
            for match in _ROW_START.finditer(data):
                if match.start() >= usable:
                    break  # found again, whole, with the next chunk
                where = offset + match.start()
                rows += 1
                if rows > max_rows:
                    raise DataError(f"sheet {title!r}: more than {max_rows:,} rows", path)
                if where - last > MAX_ROW_BYTES:
                    raise _too_big(title, rows - 1, path)
                last = where
            if not chunk:
                if offset + len(data) - last > MAX_ROW_BYTES:
                    raise _too_big(title, rows, path)
                return
            carry = data[usable:]
            offset += usable


def _too_big(title: str, row: int, path) -> DataError:
    what = f"row {row} (counting rows as written)" if row else "the XML before its first row"
    return DataError(f"sheet {title!r}: {what} is over {_mb(MAX_ROW_BYTES)}; refused", path)


def _refuse_unsafe_xml_parser() -> None:
    import openpyxl
    if not getattr(openpyxl, "DEFUSEDXML", False) and not getattr(openpyxl, "LXML", False):
        # OPENPYXL_DEFUSEDXML=False, or defusedxml missing: openpyxl would expand entities
        raise DataError("reading workbooks needs openpyxl with defusedxml (pip install defusedxml; "
                        "do not set OPENPYXL_DEFUSEDXML=False)")


def open_workbook(path: str | Path, data_only: bool = False, what: str = "workbook", max_rows: int = EXCEL_MAX_ROWS):
    """An openpyxl workbook in read-only mode (rows streamed, formulas never run), opened from
    the capped bytes of a regular file. Close it (``book.close()``) when done."""
    data = read_workbook_bytes(path, what, max_rows)
    _refuse_unsafe_xml_parser()
    from openpyxl import load_workbook
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=data_only, keep_links=False)
    except DataError:
        raise
    except Exception as err:  # openpyxl raises many kinds for a damaged or hostile file
        where = _damaged_part(data)
        if where:
            raise DataError(where, path) from None
        raise DataError(f"not a readable Excel workbook ({_why(err)}); save it again as .xlsx", path) from None


def _damaged_part(data: bytes) -> str | None:
    """Which XML part of a workbook openpyxl could not read, and why, in words; None when every
    part parses (only on the error path: each part parsed once more, by defusedxml)."""
    from defusedxml.ElementTree import iterparse
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        titles = _sheet_titles(archive)
        for info in archive.infolist():
            if not info.filename.endswith((".xml", ".rels")):
                continue
            try:
                with archive.open(info) as stream:
                    for _, element in iterparse(stream):
                        element.clear()
            except Exception as err:
                name = titles.get(info.filename)
                label = f"sheet {name!r}" if name else f"part {info.filename[:80]!r}"
                return f"{label}: {_why(err)}"
    return None


def _why(err: BaseException) -> str:
    """What went wrong in a workbook's XML, in words on one line (the cause's own text, short)."""
    while (err.__cause__ or err.__context__) is not None and isinstance(err, ValueError) and \
            str(err).startswith("Unable to read workbook"):
        err = err.__cause__ or err.__context__  # openpyxl's wrapper: the cause says what
    kind = type(err).__name__
    text = " ".join(str(err).split())
    text = text[:80] + ("..." if len(text) > 80 else "")
    if kind in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden", "NotSupportedError"):
        return "its XML declares entities or a DTD, which are refused, never expanded"
    if kind == "ParseError":
        return f"damaged XML ({text})"
    if isinstance(err, IndexError):
        return "a cell refers to a shared string that the workbook does not have"
    if isinstance(err, (ValueError, TypeError)):
        return f"a cell's value does not fit its type ({text})"
    if isinstance(err, KeyError):
        return f"a part is missing ({text})"
    return f"{kind}: {text}" if text else kind


def _place(sheet_name: str, row: int, col: int | None = None) -> str:
    if col is None:
        return f"{sheet_name}!row {row}"
    from openpyxl.utils import get_column_letter
    return f"{sheet_name}!{get_column_letter(col)}{row}"


def sheet_rows(ws, path: str | Path, max_col: int, values_only: bool = False,
               max_rows: int = EXCEL_MAX_ROWS, min_row: int = 1) -> Iterator[tuple[int, tuple]]:
    """``(row number, cells)`` of every row of a read-only sheet, ``max_col`` cells each.

    Reads past the sheet's declared size; damaged XML met while reading, a row beyond
    ``max_rows`` and a non-finite number are one :class:`DataError` naming the place."""
    ws.reset_dimensions()  # a wrong <dimension> must not hide rows below it
    rows = ws.iter_rows(min_row=min_row, max_col=max_col, values_only=values_only)
    number = min_row - 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except DataError:
            raise
        except Exception as err:
            raise DataError(f"{_place(ws.title, number + 1)}: {_why(err)}", path) from None
        number += 1
        if number > max_rows:
            raise DataError(f"{ws.title}: more than {max_rows:,} rows", path)
        for col, cell in enumerate(row, start=1):
            value = cell if values_only else getattr(cell, "value", None)
            if value.__class__ is float and not math.isfinite(value):
                raise DataError(f"{_place(ws.title, number, col)}: {value} is not a number "
                                "(not a number or infinite)", path)
        yield number, row
