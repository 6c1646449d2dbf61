"""The knowledge base, rules and questionnaires are validated once: later loads (in this process
or another) come from a cache keyed by their content, which can never be stale or break a run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from kam_advisor.answers import loader
from kam_advisor.data import cache, knowledge, rules as rules_mod, schema
from kam_advisor.data.errors import DataError
from kam_advisor.data.paths import data_dir
from kam_advisor.results import assessment, bases
from kam_advisor.results import assess

NORTHWIND = ROOT / "examples" / "northwind-early-b.yaml"


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    """An empty cache folder of this test, and no data loaded yet in this process."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(folder))
    monkeypatch.setattr(knowledge, "_CACHE", {})
    monkeypatch.setattr(loader, "_LOADED", {})
    bases._rules_cached.cache_clear()
    yield folder
    bases._rules_cached.cache_clear()


def forget_loaded(monkeypatch):
    """As if in a new process: the in-process caches emptied, the on-disk cache kept."""
    monkeypatch.setattr(knowledge, "_CACHE", {})
    monkeypatch.setattr(loader, "_LOADED", {})
    bases._rules_cached.cache_clear()


def no_validation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validated again although the files did not change")
    monkeypatch.setattr(schema, "validate", refuse)


def test_a_second_process_reads_validated_data_from_the_cache(cache_dir, monkeypatch):
    first = assessment.dumps(assess.assess_files([NORTHWIND]))
    assert sorted(p.name.split("-")[0] for p in cache_dir.iterdir()) == ["knowledge", "questionnaire", "rules"]
    forget_loaded(monkeypatch)
    no_validation(monkeypatch)
    assert assessment.dumps(assess.assess_files([NORTHWIND])) == first


def test_a_changed_file_is_validated_again(cache_dir, kb_copy, monkeypatch):
    assert knowledge.load_cached(kb_copy).stage("A").name == "Scoping KAM"
    stages = kb_copy / "stages.yaml"
    stages.write_text(stages.read_text().replace("name: Scoping KAM", "name: Scoping the programme", 1))
    forget_loaded(monkeypatch)
    assert knowledge.load_cached(kb_copy).stage("A").name == "Scoping the programme"
    stages.write_text(stages.read_text().replace("name: Scoping the programme", "name: Scoping KAM\n    bogus: 1", 1))
    forget_loaded(monkeypatch)
    with pytest.raises(DataError, match="stages.yaml:.*unknown field 'bogus'"):
        knowledge.load_cached(kb_copy)


def test_a_changed_rules_file_is_validated_again(cache_dir, tmp_path, monkeypatch):
    folder = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), folder)
    kb = knowledge.load_cached()
    assert rules_mod.load_cached(folder, kb).param("cell_threshold") == 0.8
    path = folder / "stages.yaml"
    path.write_text(path.read_text().replace("  cell_threshold:\n    value: 0.8\n", "  cell_threshold:\n    value: 0.9\n"))
    assert rules_mod.load_cached(folder, kb).param("cell_threshold") == 0.9


def test_a_corrupt_cache_is_ignored_and_rebuilt(cache_dir, monkeypatch):
    first = assessment.dumps(assess.assess_files([NORTHWIND]))
    entries = sorted(cache_dir.iterdir())
    for n, entry in enumerate(entries):
        entry.write_bytes([b"", b"not a pickle", b"\x80\x05\x95garbage"][n % 3])
    forget_loaded(monkeypatch)
    assert assessment.dumps(assess.assess_files([NORTHWIND])) == first
    forget_loaded(monkeypatch)
    no_validation(monkeypatch)  # rebuilt entries are good again
    assert assessment.dumps(assess.assess_files([NORTHWIND])) == first


def test_an_empty_setting_turns_the_cache_off(cache_dir, monkeypatch):
    monkeypatch.setenv(cache.ENV, "")
    assert assess.assess_files([NORTHWIND])["overall"]["current"] == "B"
    assert not cache_dir.exists()


def test_an_unwritable_cache_folder_is_ignored(cache_dir, monkeypatch):
    cache_dir.write_text("a file where the folder should be")
    assert assess.assess_files([NORTHWIND])["overall"]["current"] == "B"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_entries_in_a_folder_others_can_write_are_never_read(cache_dir, monkeypatch):
    knowledge.load_cached()
    cache_dir.chmod(0o777)
    forget_loaded(monkeypatch)
    no_validation(monkeypatch)
    with pytest.raises(AssertionError, match="validated again"):
        knowledge.load_cached()


def test_the_assess_command_gives_the_same_bytes_from_a_cold_and_a_warm_cache(tmp_path):
    env = {**os.environ, cache.ENV: str(tmp_path / "cache")}
    command = [sys.executable, "-m", "kam_advisor", "assess", "--example", "northwind-early-b", "--format", "json"]
    cold = subprocess.run(command, env=env, capture_output=True, check=True).stdout
    assert len(list((tmp_path / "cache").iterdir())) == 3
    warm = subprocess.run(command, env=env, capture_output=True, check=True).stdout
    assert cold == warm and b'"current": "B"' in cold
