"""The contract between rules and code: every fact type and field a rule reads or writes is
declared in rules/types.yaml, an undeclared one is a file:line error (exit 2), and the facts
Python asserts and the rules emit are exactly the declared ones."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli import main
from kam_advisor.data import rules as rules_mod
from kam_advisor.data.paths import data_dir
from kam_advisor.reasoning.inference import infer
from kam_advisor.results import assessment

EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def broken_rules(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, Path, int]:
    """A copy of the built-in rules with `old` replaced once by `new`: (folder, file, line of the change)."""
    folder = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), folder)
    path = folder / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    line = text[:text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return folder, path, line


def assess_with(rules_folder: Path):
    return CliRunner().invoke(main, ["--rules", str(rules_folder), "assess", "--example", "northwind-early-b"])


@pytest.mark.parametrize("file,old,new,message", [
    ("red-flags.yaml", "name: volume_bonus_pct,", "name: volume_bonus_pcnt,",
     "rule 'flag.volume-bonus': unknown fact 'volume_bonus_pcnt'; did you mean 'volume_bonus_pct'? "
     "(named facts are declared in rules/facts.yaml)"),
    ("red-flags.yaml", "level: topic, not_started: {gt: 0}", "level: topic, not_startd: {gt: 0}",
     "rule 'flag.stage-skipping': fact type 'cell' has no field 'not_startd'; did you mean 'not_started'? "
     "(fields are declared in rules/types.yaml)"),
    ("red-flags.yaml", "({early.not_started_texts:and})\"\n      advice", "({early.not_start_texts:and})\"\n      advice",
     "rule 'flag.stage-skipping': placeholder '{early.not_start_texts:and}' in text: fact type 'cell' has no field "
     "'not_start_texts'; did you mean 'not_started_texts'? (fields are declared in rules/types.yaml)"),
    ("recommendations.yaml", "      - u: {type: unit_state, level: topic, assessed: true, "
     "current_rank: {lt: {ref: o.current_rank}}}",
     "      - u: {type: unit_state, level: topic, assessed: true, current_rank: {lt: {ref: o.curent_rank}}}",
     "rule 'rec.lagging.started': ref 'o.curent_rank': fact type 'unit_state' has no field 'curent_rank'; did you "
     "mean 'current_rank'? (fields are declared in rules/types.yaml)"),
    ("scores.yaml", "{type: coverage, scope_ratio: {lt: {param: confidence_medium}}}",
     "{type: coverag, scope_ratio: {lt: {param: confidence_medium}}}",
     "rule 'confidence.low': unknown fact type 'coverag'; did you mean 'coverage'? (declared types: cell, facet, "
     "fact, coverage, rollup, cell_met, reach, unit_state, band, confidence, recommendation, roadmap, flag, "
     "headline, lag, imbalance, holdback, skipping, screening, account, portfolio, manager_load, plan, account_flag, move, moved, "
     "plan_finding, portfolio_flag, quadrant, review)"),
    ("red-flags.yaml", "      emit: flag\n      id: flag.no-sponsor", "      emit: flags\n      id: flag.no-sponsor",
     "rule 'flag.no-sponsor': emits unknown fact type 'flags'; did you mean 'flag'? (declared types: cell, facet, "
     "fact, coverage, rollup, cell_met, reach, unit_state, band, confidence, recommendation, roadmap, flag, "
     "headline, lag, imbalance, holdback, skipping, screening, account, portfolio, manager_load, plan, account_flag, move, moved, "
     "plan_finding, portfolio_flag, quadrant, review)"),
    ("red-flags.yaml", "      emit: flag\n      id: flag.no-sponsor", "      emit: cell\n      id: flag.no-sponsor",
     "rule 'flag.no-sponsor': emits 'cell', a base fact type asserted by Python; rules emit derived types"),
    ("stages.yaml", 'id: "state:{r.unit}"', 'id: "stat:{r.unit}"',
     "rule 'state.top': id 'stat:{r.unit}' does not have the shape of a 'unit_state' id ('state:{unit}'; the "
     "result finds these records by id)"),
    ("scores.yaml", "fields: {level: high}", "fields: {levl: high}",
     ["rule 'confidence.high': emits 'confidence' with field 'levl', which the type does not declare; did you mean "
      "'level'?", "rule 'confidence.high': emits 'confidence' without field 'level' (every declared field must be "
      "given)"]),
])
def test_an_undeclared_type_or_field_in_a_rule_is_a_load_error(tmp_path, file, old, new, message):
    folder, path, line = broken_rules(tmp_path, file, old, new)
    if "\n" in old:  # the change is on the second line of the replaced text
        line += next(n for n, (a, b) in enumerate(zip(old.splitlines(), new.splitlines())) if a != b)
    res = assess_with(folder)
    assert res.exit_code == 2, res.output
    if isinstance(message, str):
        assert res.output == f"kam-advisor: {path}:{line}: {message}\n"
    else:  # several problems: one line each
        assert res.output == "".join(f"{path}:{line}: {m}\n" for m in message)


def test_a_rule_that_emits_a_type_without_one_of_its_fields_is_a_load_error(tmp_path):
    folder, path, line = broken_rules(tmp_path, "scores.yaml", "fields: {facet: {ref: f.facet}, band: high}",
                                      "fields: {facet: {ref: f.facet}}")
    res = assess_with(folder)
    assert res.exit_code == 2, res.output
    assert res.output == (f"kam-advisor: {path}:{line}: rule 'facet.band.high': emits 'band' without field 'band' "
                          "(every declared field must be given)\n")


def test_a_flag_without_advice_is_a_load_error(tmp_path):
    old = ("      text: \"No senior executive sponsors the KAM programme.\"\n      advice: \"An organisational change of "
           "this magnitude requires high-level sponsorship, preferably C-suite; board members can each sponsor "
           "key accounts and visit them regularly.\"\n")
    folder, path, _ = broken_rules(tmp_path, "red-flags.yaml", old,
                                   "      text: \"No senior executive sponsors the KAM programme.\"\n")
    emit_line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if t == "      id: flag.no-sponsor") - 1
    res = assess_with(folder)
    assert res.exit_code == 2, res.output
    assert res.output == (f"kam-advisor: {path}:{emit_line}: rule 'flag.no-sponsor': emits 'flag' without 'advice' "
                          "(the result reads it)\n")


def test_a_rules_folder_without_type_declarations_is_refused(tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(data_dir("rules"), folder)
    (folder / "types.yaml").unlink()
    res = assess_with(folder)
    assert res.exit_code == 2, res.output
    assert res.output == (f"kam-advisor: {folder}: no fact types declared: expected a 'kind: types' file "
                          "(rules/types.yaml)\n")


@pytest.mark.parametrize("name,kind", [("facts.yaml", "facts"), ("red-flags.yaml", "rules"), ("types.yaml", "types")])
def test_a_rules_folder_file_in_the_knowledge_folder_is_refused(kb_copy, name, kind):
    shutil.copy(data_dir("rules") / name, kb_copy / name)
    line = next(n for n, t in enumerate((kb_copy / name).read_text().splitlines(), 1) if t.startswith("kind:"))
    res = CliRunner().invoke(main, ["kb", "validate", str(kb_copy)])
    assert res.exit_code == 2, res.output
    assert res.output == (f"kam-advisor: {kb_copy / name}:{line}: kind must be one of attractiveness, "
                          "buy-sell-hierarchy, checklist, conflicts, facets, glossary, ka-plan, manifest, stages, transition "
                          f"(got '{kind}')\n")


# --- what Python asserts and the rules emit is what is declared ---------------------------------

@pytest.fixture(scope="module")
def runs():
    """Inference over the examples and the golden cases: every kind of fact occurs somewhere."""
    from test_cases import CASES, evidence_for, read_case
    kb, base = assessment.load_bases()
    evidences = [assessment.evidence_from_files([p], kb, base.facts)[0] for p in EXAMPLES]
    evidences += [evidence_for(read_case(p), kb) for p in CASES]
    return base, [infer(e, kb, base) for e in evidences]


def _shape(record_id: str) -> re.Pattern:
    return re.compile("".join(".+" if part.startswith("{") or part == "*" else re.escape(part)
                              for part in re.split(r"(\{[^}]*\}|\*)", record_id)) + r"\Z")


@pytest.mark.parametrize("origin", ["base", "derived"])
def test_the_fields_of_every_fact_are_exactly_the_declared_ones(runs, origin):
    base, results = runs
    # the programme's types: the account and plan rules run on facts of their own (tests/test_accounts.py)
    programme = {t for spec in base.rules.values() if Path(spec.file).name not in ("accounts.yaml", "plans.yaml")
                 for t in [spec.then["emit"], *(p["type"] for _, p in spec.when)]}
    declared = {t: set(spec["fields"]) for t, spec in base.types.items() if spec["origin"] == origin and t in programme}
    seen: dict[str, set[str]] = {}
    for run in results:
        records = run.facts.values() if origin == "base" else run.findings.values()
        for record in records:
            fields = set(record.fields) - {"t", "id"}
            assert record.type in declared, f"{record.id}: type '{record.type}' is not a declared {origin} type"
            optional = set(base.types[record.type].get("optional", ()))
            assert declared[record.type] - optional <= fields <= declared[record.type], (
                f"{record.id}: fields {sorted(fields ^ declared[record.type])} differ from rules/types.yaml")
            shape = base.types[record.type].get("record_id")
            assert shape is None or _shape(shape).match(record.id), f"{record.id} does not have the shape {shape}"
            seen.setdefault(record.type, set()).update(fields)
    assert set(seen) == set(declared), f"declared {origin} types never produced: {sorted(set(declared) - set(seen))}"


def test_every_declared_type_is_read_or_written_by_a_rule():
    base = rules_mod.load()
    used = {p["type"] for spec in base.rules.values() for _, p in spec.when}
    used |= {spec.then["emit"] for spec in base.rules.values()}
    assert set(base.types) == used


# --- values: every value a rule tests or emits is of the field's declared type ------------------

@pytest.mark.parametrize("file,old,new,message", [
    ("recommendations.yaml", "level: topic, assessed: true, foundation: true", "level: topc, assessed: true, foundation: true",
     "rule 'rec.foundation.started': unit_state.level is tested against 'topc', which is not one of topic, area, "
     "dimension, overall; did you mean 'topic'?"),
    ("stages.yaml", "passes: true, status: met}", "passes: true, status: mett}",
     "rule 'cell.met.threshold': emits cell_met.status 'mett', which is not one of met, unmet, unknown, "
     "not_applicable, none, not_assessed; did you mean 'met'?"),
    ("stages.yaml", "{type: cell, assessed: true, total: 0}", "{type: cell, assessed: true, total: zero}",
     "rule 'cell.none': cell.total is tested against 'zero', text, but the field is an integer"),
    ("scores.yaml", "fields: {level: high}", "fields: {level: 3}",
     "rule 'confidence.high': emits confidence.level 3, an integer, but the field is grade (text)"),
    ("scores.yaml", "fields: {level: high}", "fields: {level: hihg}",
     "rule 'confidence.high': emits confidence.level 'hihg', which is not one of high, medium, low; did you mean "
     "'high'?"),
    ("stages.yaml", "passes: true, status: met}", "passes: true, status: null}",
     "rule 'cell.met.threshold': emits cell_met.status null, but the field is never null"),
    ("stages.yaml", "ratio: {gte: {param: cell_threshold}}", "stage_name: {gte: {param: cell_threshold}}",
     "rule 'cell.met.threshold': cell.stage_name is compared (gte), but it is text, not a number"),
    ("stages.yaml", "{type: cell, assessed: true, total: 0}", "{type: cell, assessed: 'true', total: 0}",
     "rule 'cell.none': cell.assessed is tested against 'true', text, but the field is a boolean (true or false)"),
    ("red-flags.yaml", "      phase: 90d\n", "      phase: 90days\n",
     None),  # the phase of whichever rule comes first
    ("accounts.yaml", "box: mutual.key", "box: mutual.kye",
     None),
    ("accounts.yaml", "box: {in: [mutual.maintenance, mutual.minimal]}", "box: {in: [mutual.maintenance, mutual.minimum]}",
     "rule 'account.move-out': quadrant.box is tested against 'mutual.minimum', which is not one of mutual.key, "
     "mutual.maintenance, mutual.build, mutual.minimal, none; did you mean 'mutual.minimal'?"),
    ("accounts.yaml", "buysell: commodity, any_of: [{is_key: true}", "buysell: commodity, any_of: [{is_key: 'yes'}",
     "rule 'account.commodity': account.is_key is tested against 'yes', text, but the field is a boolean (true or "
     "false)"),
    ("red-flags.yaml", "name: has_senior_sponsor, value: false", "name: has_senior_sponsor, value: 'no'",
     "rule 'flag.no-sponsor': fact.value of fact 'has_senior_sponsor' is tested against 'no', text, but the field is "
     "a boolean (true or false)"),
    ("red-flags.yaml", "name: kam_owned_by_sales, value: true", "name: kam_owned_by_sales, value: {gt: 1}",
     "rule 'flag.sales-initiative': fact.value of fact 'kam_owned_by_sales' is compared (gt), but it is a boolean "
     "(true or false), not a number"),
    ("red-flags.yaml", "name: volume_bonus_pct, value: {gt: {param: volume_bonus_high_pct}}",
     "name: volume_bonus_pct, value: {gt: 150}",
     "rule 'flag.volume-bonus.high': fact.value of fact 'volume_bonus_pct' gt 150 never holds: the fact is at most 100 "
     "(rules/facts.yaml)"),
])
def test_a_value_a_rule_tests_or_emits_outside_its_declared_type_is_a_load_error(tmp_path, file, old, new, message):
    folder, path, line = broken_rules(tmp_path, file, old, new)
    res = assess_with(folder)
    assert res.exit_code == 2, res.output
    if message is None:  # the rule is whichever holds the text first: its id is read back from the file
        rule = re.findall(r"- id: (\S+)", path.read_text()[:path.read_text().index(new)])[-1]
        assert res.output.startswith(f"kam-advisor: {path}:{line}: rule '{rule}': ")
        assert "; did you mean" in res.output and res.output.count("\n") == 1
    else:
        assert res.output == f"kam-advisor: {path}:{line}: {message}\n"


@pytest.mark.parametrize("old,new,message", [
    ('unit: {type: topic, about: "the topic id."}', 'unit: {type: topik, about: "the topic id."}',
     "type 'cell', field 'unit': unknown type 'topik'; did you mean 'topic'?"),
    ("level: {type: level, values: [topic], about", "level: {type: level, values: [topik], about",
     "type 'cell', field 'level': value 'topik' is not one of topic, area, dimension, overall; did you mean 'topic'?"),
    ("stage: {type: text, from: stages,", "stage: {type: text, from: stagez,",
     "domain 'stage': unknown source 'stagez'; did you mean 'stages'?"),
    ('from: "records:mutual-box"', 'from: "records:mutual-boxes"',
     "domain 'quadrant': 'records:mutual-boxes' gives no values; did you mean 'records:mutual-box'?"),
])
def test_a_wrong_type_declaration_is_one_load_error(tmp_path, old, new, message):
    folder, path, line = broken_rules(tmp_path, "types.yaml", old, new)
    res = CliRunner().invoke(main, ["rules", "validate", str(folder)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"kam-advisor: {path}:{line}: {message}")
    assert res.output.count("\n") == 1  # no rule is reported for it as well


@pytest.mark.parametrize("origin", ["base", "derived"])
def test_the_values_of_every_fact_are_of_the_declared_types(runs, origin):
    base, results = runs
    from kam_advisor.data import ruletypes
    checked = 0
    for run in results:
        for record in (run.facts.values() if origin == "base" else run.findings.values()):
            for fname, value in record.fields.items():
                ftype = base.field_types.get((record.type, fname))
                if ftype is None:
                    continue
                reason = ruletypes.misfit(value, ftype)
                assert reason is None, f"{record.id}: {fname} = {value!r}, {reason}"
                checked += 1
    assert checked > 1000


def test_rules_validate_checks_a_rules_folder_like_assess(tmp_path):
    ok = CliRunner().invoke(main, ["rules", "validate"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("ok: rules: ")
    folder, path, line = broken_rules(tmp_path, "stages.yaml", "passes: true, status: met}", "passes: true, status: mett}")
    res = CliRunner().invoke(main, ["rules", "validate", str(folder)])
    assert res.exit_code == 2, res.output
    assert res.output == (f"kam-advisor: {path}:{line}: rule 'cell.met.threshold': emits cell_met.status 'mett', which "
                          "is not one of met, unmet, unknown, not_applicable, none, not_assessed; did you mean 'met'?\n")
