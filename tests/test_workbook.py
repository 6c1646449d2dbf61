"""Excel questionnaires: the template a client fills in Excel or LibreOffice, read back like an
answers file by every command; broken workbooks give one line naming sheet and cell, exit 2.

Workbooks are filled here with openpyxl, the way a person fills them: answers as the drop-down
shows them ("not started", "don't know", choice labels), numbers typed, notes beside.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from conftest import ROOT
from kam_advisor.answers import loader, workbook
from kam_advisor.answers.check import read_answers
from kam_advisor.cli.app import main
from kam_advisor.data import rules
from kam_advisor.data.vocab import LABELS

EXAMPLES = ROOT / "examples"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def fact_specs():
    return rules.load_fact_specs()


def make_template(tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.xlsx"
    res = invoke("questionnaire", "template", name, "-o", out)
    assert res.exit_code == 0, res.output
    return out


def shown(question, value):
    """An answer as a person picks it from the drop-down."""
    if isinstance(value, str) and value in LABELS and (
            question.type in ("status", "yes_no", "single_choice", "scale") or value in ("dont_know", "na")):
        return LABELS[value]
    if question.type == "single_choice":
        return next(c.label for c in question.choices if c.value == value)
    if question.type == "multi_choice":
        return "; ".join(c.label for c in question.choices if c.value in value)
    return value


def fill(template: Path, answers_yaml: Path, out: Path) -> Path:
    """The template filled with the answers, notes, details and facts of a YAML answers file."""
    af, _ = read_answers(answers_yaml)
    q = loader.load(af.questionnaire)
    book = load_workbook(template)
    intro, sheet, facts = book["Instructions"], book["Answers"], book["Facts"]
    for row in intro.iter_rows(min_row=1, max_row=12):
        field = workbook.HEADER_FIELDS.get(row[0].value)
        if field in ("respondent", "organisation", "date", "assessor") and getattr(af, field):
            row[1].value = getattr(af, field)
    for row in sheet.iter_rows(min_row=2):
        qid = row[0].value
        if qid in af.answers:
            row[3].value = shown(q.questions[qid], af.answers[qid])
        if qid in af.notes:
            row[4].value = af.notes[qid]
    for row in facts.iter_rows(min_row=2):
        if row[0].value in af.facts:
            value = af.facts[row[0].value]
            row[3].value = ("yes" if value else "no") if isinstance(value, bool) else value
    book.save(out)
    return out


@pytest.fixture(scope="module")
def northwind_xlsx(tmp_path_factory) -> Path:
    """Northwind's full audit filled into the workbook once for the module (copy it to change it)."""
    folder = tmp_path_factory.mktemp("northwind")
    return fill(make_template(folder, "full-audit"), EXAMPLES / "northwind-early-b.yaml", folder / "northwind.xlsx")


def changed(source: Path, target: Path, sheet: str, cell: str, value) -> Path:
    book = load_workbook(source)
    book[sheet][cell] = value
    book.save(target)
    return target


def assessed(path: Path) -> dict:
    res = invoke("assess", "--answers", path, "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_the_template_has_instructions_one_row_per_question_and_drop_downs(tmp_path):
    q = loader.load("readiness")
    book = load_workbook(make_template(tmp_path, "readiness"))
    assert book.sheetnames[:3] == ["Instructions", "Lists", "Answers"] and "Facts" in book.sheetnames
    sheet = book["Answers"]
    assert [c.value for c in sheet[1]] == list(workbook.ANSWER_COLUMNS)
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert list(rows) == list(q.questions)
    for qid, row in rows.items():
        question = q.questions[qid]
        assert row[2].value == question.text and row[1].value == q.section(question.section).title
        assert question.help in row[5].value
    answer_cells = {str(ref) for dv in sheet.data_validations.dataValidation for ref in dv.sqref.ranges}
    status_rows = [r[3].coordinate for qid, r in rows.items() if q.questions[qid].type == "status"]
    assert set(status_rows) <= answer_cells
    # numbers carry their unit and limits
    ka = rows["ka_count"]
    assert "in accounts" in ka[6].value and "at least 0" in ka[6].value


def test_facts_sheet_lists_named_facts_with_units_and_limits(tmp_path, fact_specs):
    book = load_workbook(make_template(tmp_path, "full-audit"))
    facts = {r[0].value: r for r in book["Facts"].iter_rows(min_row=2)}
    assert set(facts) == set(fact_specs)        # the full audit asks none of them itself
    assert facts["volume_bonus_pct"][2].value == "a number (at least 0, at most 100)"
    assert facts["has_senior_sponsor"][2].value == "yes or no"


def test_round_trip_template_filled_assessed_equals_the_yaml(tmp_path, northwind_xlsx):
    assert assessed(northwind_xlsx) == assessed(EXAMPLES / "northwind-early-b.yaml")
    source = EXAMPLES / "meridian-mature.yaml"
    filled = fill(make_template(tmp_path, "full-audit"), source, tmp_path / "meridian.xlsx")
    assert assessed(filled) == assessed(source)


def test_readiness_round_trip_with_numbers_yes_no_and_dont_know(tmp_path):
    answers = tmp_path / "exec.yaml"
    q = loader.load("readiness")
    lines = ["questionnaire: readiness", "respondent: Chief Executive", "organisation: Acme", "answers:"]
    for n, (qid, question) in enumerate(q.questions.items()):
        value = {"status": ["done", "partial", "not_started", "dont_know"][n % 4], "yes_no": "no",
                 "number": 12}.get(question.type)
        lines.append(f"  {qid}: {value}")
    answers.write_text("\n".join(lines) + "\n")
    filled = fill(make_template(tmp_path, "readiness"), answers, tmp_path / "exec.xlsx")
    assert assessed(filled) == assessed(answers)


@pytest.mark.parametrize("command", [("report", "--format", "json"), ("explain", "programme")])
def test_other_commands_take_the_workbook(northwind_xlsx, command):
    res = invoke(*command, "--answers", northwind_xlsx)
    assert res.exit_code == 0, res.output
    assert "Northwind" in res.output or "programme" in res.output


def test_batch_takes_workbooks_beside_yaml_files(tmp_path, northwind_xlsx):
    src = tmp_path / "in"
    src.mkdir()
    (src / "northwind.xlsx").write_bytes(northwind_xlsx.read_bytes())
    (src / "meridian.yaml").write_text((EXAMPLES / "meridian-mature.yaml").read_text())
    res = invoke("batch", src, "--output", tmp_path / "out", "--jobs", "1")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out" / "northwind.json").read_text()) == assessed(EXAMPLES / "northwind-early-b.yaml")


def one_line_error(path: Path) -> str:
    res = invoke("assess", "--answers", path)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


def test_a_bad_value_names_sheet_and_cell(tmp_path, northwind_xlsx):
    book_path = changed(northwind_xlsx, tmp_path / "bad.xlsx", "Answers", "D14", "finished")
    line = one_line_error(book_path)
    assert line.endswith("bad.xlsx: Answers!D14: 'finished' is not one of done, partial, not started, "
                         "not applicable, don't know")



def test_a_mistyped_status_in_a_cell_says_which_was_meant(tmp_path, northwind_xlsx):
    book_path = changed(northwind_xlsx, tmp_path / "typo.xlsx", "Answers", "D14", "Not startd")
    line = one_line_error(book_path)
    assert line.endswith("typo.xlsx: Answers!D14: 'Not startd' is not one of done, partial, not started, "
                         "not applicable, don't know; did you mean 'not started'?")


def test_every_bad_cell_is_listed_in_one_run(tmp_path, northwind_xlsx):
    """Several bad cells: `questionnaire validate` names every one as Sheet!Cell in one run, as
    it lists every bad answer of a YAML file; `assess` stops at the first, as for a YAML file."""
    import re
    book = load_workbook(northwind_xlsx)
    book["Answers"]["D14"] = "finished"
    book["Answers"]["D20"] = '=IF(1=1,"done","partial")'
    book["Answers"]["D31"] = "maybe"
    book["Answers"]["A40"] = "no.such.question"
    fact_row = next(r for r in book["Facts"].iter_rows(min_row=2) if r[0].value == "volume_bonus_pct")
    fact_row[3].value = 250
    book.save(tmp_path / "bad.xlsx")
    res = invoke("questionnaire", "validate", "full-audit", tmp_path / "bad.xlsx")
    assert res.exit_code == 2 and "Traceback" not in res.output
    lines = res.output.strip().splitlines()
    places = [re.search(r"bad\.xlsx: ?((Answers|Facts)![A-Z]+\d+): ", line).group(1) for line in lines]
    assert sorted(places) == sorted(["Answers!D14", "Answers!D20", "Answers!D31", "Answers!A40",
                                     f"Facts!D{fact_row[3].row}"])
    assert any("'finished' is not one of" in line for line in lines)
    assert any("Answers!D20: holds a formula" in line for line in lines)
    assert "Answers!D14: 'finished' is not one of" in one_line_error(tmp_path / "bad.xlsx")


def test_thousands_of_bad_cells_list_twenty_and_say_how_many_more(tmp_path, northwind_xlsx):
    book = load_workbook(northwind_xlsx)
    for row in range(2, 102):
        book["Answers"][f"D{row}"] = "finished"
    book.save(tmp_path / "bad.xlsx")
    res = invoke("questionnaire", "validate", "full-audit", tmp_path / "bad.xlsx")
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 21 and lines[-1].endswith("... and 80 more problems")


def test_a_number_out_of_limits_names_its_cell(tmp_path):
    template = make_template(tmp_path, "readiness")
    book = load_workbook(template)
    row = next(r for r in book["Answers"].iter_rows(min_row=2) if r[0].value == "ka_count")
    row[3].value = -3
    book.save(template)
    assert f"Answers!D{row[3].row}: " in one_line_error(template)
    assert "at least 0" in one_line_error(template)


def test_a_bad_fact_names_its_cell(tmp_path):
    template = make_template(tmp_path, "full-audit")
    book = load_workbook(template)
    row = next(r for r in book["Facts"].iter_rows(min_row=2) if r[0].value == "volume_bonus_pct")
    row[3].value = 250
    book.save(template)
    line = one_line_error(template)
    assert f"Facts!D{row[3].row}: " in line and "at most 100" in line


def test_a_formula_is_refused_never_evaluated(tmp_path, northwind_xlsx):
    filled = changed(northwind_xlsx, tmp_path / "f.xlsx", "Answers", "D20", '=IF(1=1,"done","partial")')
    assert "Answers!D20: holds a formula" in one_line_error(filled)


def test_a_workbook_without_the_answers_sheet(tmp_path):
    template = make_template(tmp_path, "readiness")
    book = load_workbook(template)
    book["Answers"].title = "Sheet1"
    book.save(template)
    line = one_line_error(template)
    assert "no sheet 'Answers' (sheets: Instructions, Lists, Sheet1, Facts)" in line


def test_a_workbook_naming_a_path_instead_of_a_questionnaire(tmp_path):
    template = make_template(tmp_path, "readiness")
    book = load_workbook(template)
    book["Instructions"]["B3"] = "../../etc/passwd"
    book.save(template)
    assert "Instructions!B3: '../../etc/passwd' is not a questionnaire" in one_line_error(template)


def test_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "answers.xlsx"
    path.write_text("questionnaire: readiness\n")
    assert "not an Excel workbook (.xlsx)" in one_line_error(path)


def test_a_50_mb_file_is_refused_before_it_is_opened(tmp_path):
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:           # sparse: no 50 MB written to disk
        handle.truncate(50 * 1024 * 1024)
    assert "file too large (52,428,800 bytes; the limit is 10,485,760)" in one_line_error(path)


def test_a_small_workbook_that_unpacks_huge_is_refused(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(51):
                member.write(block)
    assert path.stat().st_size < 1024 * 1024
    assert "workbook unpacks to 51 MB; refused above 50 MB" in one_line_error(path)


def test_run_continues_a_partly_filled_workbook_in_a_yaml_file_beside_it(tmp_path):
    q = loader.load("readiness")
    template = make_template(tmp_path, "readiness")
    book = load_workbook(template)
    rows = [r for r in book["Answers"].iter_rows(min_row=2)]
    rows[0][3].value = "partial"
    rows[0][4].value = "agreed at the board"
    book["Instructions"]["B5"] = "Chief Executive"
    book.save(template)
    before = template.read_bytes()
    # the interview asks the rest; piped input ends after one more answer
    res = CliRunner().invoke(main, ["run", "readiness", "--answers", str(template), "--no-assess"], input="done\n")
    assert res.exit_code == 0, res.output
    continued = tmp_path / "readiness.yaml"
    af, _ = read_answers(continued)
    first, second = list(q.questions)[:2]
    assert af.answers[first] == "partial" and af.notes[first] == "agreed at the board"
    assert af.answers[second] == "done" and af.respondent == "Chief Executive"
    assert template.read_bytes() == before          # the workbook is never rewritten
    again = CliRunner().invoke(main, ["run", "readiness", "--answers", str(template)], input="")
    assert again.exit_code == 2 and "use --answers readiness.yaml" in again.output


def test_the_history_store_takes_the_workbook(tmp_path, northwind_xlsx):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    res = invoke("assess", "--answers", northwind_xlsx, "--save", "--db", url, "--format", "json")
    assert res.exit_code == 0, res.output
    from kam_advisor.store import open_store
    with open_store(url) as store:
        (audit,) = store.audits("Northwind Components Ltd")
        saved = store.load(audit.id)
    assert saved.sources[0].answers["sp.goals.positioning.a1"] == "done"
    assert saved.sources[0].facts["volume_bonus_pct"] == 25


@pytest.mark.parametrize("name", ["ka-plan", "account"])
def test_choices_by_label_several_choices_and_text_round_trip(tmp_path, name):
    q = loader.load(name)
    lines = [f"questionnaire: {name}", "answers:"]
    for qid, question in q.questions.items():
        value = {"single_choice": lambda: question.choices[-1].value,
                 "multi_choice": lambda: "[" + ", ".join(c.value for c in question.choices[:2]) + "]",
                 "yes_no": lambda: "yes", "scale": lambda: question.scale_max, "number": lambda: 4,
                 "text": lambda: '"Plan for Beta, Inc.; agreed"', "status": lambda: "partial"}[question.type]()
        lines.append(f"  {qid}: {value}")
    answers = tmp_path / f"{name}.yaml"
    answers.write_text("\n".join(lines) + "\n")
    filled = fill(make_template(tmp_path, name), answers, tmp_path / f"{name}.xlsx")
    assert assessed(filled) == assessed(answers)


READINESS = loader.load("readiness")


def _answer_strategy(question):
    from hypothesis import strategies as st
    specials = [s for s in ("dont_know", "na") if question.offers(s)]
    if question.type == "status":
        values = st.sampled_from(["done", "partial", "not_started", "na", "dont_know"])
    elif question.type == "yes_no":
        values = st.sampled_from(["yes", "no"] + specials)
    else:  # number
        low, high = question.validation.get("min", 0), question.validation.get("max", 10**6)
        values = st.integers(int(low), int(high)) if question.integer else st.one_of(
            st.integers(int(low), int(high)), st.sampled_from(specials or [int(low)]))
    return st.one_of(st.none(), values)


def _notes():
    from hypothesis import strategies as st
    printable = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f")
    return st.one_of(st.none(), st.text(printable, min_size=1, max_size=40).filter(
        lambda t: t.strip() and not t.lstrip().startswith("=")))


def test_any_answers_and_notes_read_back_from_the_workbook_as_given(tmp_path_factory):
    """Invariant: whatever a respondent picks or types (within the drop-downs and limits), and
    whatever note they write, the workbook reads back exactly those answers and notes."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    template = make_template(tmp_path_factory.mktemp("prop"), "readiness")
    questions = list(READINESS.questions.values())

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.tuples(*[_answer_strategy(x) for x in questions]), st.tuples(*[_notes() for _ in questions]))
    def check(values, notes):
        book = load_workbook(template)
        rows = {r[0].value: r for r in book["Answers"].iter_rows(min_row=2)}
        for question, value, note in zip(questions, values, notes):
            if value is not None:
                rows[question.id][3].value = shown(question, value)
            rows[question.id][4].value = note
        path = template.with_name("filled.xlsx")
        book.save(path)
        af = workbook.read_workbook(path)
        assert dict(af.answers) == {x.id: v for x, v in zip(questions, values) if v is not None}
        assert dict(af.notes) == {x.id: n.strip() for x, n in zip(questions, notes) if n is not None}

    check()
