"""The fillable key-account plan of ``plan template -o FILE``: YAML (every field with a comment
from the knowledge base) or an xlsx workbook (a Plan sheet of fields, one sheet each for the
critical success factors and the actions), and the reader that turns such a workbook back into
a plan ``plan check`` reads. A field left empty is not given."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any, Iterable, Mapping

from kam_advisor.data.errors import DataError

PERIODS = ("calendar-year", "6-month", "rolling-12-months", "perpetual")
BREAKDOWNS = ("product-group", "geography", "business-domain")
WIDTH = 92


def _rec(kb, rid: str) -> Mapping[str, Any]:
    return kb.records[rid].data


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _comments(text: str, indent: str = "") -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(_text(text), WIDTH - len(indent) - 2)]


def _field(kb, rid: str) -> str:
    r = _rec(kb, rid)
    return f"{r['label']}: {_text(r['description'])}"


def yaml_template(kb, params: Mapping[str, Any]) -> str:
    """The plan as a YAML file to fill in: write each value after its colon; a field left empty
    is not given (the check says what is missing)."""
    goal, csf, nc, actions = (_rec(kb, f"kaplan.{k}") for k in ("goal", "csf", "nc", "actions"))
    quick, deep = _rec(kb, "kaplan.review.quick"), _rec(kb, "kaplan.review.deep")
    two_pages = _rec(kb, "kaplan.two-page-rule")
    workshop = _rec(kb, "kaplan.workshop")
    sign, figure, nc_indicator = nc["example"].split(" ", 2)  # "> 95% on-time installations"
    nc_target = f"{sign} {figure}"
    out = ["# Key-account plan: the operational plan for one key account.",
           *_comments(_rec(kb, "kaplan.operational")["text"]),
           "#",
           "# How to fill in this file: write each value after its colon; leave a field empty if it",
           "# does not apply yet (the check then says it is missing). yes/no fields take true or false,",
           "# dates are written YYYY-MM-DD. A list takes one line per entry, starting with a dash.",
           "# Check the plan:  kam-advisor plan check FILE [--as-of YYYY-MM-DD]",
           "kind: plan",
           "",
           "# == The plan's header (the KA plan template) ==",
           *_comments(_field(kb, "kaplan.field.customer") + " Required."),
           "customer:",
           *_comments(_field(kb, "kaplan.field.period") + f" One of: {', '.join(PERIODS)}."),
           "period:",
           *_comments(_field(kb, "kaplan.field.prepared")),
           "prepared_by:",
           "date_prepared:          # YYYY-MM-DD",
           *_comments(_field(kb, "kaplan.field.team") + " One line per member, starting "
                      "with a dash: - Ann Keller (key account manager)"),
           "team:",
           "",
           "# == How the plan was written ==",
           *_comments(f"{workshop['name']}: {workshop['text']}"),
           "written_with_team:      # true or false: written with the key account team",
           "workshop:               # true or false: in a planning workshop",
           "customer_involved:      # true or false: with the customer",
           *_comments(f"{two_pages['name']}: {two_pages['text']}"),
           f"pages:                  # how many pages the plan runs to (at most {params['plan_pages_max']})",
           "",
           "# == The account ==",
           *_comments(_field(kb, "kaplan.field.overview")),
           "overview:",
           *_comments(_field(kb, "kaplan.field.revenue")),
           "revenue_snapshot:",
           *_comments(_field(kb, "kaplan.field.landscape")),
           "customer_landscape:",
           *_comments(_field(kb, "kaplan.field.goals")),
           "account_goals:",
           "",
           "# == Goal, critical success factors, necessary conditions, actions ==",
           *_comments(f"{goal['name']}: {goal['detail']}"),
           "goal:",
           "  text:                 # e.g. Sales 4.2 M, margin 31 %",
           "  measurable:           # true or false",
           f"  by:                   # a dash line each: {', '.join(BREAKDOWNS)}",
           *_comments(f"{csf['name']} ({csf['abbreviation']}): {csf['definition']} "
                      f"{nc['name']} ({nc['abbreviation']}): {nc['definition']}"),
           "critical_success_factors:",
           f"  # - name: {csf['example']}",
           "  #   necessary_conditions:",
           f"  #     - indicator: {nc_indicator}",
           f"  #       target: \"{nc_target}\"",
           *_comments(f"{actions['name']}: {actions['definition']} Each with its owner; the vital few, "
                      f"at most {params['plan_actions_max']}.", ""),
           "actions:",
           f"  # - text: {actions['example']}",
           "  #   owner: Raj Patel",
           "  #   due: 2026-03-31",
           "",
           "# == Reviews ==",
           *_comments(_field(kb, "kaplan.field.review-frequency")),
           *_comments(f"{quick['name']}: \"{quick['question']}\" {quick['purpose']}"),
           *_comments(f"{deep['name']}: \"{deep['question']}\" {deep['purpose']}"),
           "reviews:",
           f"  quick_every_months:   # months between quick reviews (at most {quick['interval_months']})",
           f"  deep_every_months:    # months between deep reviews (typically {deep['interval_months']})",
           *_comments(_field(kb, "kaplan.field.review-dates") +  " One line per review, starting with a dash: - 2026-10-27", "  "),
           "  quick:",
           "  deep:",
           ""]
    return "\n".join(out)


# --- the workbook -------------------------------------------------------------------------------

PLAN_SHEET, CSF_SHEET, ACTION_SHEET = "Plan", "Critical success factors", "Actions"
CSF_HEADER = ("critical success factor", "necessary condition (indicator)", "target")
ACTION_HEADER = ("action", "owner", "due")
TEXT_MAX = 5000
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}


def _plan_fields(kb, params: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, kind, what it holds) of the Plan sheet, in order; ``field`` dotted for nested ones."""
    quick, deep = _rec(kb, "kaplan.review.quick"), _rec(kb, "kaplan.review.deep")
    goal = _rec(kb, "kaplan.goal")
    return [
        ("customer", "text", _field(kb, "kaplan.field.customer") + " Required."),
        ("period", "period", _field(kb, "kaplan.field.period") + f" One of: {', '.join(PERIODS)}."),
        ("prepared_by", "text", _field(kb, "kaplan.field.prepared")),
        ("date_prepared", "date", "The date the plan was prepared (a date, or text YYYY-MM-DD)."),
        ("team", "list", _field(kb, "kaplan.field.team") + " One member a line, or separated by ';'."),
        ("written_with_team", "bool", "yes or no: written with the key account team."),
        ("workshop", "bool", "yes or no: " + _text(_rec(kb, "kaplan.workshop")["name"]).lower() + " held for it."),
        ("customer_involved", "bool", "yes or no: written with the customer."),
        ("pages", "number", f"{_rec(kb, 'kaplan.two-page-rule')['name']}: how many pages the plan runs to "
                            f"(at most {params['plan_pages_max']})."),
        ("overview", "text", _field(kb, "kaplan.field.overview")),
        ("revenue_snapshot", "text", _field(kb, "kaplan.field.revenue")),
        ("customer_landscape", "text", _field(kb, "kaplan.field.landscape")),
        ("account_goals", "text", _field(kb, "kaplan.field.goals")),
        ("goal.text", "text", f"{goal['name']}: {_text(goal['detail'])}"),
        ("goal.measurable", "bool", "yes or no: the goal is a measurable sales / margin result."),
        ("goal.by", "breakdown", f"What the goal is broken down by: {', '.join(BREAKDOWNS)} (separated by ';')."),
        ("reviews.quick_every_months", "number", f"{quick['name']} (\"{quick['question']}\"): months between "
                                                 f"quick reviews (at most {quick['interval_months']})."),
        ("reviews.deep_every_months", "number", f"{deep['name']} (\"{deep['question']}\"): months between "
                                                f"deep reviews (typically {deep['interval_months']})."),
        ("reviews.quick", "dates", "The dates quick reviews were held (separated by ';')."),
        ("reviews.deep", "dates", "The dates deep reviews were held (separated by ';')."),
    ]


def xlsx_template(kb, params: Mapping[str, Any]) -> bytes:
    """The plan as a workbook: sheet Plan (field, value, what it holds), sheet Critical success
    factors (one necessary condition a row) and sheet Actions, with drop-downs."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    plan = book.active
    plan.title = PLAN_SHEET
    plan.append(["field", "value", "what it holds"])
    fields = _plan_fields(kb, params)
    checks = {"bool": DataValidation(type="list", formula1='"yes,no"', allow_blank=True),
              "period": DataValidation(type="list", formula1='"' + ",".join(PERIODS) + '"', allow_blank=True),
              "number": DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)}
    for dv in checks.values():
        plan.add_data_validation(dv)
    for n, (key, kind, what) in enumerate(fields, 2):
        plan.append([key, None, what])
        if kind in checks:
            checks[kind].add(f"B{n}")
    csf, nc, actions = (_rec(kb, f"kaplan.{k}") for k in ("csf", "nc", "actions"))
    sign, figure, indicator = nc["example"].split(" ", 2)
    notes = [("", ""),
             ("", "How to fill in: write each value in column B; leave it empty if it does not apply yet. "
                  f"{csf['name']} and their {nc['name'].lower()} go on the sheet '{CSF_SHEET}', the actions "
                  f"on '{ACTION_SHEET}' (their column headers explain them). Check it: kam-advisor plan check "
                  "FILE")]
    for key, what in notes:
        plan.append([key, None, what])
    _lay_out(plan, (30, 50, 100), Font, Alignment)

    from openpyxl.comments import Comment
    sheet = book.create_sheet(CSF_SHEET)
    sheet.append(list(CSF_HEADER))
    explain = (f"{csf['name']} ({csf['abbreviation']}): {_text(csf['definition'])} e.g. {csf['example']}.",
               f"{nc['name']} ({nc['abbreviation']}): {_text(nc['definition'])} e.g. {indicator}. One a row; a row "
               "with no factor in column A belongs to the factor above.",
               f"The indicator's target, e.g. {sign} {figure}.")
    for cell, text in zip(sheet[1], explain):
        cell.comment = Comment(text, "kam-advisor", width=320, height=120)
    _lay_out(sheet, (40, 50, 16), Font, Alignment)

    sheet = book.create_sheet(ACTION_SHEET)
    sheet.append(list(ACTION_HEADER))
    explain = (f"{actions['name']}: {_text(actions['definition'])} e.g. {actions['example']}. The vital few, at "
               f"most {params['plan_actions_max']}.", "Who owns the action: every action has its owner.",
               "When it is due: a date.")
    for cell, text in zip(sheet[1], explain):
        cell.comment = Comment(text, "kam-advisor", width=320, height=120)
    _lay_out(sheet, (60, 25, 14), Font, Alignment)
    date_check = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True)
    sheet.add_data_validation(date_check)
    date_check.add("C2:C200")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _lay_out(sheet, widths: Iterable[int], Font, Alignment) -> None:
    from openpyxl.utils import get_column_letter
    for i, w in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(i)].width = w
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def read_plan_workbook(path: str | Path, kb=None, params: Mapping[str, Any] | None = None) -> dict:
    """A plan workbook (as :func:`xlsx_template` writes it) as the plan mapping ``plan check``
    reads; a cell that does not hold is one :class:`DataError` naming it."""
    from kam_advisor.data import xlsx
    book = xlsx.open_workbook(path, data_only=True, what="plan workbook")
    try:
        if PLAN_SHEET not in book.sheetnames:
            raise DataError(f"no sheet named '{PLAN_SHEET}' (write one with `plan template -o FILE.xlsx`)", path)
        data: dict[str, Any] = {"kind": "plan"}
        kinds = {key: kind for key, kind, _ in _PLAN_KINDS}
        for n, row in xlsx.sheet_rows(book[PLAN_SHEET], path, max_col=2, values_only=True, min_row=2):
            key = _text(row[0]) if row and row[0] is not None else ""
            if not key:
                continue
            if key not in kinds:
                raise DataError(f"{PLAN_SHEET}!A{n}: unknown field '{key[:60]}' (fields: {', '.join(kinds)})", path)
            value = _cell(row[1] if len(row) > 1 else None, kinds[key], f"{PLAN_SHEET}!B{n}", key, path)
            if value is None:
                continue
            node = data
            *parents, leaf = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        if CSF_SHEET in book.sheetnames:
            csfs: list[dict] = []
            for n, row in xlsx.sheet_rows(book[CSF_SHEET], path, max_col=3, values_only=True, min_row=2):
                name, ind, target = (list(row) + [None] * 3)[:3]
                name, ind = _short(name, f"{CSF_SHEET}!A{n}", path, 500), _short(ind, f"{CSF_SHEET}!B{n}", path, 500)
                if name and (not csfs or csfs[-1]["name"] != name):
                    csfs.append({"name": name})
                if ind:
                    if not csfs:
                        raise DataError(f"{CSF_SHEET}!A{n}: a necessary condition needs its critical success "
                                        "factor (in column A of its row or a row above)", path)
                    nc = {"indicator": ind}
                    if target not in (None, ""):
                        nc["target"] = target if isinstance(target, (int, float)) and not isinstance(target, bool) \
                            else _short(target, f"{CSF_SHEET}!C{n}", path, 500)
                    csfs[-1].setdefault("necessary_conditions", []).append(nc)
                elif target not in (None, ""):
                    raise DataError(f"{CSF_SHEET}!B{n}: a target needs its necessary condition (the indicator)", path)
            if csfs:
                data["critical_success_factors"] = csfs
        if ACTION_SHEET in book.sheetnames:
            actions = []
            for n, row in xlsx.sheet_rows(book[ACTION_SHEET], path, max_col=3, values_only=True, min_row=2):
                text, owner, due = (list(row) + [None] * 3)[:3]
                text = _short(text, f"{ACTION_SHEET}!A{n}", path, 1000)
                if not text:
                    if owner not in (None, "") or due not in (None, ""):
                        raise DataError(f"{ACTION_SHEET}!A{n}: an owner or due date needs its action", path)
                    continue
                action: dict[str, Any] = {"text": text}
                if owner not in (None, ""):
                    action["owner"] = _short(owner, f"{ACTION_SHEET}!B{n}", path, 200)
                if due not in (None, ""):
                    action["due"] = _date(due, f"{ACTION_SHEET}!C{n}", "due", path)
                actions.append(action)
            if actions:
                data["actions"] = actions
        return data
    finally:
        book.close()


_PLAN_KINDS = [(k, kind, "") for k, kind in (
    ("customer", "text"), ("period", "period"), ("prepared_by", "text"), ("date_prepared", "date"),
    ("team", "list"), ("written_with_team", "bool"), ("workshop", "bool"), ("customer_involved", "bool"),
    ("pages", "number"), ("overview", "text"), ("revenue_snapshot", "text"), ("customer_landscape", "text"),
    ("account_goals", "text"), ("goal.text", "text"), ("goal.measurable", "bool"), ("goal.by", "breakdown"),
    ("reviews.quick_every_months", "number"), ("reviews.deep_every_months", "number"),
    ("reviews.quick", "dates"), ("reviews.deep", "dates"))]


def _short(value: Any, where: str, path, limit: int) -> str:
    if value is None:
        return ""
    text = str(value).strip()
    if len(text) > limit:
        raise DataError(f"{where}: at most {limit:,} characters (got {len(text):,})", path)
    return text


def _parts(value: Any) -> list[str]:
    return [p.strip() for p in str(value).replace("\n", ";").split(";") if p.strip()]


def _date(value: Any, where: str, key: str, path) -> str:
    import datetime as dt
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    text = str(value).strip()
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise DataError(f"{where}: {key} must be a date written YYYY-MM-DD (got {text[:40]!r})", path) from None
    return text


def _cell(value: Any, kind: str, where: str, key: str, path) -> Any:
    """One Plan-sheet value as the plan file has it; None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "text":
        return _short(value, where, path, 200 if key in ("customer", "prepared_by") else TEXT_MAX)
    if kind == "period":
        text = str(value).strip().lower()
        if text not in PERIODS:
            raise DataError(f"{where}: {key} must be one of {', '.join(PERIODS)} (got {str(value)[:40]!r})", path)
        return text
    if kind == "date":
        return _date(value, where, key, path)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _YES or text in _NO:
            return text in _YES
        raise DataError(f"{where}: {key} must be yes or no (got {str(value)[:40]!r})", path)
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                raise DataError(f"{where}: {key} must be a number (got {str(value)[:40]!r})", path) from None
        if not 0 <= number <= 1000:
            raise DataError(f"{where}: {key} must be a number from 0 to 1000 (got {number:g})", path)
        return int(number) if number.is_integer() else number
    if kind == "list":
        return [_short(p, where, path, 200) for p in _parts(value)]
    if kind == "breakdown":
        parts = [p.lower() for p in _parts(value)]
        bad = [p for p in parts if p not in BREAKDOWNS]
        if bad:
            raise DataError(f"{where}: {key} takes {', '.join(BREAKDOWNS)} (got {bad[0][:40]!r})", path)
        return list(dict.fromkeys(parts))
    if kind == "dates":
        if not isinstance(value, str):
            return [_date(value, where, key, path)]
        return [_date(p, where, key, path) for p in _parts(value)]
    raise AssertionError(kind)
