"""Shared fixtures: the built-in knowledge base and rules, loaded once per test session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from kam_advisor.data import knowledge
from kam_advisor.data.paths import data_dir

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"

# the on-disk cache of validated data goes to a folder of this test run, never the user's
# (set before any test module loads the knowledge base; inherited by subprocesses)
_CACHE_DIR = tempfile.mkdtemp(prefix="kam-advisor-test-cache-")
os.environ["KAM_ADVISOR_CACHE"] = _CACHE_DIR


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def kb():
    return knowledge.load()


@pytest.fixture()
def kb_copy(tmp_path) -> Path:
    """A writable copy of the built-in knowledge base, for breaking it on purpose."""
    target = tmp_path / "knowledge"
    shutil.copytree(data_dir("knowledge"), target)
    return target


def questionnaire_cli():
    """The questionnaire commands (run, questionnaire ...) mounted on a bare group, as in the CLI."""
    import click

    from kam_advisor.cli.questionnaire import questionnaire, run

    @click.group()
    @click.pass_context
    def main(ctx):
        ctx.obj = {"kb_dir": None}

    main.add_command(run)
    main.add_command(questionnaire)
    return main


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium (or $KAM_ADVISOR_CHROMIUM); skipped when missing, a failure under CI."""
    import os

    from kam_advisor.render.pdf import find_browser
    found = find_browser()
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install it: apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return found
