"""A corpus of hostile answers files, generated (never committed): one entry per case of the
classes of issue 13. Used by tests/test_hostile.py and bench/bench_hostile.py.

``corpus(folder)`` writes every case into ``folder`` and returns ``{case id: (class, path)}``.
Each file is something a careless or malicious user could hand over; every one must give exit
code 2 and one line naming the file and the place, within 2 s and 300 MB, writing nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

HEAD = "questionnaire: full-audit\n"
OK_ANSWER = "  sp.goals.positioning.a1: done\n"
READINESS = "questionnaire: readiness\nanswers:\n  positioning: yes\n"


def _laughs(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]")
    return HEAD + "answers:\n" + OK_ANSWER + "notes:\n" + "".join(f"  {line}\n" for line in lines)


def _deep_block(depth: int) -> str:
    return HEAD + "organisation:\n" + "".join("  " * (n + 1) + f"k{n}:\n" for n in range(depth)) + \
        "  " * (depth + 1) + "x\n"


CASES: dict[str, tuple[str, str]] = {
    # class 1: tracebacks instead of one line
    "date-feb-30": ("traceback", HEAD + "date: 2026-02-30\nanswers:\n" + OK_ANSWER),
    "date-month-13": ("traceback", HEAD + "date: 2026-13-01\nanswers:\n" + OK_ANSWER),
    "tag-float-abc": ("traceback", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  plan_pages: !!float abc\n"),
    "tag-int-abc": ("traceback", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: !!int abc\n"),
    "tag-timestamp-abc": ("traceback", HEAD + "date: !!timestamp abc\nanswers:\n" + OK_ANSWER),
    "number-5000-digits": ("traceback", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: " + "7" * 5000 + "\n"),
    "nesting-5000-flow": ("traceback", HEAD + "answers:\n" + OK_ANSWER + "notes:\n  x: " + "[" * 5000 + "]" * 5000 + "\n"),
    "nesting-1000-block": ("traceback", _deep_block(1000)),
    "nesting-100000-flow": ("traceback", HEAD + "answers: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n"),
    "answers-empty": ("traceback", HEAD + "answers:\n"),
    "answers-missing": ("traceback", HEAD + "respondent: Jo\n"),
    "not-a-mapping": ("traceback", "- just\n- a list\n"),
    "empty-file": ("traceback", ""),
    "malformed-yaml": ("traceback", HEAD + "answers: {a: [}\n"),
    "answers-a-list": ("traceback", HEAD + "answers: [done, done]\n"),
    "answer-a-mapping": ("traceback", HEAD + "answers:\n  sp.goals.positioning.a1: {status: {deep: [1]}}\n"),
    "answer-a-list": ("traceback", HEAD + "answers:\n  sp.goals.positioning.a1: [done, partial]\n"),
    "key-a-mapping": ("traceback", HEAD + "answers:\n  ? {a: 1}\n  : done\n"),
    "unknown-top-field": ("traceback", HEAD + "answers:\n" + OK_ANSWER + "evil: 1\n"),
    # class 3: unbounded reading
    "questionnaire-etc-passwd": ("reading", "questionnaire: /etc/passwd\nanswers:\n" + OK_ANSWER),
    "questionnaire-dotdot": ("reading", "questionnaire: ../../etc/hostname\nanswers:\n" + OK_ANSWER),
    "questionnaire-folder": ("reading", "questionnaire: /tmp\nanswers:\n" + OK_ANSWER),
    "questionnaire-dev-zero": ("reading", "questionnaire: /dev/zero\nanswers:\n" + OK_ANSWER),
    "questionnaire-fifo": ("reading", "questionnaire: ./fifo.yaml\nanswers:\n" + OK_ANSWER),
    "questionnaire-yaml-name": ("reading", "questionnaire: readiness.yaml\nanswers:\n" + OK_ANSWER),
    "questionnaire-a-mapping": ("reading", "questionnaire: {id: readiness}\nanswers:\n" + OK_ANSWER),
    "billion-laughs": ("reading", _laughs(9, 9)),
    "aliases-wide": ("reading", _laughs(6, 12)),
    "unknown-ids-20000": ("reading", HEAD + "answers:\n" + "".join(f"  zz.{n}.a1: done\n" for n in range(20_000))),
    "unknown-ids-4000": ("reading", HEAD + "answers:\n" + "".join(f"  sp.goals.nope{n}.a1: done\n" for n in range(4_000))),
    "text-200k": ("reading", HEAD + "organisation: " + "A" * 200_000 + "\nanswers:\n" + OK_ANSWER),
    "key-5k-chars": ("reading", HEAD + "answers:\n  " + "k" * 5_000 + ": done\n"),
    "file-11-mb": ("reading", HEAD + "answers:\n" + OK_ANSWER + "# " + "x" * (11 * 1024 * 1024) + "\n"),
    "nul-byte": ("reading", HEAD + "organisation: Acme\x00Corp\nanswers:\n" + OK_ANSWER),
    "not-utf8": ("reading", None),  # written as bytes below
    # class 4: values that should not be accepted
    "fact-nan": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  volume_bonus_pct: .nan\n"),
    "fact-inf": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: .inf\n"),
    "fact-minus-inf": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  plan_pages: -.inf\n"),
    "fact-nan-text": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  plan_pages: NaN\n"),
    "fact-10e30-key-accounts": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: " + "1" + "0" * 30 + "\n"),
    "fact-1e30-float": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: 1.0e+30\n"),
    "fact-base-60": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  quick_review_months: 1:30\n"),
    "fact-negative": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  kam_count: -3\n"),
    "fact-a-list": ("values", HEAD + "answers:\n" + OK_ANSWER + "facts:\n  ka_count: [1, 2]\n"),
    "readiness-number-1e30": ("values", "questionnaire: readiness\nanswers:\n  ka_count: 1000000000000000000000000000000\n"),
    "readiness-number-base-60": ("values", "questionnaire: readiness\nanswers:\n  ka_count: 1:30\n"),
    "organisation-50-deep": ("values", _deep_block(50)),
    "organisation-set": ("values", HEAD + "organisation: !!set {a, b, c}\nanswers:\n" + OK_ANSWER),
    "organisation-binary": ("values", HEAD + "organisation: !!binary aGVsbG8=\nanswers:\n" + OK_ANSWER),
    "organisation-a-list": ("values", HEAD + "organisation: [Acme, Evil]\nanswers:\n" + OK_ANSWER),
    "respondent-a-mapping": ("values", HEAD + "respondent: {name: Jo}\nanswers:\n" + OK_ANSWER),
    "python-tag": ("values", HEAD + "organisation: !!python/object/apply:os.system [id]\nanswers:\n" + OK_ANSWER),
    "local-tag": ("values", HEAD + "organisation: !evil Acme\nanswers:\n" + OK_ANSWER),
    "note-unknown-id": ("values", HEAD + "answers:\n" + OK_ANSWER + "notes:\n  no.such.question: hello\n"),
    "note-a-mapping": ("values", HEAD + "answers:\n  sp.goals.positioning.a1: {status: done, note: {a: 1}}\n"),
    # class 7: output injection that must not reach a terminal
    "osc-title-in-name": ("injection", HEAD + 'organisation: "\\e]0;pwned\\a"\nanswers:\n' + OK_ANSWER),
    "clear-screen-in-id": ("injection", HEAD + 'answers:\n  "\\e[2J\\e[H": done\n'),
    "c1-csi-in-note": ("injection", HEAD + 'answers:\n' + OK_ANSWER + 'notes:\n  sp.goals.positioning.a1: "\\x9b31m"\n'),
    "json-escape-in-name": ("injection", None),  # JSON, written below
}


def corpus(folder: Path) -> dict[str, tuple[str, Path]]:
    """Write every case into ``folder`` (plus the FIFO some refer to); {case: (class, path)}."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for case, (klass, text) in CASES.items():
        if case == "not-utf8":
            path = folder / f"{case}.yaml"
            path.write_bytes(HEAD.encode() + b"organisation: \xff\xfe Acme\nanswers:\n" + OK_ANSWER.encode())
        elif case == "json-escape-in-name":
            path = folder / f"{case}.json"
            path.write_text('{"questionnaire": "full-audit", "organisation": "\\u001b]0;pwned\\u0007", '
                            '"answers": {"sp.goals.positioning.a1": "done"}}\n')
        else:
            path = folder / f"{case}.yaml"
            path.write_text(text, encoding="utf-8")
        out[case] = (klass, path)
    return out


def make_fifo(folder: Path) -> Path:
    """A FIFO with nobody writing to it: reading it would block for ever."""
    fifo = folder / "fifo.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
    return fifo


def crash_or_hang(job: tuple[str, str]):
    """A batch worker's assess function for tests: crash.yaml segfaults, hang.yaml never returns,
    anything else is assessed for real."""
    import signal
    import time

    from kam_advisor.results.batch import assess_one
    name = Path(job[0]).name
    if name == "crash.yaml":
        os.kill(os.getpid(), signal.SIGSEGV)
    if name == "hang.yaml":
        time.sleep(3600)
    return assess_one(job)


# ------------------------------------------------------------------------------- valid input

QUESTIONNAIRES = ("readiness", "full-audit", "facets", "account", "ka-plan")
USER_TEXT = "Globex <b>&amp; Co"  # markup a report must show as text


def valid_answers(folder: Path) -> dict[str, Path]:
    """One valid, fully answered file per built-in questionnaire: ``{questionnaire id: path}``.

    Every question gets an answer its type allows (choices and levels rotate, numbers just above
    their minimum, text holds markup) so every kind of result and every template is exercised."""
    import yaml

    from kam_advisor.answers import loader
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for qid in QUESTIONNAIRES:
        answers = {}
        for n, (key, q) in enumerate(loader.load_cached(qid).questions.items()):
            if q.type == "status":
                value = ("done", "partial", "not_started")[n % 3]
            elif q.type == "single_choice":
                value = q.choice_values[n % len(q.choice_values)]
            elif q.type == "multi_choice":
                value = [q.choice_values[0]]
            elif q.type == "yes_no":
                value = ("yes", "no")[n % 2]
            elif q.type == "scale":
                value = q.scale_min + n % (q.scale_max - q.scale_min + 1)
            elif q.type == "number":
                low, high = q.validation.get("minimum", 0), q.validation.get("maximum", 10**6)
                value = int(low + 1) if low + 1 <= high else low
            else:
                value = USER_TEXT
            answers[key] = value
        path = folder / f"valid-{qid}.yaml"
        path.write_text(yaml.safe_dump({"questionnaire": qid, "organisation": USER_TEXT, "date": "2026-01-15",
                                        "respondent": "Jo Doe", "answers": answers}, sort_keys=False), encoding="utf-8")
        out[qid] = path
    return out


# ------------------------------------------------------------------------------- workbooks (issue 21)

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
LAUGHS_DTD = ('<!DOCTYPE worksheet [<!ENTITY a0 "lol">'
              + "".join(f'<!ENTITY a{n} "{("&a" + str(n - 1) + ";") * 10}">' for n in range(1, 10)) + "]>")
EXTERNAL_DTD = '<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'


def _cell(ref: str, value) -> str:
    if isinstance(value, Raw):
        return f'<c r="{ref}"{value.attrs}><v>{value.text}</v></c>' if value.text is not None else value.attrs
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    from xml.sax.saxutils import escape
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


class Raw:
    """A cell written as given: ``Raw("abc", ' t="n"')`` is ``<c r=".." t="n"><v>abc</v></c>``."""

    def __init__(self, text, attrs: str = ""):
        self.text, self.attrs = text, attrs


def sheet_xml(rows, dimension: str | None = None, doctype: str = "", tail: str = "") -> bytes:
    """A worksheet part holding ``rows`` (lists of values; None leaves a cell out)."""
    from openpyxl.utils import get_column_letter
    body = []
    for r, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{get_column_letter(c)}{r}", v) for c, v in enumerate(row, start=1) if v is not None)
        body.append(f'<row r="{r}">{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet {_NS}>{dim}<sheetData>'
            + "".join(body) + tail + "</sheetData></worksheet>").encode()


def replace_parts(xlsx: bytes, parts: dict[str, bytes]) -> bytes:
    """The workbook with some of its zip parts replaced (or added)."""
    import io
    import zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in parts:
                dst.writestr(info.filename, src.read(info.filename))
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


def with_shared_strings(xlsx: bytes, sst: bytes) -> bytes:
    """The workbook with a shared-strings part (listed in its relations and content types)."""
    import io
    import zipfile
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src:
        rels = src.read("xl/_rels/workbook.xml.rels").decode()
        types = src.read("[Content_Types].xml").decode()
    rels = rels.replace("</Relationships>", '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/'
                        '2006/relationships/sharedStrings" Target="sharedStrings.xml" Id="rId99"/></Relationships>')
    types = types.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                          'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return replace_parts(xlsx, {"xl/_rels/workbook.xml.rels": rels.encode(), "[Content_Types].xml": types.encode(),
                                "xl/sharedStrings.xml": sst})


def _plain_book(sheet_names) -> tuple[bytes, dict[str, str]]:
    """An openpyxl workbook with empty sheets of these names; its bytes and {title: part}."""
    import io

    from openpyxl import Workbook
    book = Workbook()
    book.active.title = sheet_names[0]
    for name in sheet_names[1:]:
        book.create_sheet(name)
    for ws in book.worksheets:
        ws["A1"] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), {name: f"xl/worksheets/sheet{n}.xml" for n, name in enumerate(sheet_names, start=1)}


PORTFOLIO_HEAD = ["id", "name", "key_account", "revenue", "stability", "cross_sell", "financial", "ease"]
PORTFOLIO_ROWS = [["A1", "Acme", "yes", 1200000, 4, 5, 4, 3], ["B2", "Globex", "no", 300000, 2, 2, 3, 2]]


def _answers_rows(answers):
    head = [["Id", "Section", "Question", "Answer", "Notes", "Help", "Allowed answers"]]
    return head + [[qid, "s", "q", value] for qid, value in answers]


def _bomb_sheet(megabytes: int) -> bytes:
    """A sheet part of ``megabytes`` MiB of blanks after a valid start (compresses to ~50 KB per MiB)."""
    return sheet_xml([PORTFOLIO_HEAD])[:-len("</sheetData></worksheet>")] + b" " * (megabytes * 1024 * 1024)


def workbook_corpus(folder: Path) -> dict[str, tuple[str, Path]]:
    """Hostile workbooks for both readers: ``{case: (reader, path)}``, reader ``answers`` (an
    answers workbook of the readiness questionnaire) or ``portfolio`` (accounts score). Each must
    end in one line naming the file, exit code 2, within seconds and 300 MB."""
    folder.mkdir(parents=True, exist_ok=True)
    answers_sheets = ["Instructions", "Answers"]
    answers_base, answers_parts = _plain_book(answers_sheets)
    instructions = answers_parts["Instructions"], sheet_xml([["Questionnaire", "readiness"]])
    portfolio_base, portfolio_parts = _plain_book(["Accounts"])
    good_answers = [("driver", "done"), ("strategy", "partial")]

    def answers_book(answers_sheet: bytes, extra: dict[str, bytes] | None = None) -> bytes:
        return replace_parts(answers_base, {instructions[0]: instructions[1], answers_parts["Answers"]: answers_sheet,
                                            **(extra or {})})

    def portfolio_book(sheet: bytes, extra: dict[str, bytes] | None = None) -> bytes:
        return replace_parts(portfolio_base, {portfolio_parts["Accounts"]: sheet, **(extra or {})})

    def both(case: str, rows_answers, rows_portfolio, **kw) -> None:
        books[f"answers-{case}"] = ("answers", answers_book(sheet_xml(_answers_rows(rows_answers), **kw)))
        books[f"portfolio-{case}"] = ("portfolio", portfolio_book(sheet_xml([PORTFOLIO_HEAD] + rows_portfolio, **kw)))

    books: dict[str, tuple[str, bytes]] = {}
    a_row, p_row = list(good_answers), [list(r) for r in PORTFOLIO_ROWS]
    both("billion-laughs", [("driver", Raw("&a9;", ' t="inlineStr"'))], p_row, doctype=LAUGHS_DTD)
    both("external-entity", [("driver", Raw("&e;", ' t="str"'))], p_row, doctype=EXTERNAL_DTD)
    both("shared-string-out-of-range", [("driver", Raw("999999", ' t="s"'))],
         [["A1", Raw("999999", ' t="s"'), "yes", 5]])
    both("number-nan", [("driver", Raw("NaN"))], [["A1", "Acme", "yes", Raw("NaN")]])
    both("number-inf", [("driver", Raw("1e999"))], [["A1", "Acme", "yes", Raw("1e999")]])
    both("number-text", [("driver", Raw("abc", ' t="n"'))], [["A1", "Acme", "yes", Raw("abc", ' t="n"')]])
    both("number-5000-digits", [("driver", Raw("7" * 5000))], [["A1", "Acme", "yes", Raw("7" * 5000)]])
    both("row-number-4-billion", a_row, p_row, tail='<row r="4000000000"><c r="A4000000000"><v>1</v></c></row>')
    both("row-3-million-cells", a_row, p_row, tail='<row>' + "<c><v>1</v></c>" * 3_000_000 + "</row>")
    both("8-million-elements", a_row, p_row, tail="<foo/>" * 8_000_000)
    both("2-million-empty-rows", a_row, p_row, tail="<row/>" * 2_000_000)
    truncated = sheet_xml([PORTFOLIO_HEAD] + p_row)
    books["portfolio-truncated-xml"] = ("portfolio", portfolio_book(truncated[: len(truncated) - 60]))
    truncated = sheet_xml(_answers_rows(a_row))
    books["answers-truncated-xml"] = ("answers", answers_book(truncated[: len(truncated) - 60]))
    laughs_strings = (f'<?xml version="1.0"?>{LAUGHS_DTD.replace("worksheet", "sst")}<sst {_NS}><si><t>&a9;</t></si>'
                      "</sst>").encode()
    books["portfolio-billion-laughs-shared-strings"] = ("portfolio", with_shared_strings(
        portfolio_book(sheet_xml([PORTFOLIO_HEAD] + p_row)), laughs_strings))
    books["answers-billion-laughs-shared-strings"] = ("answers", with_shared_strings(
        answers_book(sheet_xml(_answers_rows(a_row))), laughs_strings))
    books["portfolio-sheet-unpacks-to-60-mb"] = ("portfolio", portfolio_book(_bomb_sheet(60)))
    books["answers-sheet-unpacks-to-60-mb"] = ("answers", answers_book(_bomb_sheet(60)))
    books["portfolio-shared-strings-30-mb"] = ("portfolio", with_shared_strings(
        portfolio_book(sheet_xml([PORTFOLIO_HEAD] + p_row)), b" " * (30 * 1024 * 1024)))
    books["answers-shared-strings-30-mb"] = ("answers", with_shared_strings(
        answers_book(sheet_xml(_answers_rows(a_row))), b" " * (30 * 1024 * 1024)))

    out = {}
    for case, (reader, data) in books.items():
        path = folder / f"{case}.xlsx"
        path.write_bytes(data)
        out[case] = (reader, path)
    for reader in ("answers", "portfolio"):
        fifo = folder / f"{reader}-fifo.xlsx"
        os.mkfifo(fifo)
        out[f"{reader}-fifo"] = (reader, fifo)
        link = folder / f"{reader}-dev-zero.xlsx"
        link.symlink_to("/dev/zero")
        out[f"{reader}-dev-zero"] = (reader, link)
        sparse = folder / f"{reader}-sparse-11-mb.xlsx"
        with sparse.open("wb") as handle:
            handle.truncate(11 * 1024 * 1024)
        out[f"{reader}-sparse-11-mb"] = (reader, sparse)
    return out


def workbook_below_its_declared_size(folder: Path) -> dict[str, Path]:
    """Valid workbooks whose sheets declare a size (``<dimension>``) smaller than the rows they
    hold: the rows below must be read like the others."""
    folder.mkdir(parents=True, exist_ok=True)
    answers_base, answers_parts = _plain_book(["Instructions", "Answers"])
    portfolio_base, portfolio_parts = _plain_book(["Accounts"])
    rows = _answers_rows([("driver", "done"), ("strategy", "partial"), ("champion", "done")])
    answers = replace_parts(answers_base, {
        answers_parts["Instructions"]: sheet_xml([["Questionnaire", "readiness"]], dimension="A1:B1"),
        answers_parts["Answers"]: sheet_xml(rows, dimension="A1:G2")})
    portfolio = replace_parts(portfolio_base, {
        portfolio_parts["Accounts"]: sheet_xml([PORTFOLIO_HEAD] + PORTFOLIO_ROWS + [["C3", "Initech", "no", 50, 3, 3, 3, 3]],
                                               dimension="A1:H2")})
    (folder / "answers-below-dimension.xlsx").write_bytes(answers)
    (folder / "portfolio-below-dimension.xlsx").write_bytes(portfolio)
    return {"answers": folder / "answers-below-dimension.xlsx", "portfolio": folder / "portfolio-below-dimension.xlsx"}


# ------------------------------------------------------------------------------- history exports (issue 21)

def _deep(depth: int):
    node: list = []
    for _ in range(depth - 1):
        node = [node]
    return node


def export_corpus(folder: Path, valid: dict) -> dict[str, tuple[str, Path]]:
    """Hostile `import` files made from a valid export document: ``{case: (expected, path)}``,
    ``expected`` a piece of the one line `import` must print. Nothing may reach the store."""
    import copy
    import json
    folder.mkdir(parents=True, exist_ok=True)

    def changed(change) -> dict:
        doc = copy.deepcopy(valid)
        change(doc)
        return doc

    docs: dict[str, tuple[str, object]] = {
        "no-organisation": ("missing required field 'organisation'", changed(lambda d: d.pop("organisation"))),
        "organisation-a-number": ("organisation: must be text (got 5)", changed(lambda d: d.update(organisation=5))),
        "date-a-number": ("audits[0].date: must be text", changed(lambda d: d["audits"][0].update(date=20260101))),
        "date-feb-30": ("no such date '2026-02-30'", changed(lambda d: d["audits"][0].update(date="2026-02-30"))),
        "responses-text": ("audits[0].responses: must be a list",
                           changed(lambda d: d["audits"][0].update(responses="x"))),
        "stage-script": ("audits[0].result.overall.achieved: must be one of A, B, C, D",
                         changed(lambda d: d["audits"][0]["result"]["overall"].update(achieved="<script>Z"))),
        "target-stage-script": ("targets[0].stage: must be one of A, B, C, D", changed(lambda d: d.update(
            targets=[{"unit": None, "stage": "<script>Z", "by": None, "set_at": "2026-01-01T00:00:00+00:00"}]))),
        "target-by-feb-30": ("targets[0].by", changed(lambda d: d.update(
            targets=[{"unit": None, "stage": "C", "by": "2026-02-30", "set_at": "2026-01-01T00:00:00+00:00"}]))),
        "nested-900": ("nested more than 64 levels deep",
                       changed(lambda d: d["audits"][0]["result"].update(deep=_deep(900)))),
        "id-not-hex": ("audits[0].id: must be 12 hexadecimal characters",
                       changed(lambda d: d["audits"][0].update(id="<script>"))),
    }
    out = {}
    for case, (expected, doc) in docs.items():
        path = folder / f"export-{case}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        out[case] = (expected, path)
    raw = {
        "utf-16": ("not UTF-8 text (it looks like UTF-16)", json.dumps(valid).encode("utf-16")),
        "nested-100000": ("nested more than 64 levels deep", b"[" * 100_000 + b"]" * 100_000),
        "number-5000-digits": ("not JSON this tool reads", b'{"format": "kam-advisor-history", "version": '
                               + b"7" * 5000 + b"}"),
        "values-3-million": ("values, over the 2,000,000", b"[" + b"0," * 3_000_001 + b"0]"),
        "strings-1.9-million": ("format: expected a kam-advisor history export", b"[" + b'"ab",' * 1_900_000 + b'"x"]'),
        "audits-900000-empty": ("audits: must be at most 100000 entries", b'{"format": "kam-advisor-history", '
                                b'"version": 1, "organisation": "A", "audits": [' + b"{}," * 900_000 + b"{}]}"),
        "audits-90000-empty": ("audits[0]: missing required field 'id'", b'{"format": "kam-advisor-history", '
                               b'"version": 1, "organisation": "A", "audits": [' + b"{}," * 90_000 + b"{}]}"),
        "not-json": ("not JSON: Expecting value", b"format: kam-advisor-history\n"),
        "a-list": ("format: expected a kam-advisor history export", b"[1, 2]"),
    }
    for case, (expected, data) in raw.items():
        path = folder / f"export-{case}.json"
        path.write_bytes(data)
        out[case] = (expected, path)
    fifo = folder / "export-fifo.json"
    os.mkfifo(fifo)
    out["fifo"] = ("not a regular file", fifo)
    zero = folder / "export-dev-zero.json"
    zero.symlink_to("/dev/zero")
    out["dev-zero"] = ("not a regular file", zero)
    return out
