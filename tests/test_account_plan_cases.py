"""Rule cases for the account and plan rules: hand-made accounts, portfolios and plans
(tests/cases/accounts/*.yaml, tests/cases/plans/*.yaml) and which rules they must (not) fire.

Like tests/test_cases.py for the programme rules (and semgrep's rule tests): every rule of
rules/accounts.yaml and rules/plans.yaml must fire in some case, and every rule that reports a
problem (one with a `severity`: doubtful accounts, the portfolio findings, the plan findings)
needs a case listing it under `must_fire:` and one under `must_not_fire:`.

An account case is a small CRM export (`accounts:`, one entry per row, columns as in
`accounts template`; `repeat: N` repeats a row with {n} = 1..N in its name, id and manager),
scored by `score_portfolio`, optionally against an earlier portfolio (`previous:`, scored first
and written as `accounts score --format json` writes it). A plan case is the complete plan of
tests/fixtures/plans/complete.yaml with fields changed (`set:`, dotted paths, list items by
number; `{repeat: N, each: ...}` makes a list) or dropped (`drop:`), checked as of `as_of:`;
or the answers of the `ka-plan` questionnaire (`answers:`).

`must_fire` is read from the results (the `rule` of each quadrant, move, flag and finding);
`must_not_fire` from everything the rules emitted, so that a rule whose record another one
replaced under the same id (e.g. the medium and the high band of one finding) still counts.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path

import pytest
import yaml

from kam_advisor.data import rules as rules_mod
from kam_advisor.reasoning.inference import Sink
from kam_advisor.render.accounts import write_json
from kam_advisor.results import account, plan as plan_mod
from kam_advisor.results.assess import assess_files
from kam_advisor.results.bases import load_bases

HERE = Path(__file__).parent
COMPLETE_PLAN = HERE / "fixtures" / "plans" / "complete.yaml"
AS_OF = dt.date(2026, 11, 10)  # the complete plan's reviews are on time (14 and 28 days before)
RULES = rules_mod.load()


def rules_of(file_name: str) -> list[str]:
    return [r for r, spec in RULES.rules.items() if Path(spec.file).name == file_name]


def findings_of(rule_ids: list[str]) -> list[str]:
    """The rules that report a problem: those that give it a severity."""
    return [r for r in rule_ids if "severity" in RULES.rules[r].then]


ACCOUNT_RULES = rules_of("accounts.yaml")
PLAN_RULES = rules_of("plans.yaml")

ACCOUNT_KEYS = {"name", "why", "accounts", "previous", "must_fire", "must_not_fire"}
PLAN_KEYS = {"name", "why", "as_of", "set", "drop", "answers", "must_fire", "must_not_fire"}
ROW_KEYS = {"id", "name", "key_account", "manager", "revenue", "ratings", "buysell_level", "treats_us_as_key",
            "price_only", "repeat"}


def read_cases(folder: str) -> list[tuple[str, dict]]:
    """(id, case) for every case in tests/cases/<folder>/*.yaml."""
    out = []
    for path in sorted((HERE / "cases" / folder).glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            out.append((f"{folder}/{path.stem}/{case['name']}", case))
    return out


ACCOUNT_CASES = read_cases("accounts")
PLAN_CASES = read_cases("plans")


class Emitted:
    """Records the rule of every record the engine emits while it is on (a spy on Sink.add)."""

    def __init__(self):
        self.rules: set[str] | None = None

    def __enter__(self):
        self.rules = set()
        return self.rules

    def __exit__(self, *exc):
        self.rules = None


@pytest.fixture(scope="module")
def bases():
    return load_bases()


@pytest.fixture(scope="module")
def emitted():
    spy = Emitted()
    original = Sink.add

    def add(sink, fid, rtype, rule, *args):
        if spy.rules is not None:
            spy.rules.add(rule)
        return original(sink, fid, rtype, rule, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Sink, "add", add)
        yield spy


# --- accounts -----------------------------------------------------------------------------------

def _yes_no(value) -> str:
    return "" if value is None else "yes" if value is True else "no" if value is False else str(value)


def write_accounts(path: Path, rows: list[dict], criteria: list[str]) -> Path:
    """A CRM export of the case's rows, with the columns of `accounts template`."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "name", "key_account", "manager", "revenue", *criteria, "buysell_level",
                    "treats_us_as_key", "price_only"])
        for spec in rows:
            assert not set(spec) - ROW_KEYS, f"unknown columns {sorted(set(spec) - ROW_KEYS)}"
            for n in range(1, spec.get("repeat", 1) + 1):
                ratings = spec.get("ratings")
                if not isinstance(ratings, dict):
                    ratings = dict.fromkeys(criteria, ratings)
                assert not set(ratings) - set(criteria), f"unknown criteria {sorted(set(ratings) - set(criteria))}"
                fill = (lambda v: "" if v is None else str(v).replace("{n}", str(n)))
                w.writerow([fill(spec.get("id")), fill(spec["name"]), _yes_no(spec.get("key_account")),
                            fill(spec.get("manager")), fill(spec.get("revenue")),
                            *(fill(ratings.get(c)) for c in criteria), fill(spec.get("buysell_level")),
                            _yes_no(spec.get("treats_us_as_key")), _yes_no(spec.get("price_only"))])
    return path


def account_rules_in(result: dict) -> set[str]:
    """The rules behind a portfolio result: each account's quadrant, move, move since the earlier
    portfolio, flags and reviews, and the portfolio's findings."""
    fired = set()
    for a in result["accounts"]:
        fired.add(a["quadrant"]["rule"])
        fired.update(a[key]["rule"] for key in ("move", "moved") if a[key])
        fired.update(f["rule"] for f in a["flags"])
        fired.update(r["rule"] for r in a["reviews"])
    fired.update(f["rule"] for f in result["findings"])
    return fired


def run_account_case(case: dict, folder: Path, bases, emitted: Emitted) -> tuple[dict, set[str], set[str]]:
    kb, base = bases
    criteria = [k for k, _ in account.criteria(kb)]
    previous = None
    if case.get("previous"):
        run = account.open_portfolio(write_accounts(folder / "previous.csv", case["previous"], criteria), kb, base)
        previous = folder / "previous.json"
        with open(previous, "w", encoding="utf-8") as handle:
            assert not write_json(handle, run)["skipped"], "rows of the earlier portfolio were skipped"
    with emitted as rules:
        result = account.score_portfolio(write_accounts(folder / "accounts.csv", case["accounts"], criteria),
                                         kb, base, previous_file=previous)
    return result, account_rules_in(result), rules


@pytest.fixture(scope="module")
def account_runs(bases, emitted, tmp_path_factory) -> dict[str, tuple[dict, set[str], set[str]]]:
    """Every account case scored once: {case id: (result, rules in the result, rules emitted)}."""
    return {cid: run_account_case(case, tmp_path_factory.mktemp("account-case"), bases, emitted)
            for cid, case in ACCOUNT_CASES}


# --- plans --------------------------------------------------------------------------------------

def _expand(value):
    if isinstance(value, dict) and set(value) == {"repeat", "each"}:
        return [{k: str(v).replace("{n}", str(n)) if isinstance(v, str) else v for k, v in value["each"].items()}
                for n in range(1, value["repeat"] + 1)]
    return value


def _walk(data, dotted: str):
    """(container, key) of a dotted path; list items by number."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, (int(last) if isinstance(node, list) else last)


def plan_data(case: dict) -> dict:
    data = copy.deepcopy(yaml.safe_load(COMPLETE_PLAN.read_text(encoding="utf-8")))
    for dotted in case.get("drop") or []:
        node, key = _walk(data, dotted)
        del node[key]
    for dotted, value in (case.get("set") or {}).items():
        node, key = _walk(data, dotted)
        node[key] = _expand(value)
    return data


def run_plan_case(case: dict, folder: Path, bases, emitted: Emitted) -> tuple[dict, set[str], set[str]]:
    kb, base = bases
    if "answers" in case:
        assert not {"set", "drop", "as_of"} & set(case), "an answers case changes no plan file"
        path = folder / "answers.yaml"
        path.write_text(yaml.safe_dump({"questionnaire": "ka-plan", "answers": case["answers"]}), encoding="utf-8")
        with emitted as rules:
            result = assess_files([path])
        assert result["kind"] == "plan"
    else:
        path = folder / "plan.yaml"
        path.write_text(yaml.safe_dump(plan_data(case), sort_keys=False), encoding="utf-8")
        with emitted as rules:
            result = plan_mod.check_plan_file(path, kb, base, case.get("as_of", AS_OF))
    return result, {f["rule"] for f in result["findings"]}, rules


@pytest.fixture(scope="module")
def plan_runs(bases, emitted, tmp_path_factory) -> dict[str, tuple[dict, set[str], set[str]]]:
    """Every plan case checked once: {case id: (result, rules in the result, rules emitted)}."""
    return {cid: run_plan_case(case, tmp_path_factory.mktemp("plan-case"), bases, emitted)
            for cid, case in PLAN_CASES}


# --- the tests ----------------------------------------------------------------------------------

def check_case(case: dict, keys: set[str], rule_ids: list[str], file_name: str, in_result: set[str],
               emitted_rules: set[str]) -> None:
    assert not set(case) - keys, f"unknown keys {sorted(set(case) - keys)}"
    named = (case.get("must_fire") or []) + (case.get("must_not_fire") or [])
    assert named, "the case states no expectation (`must_fire:` / `must_not_fire:`)"
    unknown = [r for r in named if r not in rule_ids]
    assert not unknown, f"not rules of rules/{file_name}: {unknown}"
    assert in_result <= emitted_rules  # the spy sees every rule the results name
    missing = set(case.get("must_fire") or []) - in_result
    assert not missing, f"rules that did not fire: {sorted(missing)} (fired: {sorted(in_result)})"
    wrong = set(case.get("must_not_fire") or []) & emitted_rules
    assert not wrong, f"rules that fired: {sorted(wrong)}"


@pytest.mark.parametrize("cid, case", ACCOUNT_CASES, ids=[c for c, _ in ACCOUNT_CASES])
def test_account_case(account_runs, cid, case):
    result, in_result, emitted_rules = account_runs[cid]
    assert result["skipped"] == [], "rows of the case were skipped"
    check_case(case, ACCOUNT_KEYS, ACCOUNT_RULES, "accounts.yaml", in_result, emitted_rules)


@pytest.mark.parametrize("cid, case", PLAN_CASES, ids=[c for c, _ in PLAN_CASES])
def test_plan_case(plan_runs, cid, case):
    result, in_result, emitted_rules = plan_runs[cid]
    check_case(case, PLAN_KEYS, PLAN_RULES, "plans.yaml", in_result, emitted_rules)
    # the score is the findings' penalties taken from 100: every finding the rules emitted counts
    assert result["score"]["value"] == max(0, 100 - sum(f["penalty"] for f in result["findings"]))


def test_case_names_are_unique():
    for cases in (ACCOUNT_CASES, PLAN_CASES):
        ids = [c for c, _ in cases]
        assert len(ids) == len(set(ids)), sorted(c for c in ids if ids.count(c) > 1)


@pytest.mark.parametrize("rule", ACCOUNT_RULES)
def test_every_account_rule_fires_in_some_case(account_runs, rule):
    assert any(rule in fired for _, fired, _ in account_runs.values()), (
        f"rule '{rule}' (rules/accounts.yaml) never fires in tests/cases/accounts/*.yaml: add a case in which "
        "it fires (and list it under `must_fire:`)")


@pytest.mark.parametrize("rule", PLAN_RULES)
def test_every_plan_rule_fires_in_some_case(plan_runs, rule):
    assert any(rule in fired for _, fired, _ in plan_runs.values()), (
        f"rule '{rule}' (rules/plans.yaml) never fires in tests/cases/plans/*.yaml: add a case in which "
        "it fires (and list it under `must_fire:`)")


FINDING_RULES = [("accounts", r) for r in findings_of(ACCOUNT_RULES)] + [("plans", r) for r in findings_of(PLAN_RULES)]


@pytest.mark.parametrize("folder, rule", FINDING_RULES, ids=[r for _, r in FINDING_RULES])
@pytest.mark.parametrize("key", ["must_fire", "must_not_fire"])
def test_every_finding_rule_has_a_case_that_must_fire_it_and_one_that_must_not(folder, rule, key):
    cases = ACCOUNT_CASES if folder == "accounts" else PLAN_CASES
    listed = [cid for cid, case in cases if rule in (case.get(key) or [])]
    assert listed, (f"rule '{rule}' ({Path(RULES.rules[rule].file).name}) reports a problem but no case in "
                    f"tests/cases/{folder}/*.yaml lists it under `{key}:`")


def test_the_finding_rules_are_the_ones_that_report_a_problem():
    """The data decides which rules need both kinds of case; this pins what it decides today."""
    accounts = findings_of(ACCOUNT_RULES)
    assert {"account.commodity", "account.price-only"} <= set(accounts)
    assert {r for r in ACCOUNT_RULES if r.startswith("portfolio.")} <= set(accounts)
    assert not [r for r in accounts if r.startswith(("account.quadrant.", "account.move", "account.not-scored"))]
    assert findings_of(PLAN_RULES) == PLAN_RULES
