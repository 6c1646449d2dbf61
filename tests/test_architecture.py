"""The package's layers: every subpackage sits in one layer and imports only from layers below."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import kam_advisor

ROOT = Path(__file__).resolve().parent.parent


def _contract() -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"][0]


def test_every_subpackage_has_a_layer():
    named = set()
    for layer in _contract()["layers"]:
        named |= {part.strip(" ()") for part in layer.split("|")}
    subpackages = {f"kam_advisor.{m.name}" for m in pkgutil.iter_modules(kam_advisor.__path__) if m.ispkg}
    assert subpackages - {"kam_advisor._data"} <= named


def test_imports_only_go_down_the_layers(monkeypatch):
    from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == EXIT_STATUS_SUCCESS


def test_the_package_is_checked_for_import_cycles():
    # test_imports_only_go_down_the_layers runs every contract; this one keeps the cycle check there
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    acyclic = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "acyclic_siblings"]
    assert [c["ancestors"] for c in acyclic] == [["kam_advisor"]]
    assert "depth" not in acyclic[0] and "skip_descendants" not in acyclic[0]
