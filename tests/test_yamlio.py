"""Reading YAML in one pass: the document `parse_yaml` builds from libyaml's events (while it checks
the limits) is exactly what PyYAML's loader builds with line bookkeeping, for every file the
project ships, every hostile case, and generated documents full of YAML 1.1's traps; where the
two would differ, `parse_yaml` hands the text to the loader, so errors read as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import hostile_corpus
from conftest import ROOT
from kam_advisor.data import yamlio
from kam_advisor.data.errors import DataError
from kam_advisor.data.yamlio import LineDict, LineList, parse_yaml

SHIPPED = sorted(p for folder in ("knowledge", "rules", "questionnaires", "examples", "tests", "kam_advisor")
                 for p in (ROOT / folder).rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file()
                 and p.stat().st_size < yamlio.MAX_FILE_BYTES)


def _with_lines(value):
    """The value with every line the loader recorded, so that equal means equal line for line."""
    if isinstance(value, LineDict):
        return ("map", value.line, [(k, value.line_of(k), _with_lines(v)) for k, v in value.items()])
    if isinstance(value, LineList):
        return ("seq", value.line, [(value.line_of(n), _with_lines(v)) for n, v in enumerate(value)])
    assert not isinstance(value, (dict, list)), "a collection without its lines"
    return (type(value).__name__, value)


def _outcome(load, text: str):
    try:
        return "ok", _with_lines(load(text, "doc.yaml"))
    except DataError as err:
        return "error", err.format()


def _loader(text: str, path):
    """The reference: limits checked, then PyYAML's loader with line bookkeeping."""
    yamlio.check_limits(text, path)
    return yamlio._load(text, path)


def assert_same(text: str) -> None:
    assert _outcome(parse_yaml, text) == _outcome(_loader, text)


def test_the_one_pass_reader_builds_the_common_case_itself():
    """Not a formality: an answers file is built from the events, not handed to the loader."""
    text = (ROOT / "examples" / "northwind-early-b.yaml").read_text()
    assert yamlio._scan(text, "x.yaml") is not yamlio._SLOW
    assert yamlio._scan("a: &x 1\nb: *x\n") is yamlio._SLOW


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_file_reads_as_the_loader_reads_it(path: Path):
    assert_same(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", [c for c, (_, text) in hostile_corpus.CASES.items()
                                  if text is not None and len(text) < 1_000_000])
def test_every_hostile_case_reads_or_fails_as_the_loader_does(case: str):
    assert_same(hostile_corpus.CASES[case][1])


# Plain scalars YAML 1.1 reads as something other than text, or that our loader refuses or keeps as text.
TRAPS = ["yes", "No", "on", "OFF", "y", "~", "null", "", "true", "1", "-1", "+7", "0x1F", "0o17", "017", "0b101",
         "1_000", "1:30", "190:20:30", "1.5", "-.5", "1e3", "1.0e+3", ".inf", "-.Inf", ".nan", "NaN", "2026-10-15",
         "2026-02-30", "2026-10-15 10:00:00", "2026-10-15T10:00:00Z", "<<", "=", "done", "a b", "'quoted'",
         '"double"', "!!str 12", "!!int 12", "!!int abc", "!!float 1", "!!bool yes", "!!null ''", "!!timestamp abc",
         "!!binary aGk=", "!local x", "[1, 2]", "{a: 1}", "[]", "{}", "&anchor 1", "*anchor", "café", "x: y"]
KEYS = ["a", "b", "yes", "1", "~", "<<", "2026-10-15", "a", "[k]", "? c", "'a'"]


@st.composite
def documents(draw, depth: int = 0) -> str:
    """A block mapping of keys (duplicates and odd keys included) to traps and nested blocks."""
    lines = []
    indent = "  " * depth
    for _ in range(draw(st.integers(1, 5))):
        key = draw(st.sampled_from(KEYS))
        shape = draw(st.sampled_from(["scalar", "scalar", "map", "list", "flow"] if depth < 3 else ["scalar"]))
        if shape == "scalar":
            lines.append(f"{indent}{key}: {draw(st.sampled_from(TRAPS))}")
        elif shape == "map":
            lines.append(f"{indent}{key}:")
            lines.append(draw(documents(depth + 1)))
        elif shape == "list":
            lines.append(f"{indent}{key}:")
            lines += [f"{indent}  - {v}" for v in draw(st.lists(st.sampled_from(TRAPS), min_size=1, max_size=4))]
        else:
            values = draw(st.lists(st.sampled_from(["1", "yes", "a", "'b'", "2026-10-15", "~", "[x]"]), max_size=4))
            lines.append(f"{indent}{key}: [{', '.join(values)}]")
        if draw(st.booleans()):
            lines.append(f"{indent}# a comment")
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(documents(), st.sampled_from(["", "---\n", "--- !!map\n", "%YAML 1.1\n---\n"]),
       st.sampled_from(["", "\n", "\n---\nsecond: doc\n", "\n...\n"]))
def test_generated_documents_read_as_the_loader_reads_them(body: str, head: str, tail: str):
    assert_same(head + body + tail)
