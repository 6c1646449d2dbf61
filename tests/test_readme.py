"""The README's set-up is true: CI runs exactly its test command."""

from __future__ import annotations

import re

from conftest import ROOT


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set-up.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has a Set-up section with a sh block"
    return [ln for ln in block.group(1).splitlines() if ln.strip()]


def test_readme_opens_with_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2
    assert "kam-advisor" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _setup_commands()[1] in ci


def test_the_python_versions_the_readme_states_are_the_package_s():
    import tomllib
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    readme = (ROOT / "README.md").read_text()
    assert requires == ">=3.11,<3.13"  # durable-rules 2.0.28 does not build on 3.13 (PyEval_CallObject)
    assert f'`requires-python = "{requires}"`' in readme
    assert "CFLAGS=-DPyEval_CallObject=PyObject_CallObject" in readme
    assert "## Set-up (fresh machine, Python 3.11 or 3.12)" in readme
