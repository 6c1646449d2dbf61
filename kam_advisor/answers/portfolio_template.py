"""The fillable portfolio workbook of ``accounts template -o FILE.xlsx``: the Accounts sheet the
reader reads (header, example rows, drop-downs and 1-5 ranges on the cells) and a Columns sheet
saying what each column holds, its words taken from the knowledge base."""

from __future__ import annotations

import io
from typing import Any, Sequence

from kam_advisor.answers.portfolio import ACCOUNT_COLUMNS, BUYSELL_LEVELS

ROWS_VALIDATED = 5_000   # data rows the drop-downs cover
_YES_NO = '"yes,no"'

_ACCOUNT_WORDS = {
    "id": ("Your reference for the account (CRM id); matches accounts between runs.", "text, optional"),
    "name": ("The account's name.", "text, required"),
    "key_account": ("Is it a key account today?", "yes or no"),
    "manager": ("The key account manager who looks after it.", "text"),
    "revenue": ("Yearly revenue from the account; sizes its bubble on the matrix.", "a number, 0 or more"),
    "potential": ("What the customer spends a year on what you sell.", "a number, 0 or more"),
    "treats_us_as_key": ("Does the customer treat you as a key supplier?", "yes or no"),
    "price_only": ("Does the customer want only a good product at a good price?", "yes or no"),
}


def columns(kb, criteria: Sequence[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(column, what it holds, what may go in it) in the template's order; an empty cell is unknown."""
    texts = {r.id.split(".", 1)[1].replace("-", "_"): r.data.get("text") or r.data["name"]
             for r in kb.records.values() if r.kind == "attractiveness-criterion"}
    levels = sorted((r for r in kb.records.values() if r.kind == "buysell-level"), key=lambda r: r.data["rank"])
    level_words = "; ".join(f"{r.data['name'].lower()}: {str(r.data.get('customer_view', '')).rstrip('.')}" for r in levels)
    out = [(c, *_ACCOUNT_WORDS[c]) for c in ACCOUNT_COLUMNS[:6]]
    for key, name in criteria:
        out.append((key, f"{name}: {texts.get(key, name)}. How attractive the account is to you on this "
                         "criterion (1 least, 5 most).", "a whole number from 1 to 5"))
    out.append(("buysell_level", "Where the customer places you in the buy-sell hierarchy (" + level_words + ")",
                " | ".join(BUYSELL_LEVELS)))
    out += [(c, *_ACCOUNT_WORDS[c]) for c in ACCOUNT_COLUMNS[7:]]
    return out


def _number(v: Any) -> Any:
    """An example's figure as a number, so that the cell's validation holds."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v if v != "" else None
    return int(f) if f.is_integer() else f


def workbook(kb, criteria: Sequence[tuple[str, str]], header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """The template as xlsx bytes: sheet Accounts (what the reader reads) and sheet Columns."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from kam_advisor.data.cells import spreadsheet_cell

    notes = {c: (what, allowed) for c, what, allowed in columns(kb, criteria)}
    book = Workbook()
    sheet = book.active
    sheet.title = "Accounts"
    sheet.append(list(header))
    numeric = {i for i, c in enumerate(header) if c in ("revenue", "potential") or c in dict(criteria)}
    for row in rows:
        sheet.append([_number(v) if i in numeric else spreadsheet_cell(v) for i, v in enumerate(row)])
    last = ROWS_VALIDATED + 1
    lists = {"yes/no": DataValidation(type="list", formula1=_YES_NO, allow_blank=True),
             "level": DataValidation(type="list", formula1='"' + ",".join(BUYSELL_LEVELS) + '"', allow_blank=True),
             "rating": DataValidation(type="whole", operator="between", formula1="1", formula2="5", allow_blank=True),
             "amount": DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)}
    kinds = {"key_account": "yes/no", "treats_us_as_key": "yes/no", "price_only": "yes/no",
             "buysell_level": "level", "revenue": "amount", "potential": "amount"}
    for dv, (title, text) in zip(lists.values(), (("yes or no", "Choose yes or no, or leave empty if unknown."),
                                                   ("buy-sell level", "Choose " + ", ".join(BUYSELL_LEVELS) + "."),
                                                   ("rating 1-5", "A whole number from 1 (least) to 5 (most)."),
                                                   ("amount", "A yearly amount, 0 or more."))):
        dv.error, dv.errorTitle, dv.prompt, dv.promptTitle = text, title, text, title
        dv.showErrorMessage = dv.showInputMessage = True
        sheet.add_data_validation(dv)
    for i, col in enumerate(header, 1):
        letter = get_column_letter(i)
        kind = kinds.get(col) or ("rating" if col in dict(criteria) else None)
        if kind:
            lists[kind].add(f"{letter}2:{letter}{last}")
        cell = sheet.cell(row=1, column=i)
        cell.font = Font(bold=True)
        if col in notes:
            cell.comment = Comment(f"{notes[col][0]}\nAllowed: {notes[col][1]}", "kam-advisor", width=320, height=140)
        width = max(len(str(col)), *(len(str(r[i - 1])) for r in rows if i - 1 < len(r)))
        sheet.column_dimensions[letter].width = min(40, width + 3)
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last}"  # the rows still to fill too

    doc = book.create_sheet("Columns")
    doc.append(["column", "what it holds", "allowed"])
    for c in header:
        what, allowed = notes.get(c, ("", ""))
        doc.append([c, what, allowed])
    doc.append([])
    doc.append(["", "Rows below the header are accounts, one a row; an empty cell is unknown. Only the sheet "
                    "named Accounts is read (formulas are never run). Score it: kam-advisor accounts score FILE", ""])
    for cell in doc[1]:
        cell.font = Font(bold=True)
    for letter, width in (("A", 20), ("B", 90), ("C", 40)):
        doc.column_dimensions[letter].width = width
    for row in doc.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    doc.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
