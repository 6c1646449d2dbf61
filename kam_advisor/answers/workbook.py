"""Excel questionnaires: a fillable workbook out, the filled workbook in as an answers file.

:func:`template` writes a workbook a client fills in Excel or LibreOffice: an Instructions
sheet (with the respondent's details), an Answers sheet with one row per question (section,
question, a drop-down of the allowed answers, notes, help) and a Facts sheet for the named
facts the questionnaire does not ask (each with its unit and limits).

:func:`read_workbook` turns a filled workbook into the same :class:`AnswerFile` the YAML reader
gives, so every command that takes an answers file takes a workbook. Every answer is checked
here, and a bad cell is one line naming sheet and cell (``Answers!D14: 'finished' is not one
of done, partial, ...``). Formulas are never evaluated: a cell holding one is an error. The
file is opened and read within limits by :mod:`kam_advisor.data.xlsx`, as every workbook is.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
from pathlib import Path
from typing import Any, Mapping

from kam_advisor.answers import conditions
from kam_advisor.answers import loader
from kam_advisor.answers.coerce import answer_hint, coerce_answer, format_number
from kam_advisor.answers.files import AnswerFile, check_fact
from kam_advisor.answers.questionnaire import Question, Questionnaire
from kam_advisor.data import xlsx
from kam_advisor.answers.writer import answers_document
from kam_advisor.data.errors import DataError, DataErrors
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.files import atomic_write
from kam_advisor.data.vocab import LABELS, SPECIAL, STATUSES

SUFFIXES = (".xlsx",)
MAX_ROWS = 5000

INSTRUCTIONS, ANSWERS, FACTS, LISTS = "Instructions", "Answers", "Facts", "Lists"
ANSWER_COLUMNS = ("Id", "Section", "Question", "Answer", "Notes", "Help", "Allowed answers")
FACT_COLUMNS = ("Id", "Fact", "Unit and limits", "Value", "Source")
ID_COL, ANSWER_COL, NOTE_COL = 1, 4, 5            # A, D, E
FACT_VALUE_COL = 4                                # D
# the respondent's details on the Instructions sheet: label in column A, value in column B
HEADER_FIELDS = {"Questionnaire": "questionnaire", "Version": "questionnaire_version",
                 "Respondent": "respondent", "Organisation": "organisation", "Date": "date",
                 "Assessor": "assessor"}
SPECIAL_WORDS = {s: LABELS[s] for s in SPECIAL}   # dont_know -> "don't know", na -> "not applicable"


class Cell(int):
    """A row number that prints as its place, ``Answers!D14``: it stands where an answers
    file's line number goes, so later checks name the cell too."""

    def __new__(cls, row: int, ref: str):
        cell = int.__new__(cls, row)
        cell.ref = ref
        return cell

    def __str__(self) -> str:
        return self.ref

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return self.ref


def is_workbook(path: str | Path) -> bool:
    return Path(str(path)).suffix.lower() in SUFFIXES


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(col)


def choices_shown(question: Question) -> list[str]:
    """The answers the drop-down offers, as a person reads them (all accepted when read back)."""
    kind = question.type
    if kind == "status":
        return [LABELS[s] for s in STATUSES]
    if kind == "yes_no":
        values = ["yes", "no"]
    elif kind == "single_choice":
        values = [c.label for c in question.choices]
    elif kind == "scale":
        values = [str(n) for n in range(question.scale_min, question.scale_max + 1)]
    else:
        return []
    return values + [SPECIAL_WORDS[s] for s in SPECIAL if question.offers(s)]


def allowed_answers(question: Question) -> str:
    """The answers a cell takes, in the words of the drop-down."""
    shown = choices_shown(question)
    if shown:
        return ", ".join(shown)
    words = [SPECIAL_WORDS[s] for s in SPECIAL if question.offers(s)]
    hint = answer_hint(question, specials=False)
    if question.type == "multi_choice":
        hint = "any of " + "; ".join(c.label for c in question.choices) + " (separated by ';'), or none"
    return hint + (f"; or {' or '.join(words)}" if words else "")


def _limits(spec: Mapping[str, Any], low_key: str, high_key: str) -> str:
    parts = []
    if low_key in spec:
        parts.append(f"at least {format_number(spec[low_key])}")
    if high_key in spec:
        parts.append(f"at most {format_number(spec[high_key])}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- writing


def template(q: Questionnaire, fact_specs: Mapping[str, Mapping[str, Any]] | None = None) -> bytes:
    """The fillable workbook for questionnaire ``q`` (an .xlsx file's bytes)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    fill = PatternFill("solid", fgColor="FFF2CC")     # the cells to fill in
    book = Workbook()
    intro = book.active
    intro.title = INSTRUCTIONS
    intro.column_dimensions["A"].width = 18
    intro.column_dimensions["B"].width = 100
    intro.append([q.title])
    intro["A1"].font = Font(bold=True, size=14)
    intro.append([])
    details = {"Questionnaire": q.id, "Version": str(q.version), "Respondent": None, "Organisation": None,
               "Date": None, "Assessor": None}
    for label, value in details.items():
        intro.append([label, value])
        intro.cell(intro.max_row, 1).font = bold
        if value is None:
            intro.cell(intro.max_row, 2).fill = fill
    intro.append([])
    steps = [
        q.intro,
        f"For {q.audience}s; about {q.minutes} minutes.",
        "Fill in your name and role, the organisation and the date above (the yellow cells).",
        f"On the '{ANSWERS}' sheet, answer each question in the yellow Answer column: pick from the "
        "drop-down, or type a number within the limits shown. 'don't know' and 'not applicable' "
        "(where offered) are answers too. Leave a cell empty if you do not answer.",
        "Several choices (where a question says 'tick all that apply'): separate them with ';'.",
        "The Notes column is for what shows the answer (optional). Type answers; do not enter formulas "
        "(they are refused, never calculated).",
        "Questions marked 'Only if' in the Help column count only when that condition holds.",
        f"The '{FACTS}' sheet (optional) holds figures the advisor can use beside the answers.",
        "When you have finished, save the file and send it back to whoever sent it to you.",
        f"(For the consultant, on receipt: kam-advisor questionnaire validate {q.id} FILE.xlsx lists every "
        "problem; kam-advisor assess --answers FILE.xlsx assesses it.)",
    ]
    for text in steps:
        intro.append(["", text])
        intro.cell(intro.max_row, 2).alignment = wrap

    lists = book.create_sheet(LISTS)
    lists.sheet_state = "hidden"
    list_ranges: dict[tuple[str, ...], str] = {}

    def list_range(values: list[str]) -> str:
        key = tuple(values)
        if key not in list_ranges:
            col = len(list_ranges) + 1
            for row, value in enumerate(values, start=1):
                lists.cell(row, col, value)
            letter = _letter(col)
            list_ranges[key] = f"{LISTS}!${letter}$1:${letter}${len(values)}"
        return list_ranges[key]

    sheet = book.create_sheet(ANSWERS)
    sheet.append(list(ANSWER_COLUMNS))
    for col, width in enumerate((24, 24, 60, 18, 30, 60, 36), start=1):
        sheet.column_dimensions[_letter(col)].width = width
        sheet.cell(1, col).font = bold
    sheet.freeze_panes = "D2"
    validations: dict[str, DataValidation] = {}
    for section in q.sections:
        for qid in section.questions:
            question = q.questions[qid]
            help_text = question.help
            if question.when is not None:
                help_text += f"\nOnly if: {conditions.describe(question.when)}"
            if section.when is not None:
                help_text += f"\nThis section only if: {conditions.describe(section.when)}"
            hint = allowed_answers(question) + (" (required)" if question.required else "")
            sheet.append([qid, section.title, question.text, None, None, help_text, hint])
            row = sheet.max_row
            for col in (2, 3, 6, 7):
                sheet.cell(row, col).alignment = wrap
            sheet.cell(row, ANSWER_COL).fill = fill
            ref = f"{_letter(ANSWER_COL)}{row}"
            shown = choices_shown(question)
            if shown:
                formula = list_range(shown)
                dv = validations.get(formula)
                if dv is None:
                    dv = validations[formula] = DataValidation(
                        type="list", formula1=f"={formula}", allow_blank=True, showErrorMessage=True,
                        errorTitle="Not one of the answers", error="Pick an answer from the drop-down list.")
                    sheet.add_data_validation(dv)
                dv.add(ref)
            elif question.type == "number":
                # a warning, not a stop: "don't know" may still be typed
                bounds = {k: question.validation[k] for k in ("min", "max") if k in question.validation}
                kind = "whole" if question.integer else "decimal"
                if bounds:
                    operator = "between" if len(bounds) == 2 else (
                        "greaterThanOrEqual" if "min" in bounds else "lessThanOrEqual")
                    values = [format_number(v) for v in bounds.values()]
                    dv = DataValidation(type=kind, operator=operator, formula1=values[0],
                                        formula2=values[1] if len(values) == 2 else None, allow_blank=True,
                                        errorStyle="warning", showErrorMessage=True, showInputMessage=True,
                                        promptTitle="Answer", prompt=hint[:250], error=hint[:250])
                    sheet.add_data_validation(dv)
                    dv.add(ref)

    facts = book.create_sheet(FACTS)
    facts.append(list(FACT_COLUMNS))
    for col, width in enumerate((28, 70, 28, 14, 30), start=1):
        facts.column_dimensions[_letter(col)].width = width
        facts.cell(1, col).font = bold
    asked = {name for question in q.questions.values() for t in question.maps_to if t.kind == "fact"
             for name in t.ids}
    for name, spec in (fact_specs or {}).items():
        if name in asked:
            continue
        kind = spec["type"]
        if kind in ("integer", "number"):
            limits = _limits(spec, "minimum", "maximum")
            unit = ("a whole number" if kind == "integer" else "a number") + (f" ({limits})" if limits else "")
        elif kind == "boolean":
            unit = "yes or no"
        else:
            unit = "one of " + ", ".join(spec["choices"]) if spec.get("choices") else "text"
        facts.append([name, spec.get("description", ""), unit, None, spec.get("source", "")])
        row = facts.max_row
        facts.cell(row, FACT_VALUE_COL).fill = fill
        facts.cell(row, 2).alignment = wrap
        if kind == "boolean":
            dv = DataValidation(type="list", formula1='"yes,no"', allow_blank=True)
            facts.add_data_validation(dv)
            dv.add(f"{_letter(FACT_VALUE_COL)}{row}")
    book.active = book.index(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- reading


def _value(cell, sheet: str, path) -> Any:
    """A cell's typed value; a formula is refused (never evaluated), text is stripped."""
    value = cell.value
    if cell.data_type == "f" or (isinstance(value, str) and cell.data_type != "s" and value.startswith("=")):
        raise DataError(f"{sheet}!{cell.coordinate}: holds a formula; type the answer itself "
                        "(formulas are never calculated)", path)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def _rows(book, name: str, path, width: int):
    if name not in book.sheetnames:
        raise DataError(f"no sheet '{name}' (sheets: {', '.join(book.sheetnames)}); use a workbook made by "
                        "'kam-advisor questionnaire template NAME -o FILE.xlsx'", path)
    return xlsx.sheet_rows(book[name], path, max_col=width, max_rows=MAX_ROWS)


def _header(rows, name: str, expected: tuple[str, ...], path) -> None:
    number, row = next(rows, (1, ()))
    found = [str(c.value).strip() if c.value is not None else "" for c in row]
    for col, title in enumerate(expected, start=1):
        got = found[col - 1] if col <= len(found) else ""
        if got.lower() != title.lower():
            raise DataError(f"{name}!{_letter(col)}1: expected the column heading '{title}' (got "
                            f"{got!r}); use a workbook made by 'kam-advisor questionnaire template'", path)


def _parse_multi(question: Question, raw: Any) -> Any:
    if not isinstance(raw, str) or raw.lower() in ("none", "-"):
        return [] if isinstance(raw, str) else raw
    if raw.lower() in SPECIAL or raw.lower() in SPECIAL_WORDS.values():
        return raw
    parts = [p.strip() for p in re.split(r"[;\n]", raw) if p.strip()]
    if len(parts) == 1 and "," in raw and coerce_ok(question, parts) is False:
        parts = [p.strip() for p in raw.split(",") if p.strip()]
    return parts


def coerce_ok(question: Question, raw: Any) -> bool:
    try:
        coerce_answer(question, raw)
    except ValueError:
        return False
    return True


def _answer(question: Question, raw: Any, where: str, path) -> Any:
    if question.type == "multi_choice":
        raw = _parse_multi(question, raw)
    try:
        return coerce_answer(question, raw)
    except ValueError as exc:
        shown = choices_shown(question)
        if shown and not isinstance(raw, list):
            text = format_number(raw) if isinstance(raw, float) else raw
            hint = did_you_mean(str(text).strip().lower(), [w.lower() for w in shown])
            raise DataError(f"{where}: {str(text)!r} is not one of {', '.join(shown)}{hint}", path) from None
        raise DataError(f"{where}: {exc} (got {raw!r})", path) from None


def _questionnaire(questionnaire_id: Any, where: str, path) -> Questionnaire:
    # the id comes from the file: only a built-in questionnaire's name, never a path
    known = loader.names()
    if not isinstance(questionnaire_id, str) or questionnaire_id not in known:
        raise DataError(f"{where}: {questionnaire_id!r} is not a questionnaire (one of {', '.join(known)})", path)
    return loader.load(questionnaire_id)


def _answer_row(q: Questionnaire, number: int, row, answers: dict, notes: dict, lines: dict, path) -> None:
    """One row of the Answers sheet into ``answers`` and ``notes``; a bad cell raises DataError."""
    cells = list(row) + [None] * (NOTE_COL - len(row))
    id_cell, answer_cell, note_cell = cells[ID_COL - 1], cells[ANSWER_COL - 1], cells[NOTE_COL - 1]
    qid = _value(id_cell, ANSWERS, path) if id_cell is not None else None
    raw = _value(answer_cell, ANSWERS, path) if answer_cell is not None else None
    note = _value(note_cell, ANSWERS, path) if note_cell is not None else None
    if qid is None:
        if raw is not None or note is not None:
            raise DataError(f"{ANSWERS}!A{number}: an answer without a question id in column A", path)
        return
    qid = str(qid)
    where = f"{ANSWERS}!{_letter(ANSWER_COL)}{number}"
    if qid not in q.questions:
        raise DataError(f"{ANSWERS}!A{number}: no question '{qid}' in questionnaire '{q.id}'", path)
    if qid in lines:
        raise DataError(f"{ANSWERS}!A{number}: question '{qid}' appears twice (also row {int(lines[qid])})", path)
    lines[qid] = Cell(number, where)
    if note is not None:
        notes[qid] = str(note)
    if raw is not None:
        answers[qid] = _answer(q.questions[qid], raw, where, path)


def _fact_row(number: int, row, facts: dict, fact_lines: dict, fact_specs, path) -> None:
    """One row of the Facts sheet into ``facts``; a bad cell raises DataError."""
    cells = list(row) + [None] * (FACT_VALUE_COL - len(row))
    name = _value(cells[0], FACTS, path) if cells[0] is not None else None
    value_cell = cells[FACT_VALUE_COL - 1]
    value = _value(value_cell, FACTS, path) if value_cell is not None else None
    if name is None or value is None:
        return
    where = f"{FACTS}!{_letter(FACT_VALUE_COL)}{number}"
    name = str(name)
    if fact_specs is not None:
        if name not in fact_specs:
            raise DataError(f"{FACTS}!A{number}: no fact '{name}'", path)
        try:
            value = check_fact(fact_specs[name], name, value, None, None)
        except DataError as err:
            raise DataError(f"{where}: {err.message}", path) from None
    facts[name] = value
    fact_lines[name] = Cell(number, where)


def read_workbook(path: str | Path, fact_specs: Mapping[str, Mapping[str, Any]] | None = None) -> AnswerFile:
    """A filled questionnaire workbook as an :class:`AnswerFile` (answers already checked).

    A bad cell (an answer that is not one of the allowed, a formula, an unknown question id, a
    fact out of its range) is left out and kept in ``problems``, each naming its ``Sheet!Cell``,
    so that the checks of answers files report every one of them in one run
    (:func:`kam_advisor.answers.check.checked_answers`); a workbook that cannot be read as one
    (no Answers sheet, wrong headings, not a questionnaire) raises DataError at once."""
    path = Path(path)
    # a regular file within the size limits, its sheets' XML bounded, entities never expanded;
    # read_only streams the sheets; data_only=False so that a formula shows as one
    book = xlsx.open_workbook(path, data_only=False, max_rows=MAX_ROWS)
    try:
        header: dict[str, Any] = {}
        for number, row in _rows(book, INSTRUCTIONS, path, 2):
            if number > 40 or len(row) < 2:
                continue
            label = row[0].value.strip() if isinstance(row[0].value, str) else None
            if label in HEADER_FIELDS and HEADER_FIELDS[label] not in header:
                header[HEADER_FIELDS[label]] = (_value(row[1], INSTRUCTIONS, path), f"{INSTRUCTIONS}!{row[1].coordinate}")
        if "questionnaire" not in header:
            raise DataError(f"{INSTRUCTIONS}: no 'Questionnaire' row naming the questionnaire in column B", path)
        q = _questionnaire(header["questionnaire"][0], header["questionnaire"][1], path)

        answers: dict[str, Any] = {}
        notes: dict[str, str] = {}
        lines: dict[str, Cell] = {}
        problems: list[DataError] = []      # every bad cell, as a YAML file's answers are all checked
        rows = _rows(book, ANSWERS, path, len(ANSWER_COLUMNS))
        _header(rows, ANSWERS, ANSWER_COLUMNS[:5], path)
        for number, row in rows:
            try:
                _answer_row(q, number, row, answers, notes, lines, path)
            except DataError as err:
                problems.append(err)

        facts: dict[str, Any] = {}
        fact_lines: dict[str, Cell] = {}
        if FACTS in book.sheetnames:
            rows = _rows(book, FACTS, path, FACT_VALUE_COL)
            _header(rows, FACTS, FACT_COLUMNS[:FACT_VALUE_COL], path)
            for number, row in rows:
                try:
                    _fact_row(number, row, facts, fact_lines, fact_specs, path)
                except DataError as err:
                    problems.append(err)
    finally:
        book.close()

    def text(key: str) -> str | None:
        value = header.get(key, (None,))[0]
        return None if value is None else str(value)

    return AnswerFile(path=str(path), questionnaire=q.id, answers=answers, notes=notes, facts=facts,
                      respondent=text("respondent"), organisation=text("organisation"), date=text("date"),
                      assessor=text("assessor"), lines=lines, fact_lines=fact_lines, problems=tuple(problems))


def continue_in_yaml(q: Questionnaire, path: str | Path) -> Path:
    """The answers of a filled workbook copied into an answers file beside it (``NAME.yaml``),
    for ``run`` to continue; the workbook is never rewritten. Refused when that file exists."""
    path = Path(path)
    target = path.with_suffix(".yaml")
    if target.exists():
        raise DataError(f"exists; to continue those answers use --answers {target.name} "
                        "(the workbook is never rewritten)", target)
    af = read_workbook(path)
    if af.problems:
        raise af.problems[0] if len(af.problems) == 1 else DataErrors(list(af.problems))
    if af.questionnaire != q.id:
        raise DataError(f"this workbook answers questionnaire '{af.questionnaire}', not '{q.id}'", path)
    header = {"respondent": af.respondent, "organisation": af.organisation, "date": af.date,
              "assessor": af.assessor, "facts": dict(af.facts) or None}
    atomic_write(target, answers_document(q, dict(af.answers), dict(af.notes), header))
    return target
