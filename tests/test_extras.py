"""The optional parts (pyproject extras): a command that needs one that is not installed says in
one line which to install, exit code 2, never a traceback."""

from __future__ import annotations

import sys
import tomllib

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli.app import main


def test_the_heavy_parts_are_extras_and_the_test_extra_pulls_them_all_in():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    assert "playwright" not in core and "psycopg" not in core
    assert [d.split(">")[0] for d in extras["pdf"]] == ["playwright"]
    assert [d.split(">")[0] for d in extras["postgres"]] == ["psycopg[binary]"]
    assert extras["all"] == ["kam-advisor[pdf,postgres,pptx]"]
    assert "kam-advisor[all]" in extras["test"]


def one_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1, res.output
    return res.output.strip()


def test_a_pdf_report_without_playwright_names_the_pdf_extra(tmp_path, monkeypatch):
    for name in ("playwright", "playwright.sync_api"):
        monkeypatch.setitem(sys.modules, name, None)  # `import` of it raises ImportError
    out = tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", "--example", "northwind-early-b", "--format", "pdf", "-o", str(out)])
    assert one_line(res) == "kam-advisor: a PDF report needs the pdf extra: pip install 'kam-advisor[pdf]'"
    assert not out.exists()


@pytest.mark.parametrize("url", ["postgresql://kam@localhost/kam", "postgres://kam@localhost/kam",
                                 "postgresql+psycopg://kam@localhost/kam"])
def test_a_postgresql_database_without_psycopg_names_the_postgres_extra(url, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    res = CliRunner().invoke(main, ["history", "Northwind", "--db", url])
    assert one_line(res) == ("kam-advisor: a postgresql:// history database needs the postgres extra: "
                             "pip install 'kam-advisor[postgres]'")
