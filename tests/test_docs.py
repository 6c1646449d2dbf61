"""The README and docs point at what exists: every repository path they name in backticks or a
link, and every `kam-advisor ...` command line they show (its command and its options).

docs/panel/ is left out: its rounds are records of what the panel saw at the time."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from conftest import ROOT
from kam_advisor.cli.app import main

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_FOLDERS = ("kam_advisor/", "knowledge/", "rules/", "questionnaires/", "examples/", "tests/", "bench/",
               "tools/", "docs/", ".ci/")
PLACEHOLDER = re.compile(r"[*{}<>]|\.\.\.|[A-Z]{3,}")  # `questionnaires/<id>.yaml`, `docs/panel/round-N/...`


def named_paths(text: str) -> set[str]:
    words = {w for code in re.findall(r"`([^`\n]+)`", text) for w in code.split()}
    words |= {link for link in re.findall(r"\]\(([^)\s#]+)", text) if "://" not in link}
    return {w.strip("()[],;:'\"").split("::")[0] for w in words}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_file_a_document_names_exists(doc):
    text = doc.read_text()
    missing = []
    for path in sorted(named_paths(text)):
        if PLACEHOLDER.search(path):
            continue
        if path.startswith(TOP_FOLDERS):
            found = (ROOT / path).exists()
        elif path.endswith(".md") and "/" in path or path.startswith("../"):  # a relative link
            found = (doc.parent / path).exists()
        else:
            continue
        if not found:
            missing.append(path)
    assert missing == [], f"{doc.name} names files that do not exist: {missing}"


def command_lines(text: str) -> list[str]:
    lines = [ln for block in re.findall(r"```sh\n(.*?)```", text, re.S)
             for ln in block.replace("\\\n", " ").splitlines()]
    lines += re.findall(r"`(kam-advisor [^`]+)`", text)
    out = []
    for line in lines:
        for part in re.split(r"&&|\||;", line.split("  #")[0]):
            found = re.search(r"(?:^|/)kam-advisor\s+(.*)", part.strip())
            if found:
                out.append(found.group(1))
    return out


def check_line(args: str) -> list[str]:
    ctx = click.Context(main, info_name="kam-advisor")
    words = args.replace("[", " ").replace("]", " ").split()
    while words and words[0] in ("--kb", "--rules"):
        words = words[2:]
    command, used = main, 0
    for word in words:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, word)
        if sub is None:
            if re.fullmatch(r"[a-z][a-z-]*", word):
                return [f"no command {word!r}"]
            break
        command, used = sub, used + 1
    known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    return [f"no option {w}" for w in (w.split("=")[0] for w in words[used:])
            if re.fullmatch(r"--?[a-z][a-z0-9-]*", w) and w not in known]


def test_the_documents_show_command_lines():
    assert len([line for doc in DOCS for line in command_lines(doc.read_text())]) > 50


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_line_a_document_shows_exists(doc):
    problems = [f"kam-advisor {line}: {problem}" for line in command_lines(doc.read_text())
                for problem in check_line(line)]
    assert problems == []


def test_a_wrong_command_or_option_is_caught():
    assert check_line("report --answers a.yaml --outptu r.html") == ["no option --outptu"]
    assert check_line("questionnaire tempalte full-audit") == ["no command 'tempalte'"]
    assert check_line("assess --answers a.yaml -o out.json") == []
