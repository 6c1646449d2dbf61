"""The durable-rules wrapper: compiled rulesets, one short-lived session per run, loud failures.

durable-rules is fast but has sharp edges (see shared notes); this module is the only place that
touches it, and it neutralises them:

- no background timer threads: the host's dispatch loop is replaced by a no-op (the default loop
  calls into the C engine every 0.2 s and crashed under threads);
- rulesets are named after a hash of their content and registered once per process (a name can
  be registered only once and there is no unregister);
- every run uses its own session id, fires a start rule first (deleting a session in which no
  action ever ran segfaults), and deletes its state at the end, whatever happens (finished
  sessions otherwise keep ~2.4 MB each, and at most 1,024 may be live);
- an exception inside an action is captured and re-raised as RuleFailure after the run (the
  engine itself swallows it into the session state);
- re-asserting an identical derived fact is ignored instead of raising MessageObservedException;
- the dicts handed to the engine are deep copies (it mutates them).
- a process-wide lock serialises use of the host; parallel batch runs use processes.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable

import durable_rules_engine
from durable import engine as _durable

from kam_advisor.errors import RuleFailure

START_TYPE = "$start"
BATCH = 1000


class _QuietHost(_durable.Host):
    """A Host without the background dispatch/timer threads."""

    def _run(self):  # noqa: D401 - overriding a private hook on purpose
        return None


_HOST: _QuietHost | None = None
_LOCK = threading.RLock()
_REGISTERED: set[str] = set()
_SIDS = itertools.count(1)


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


@dataclass
class CompiledRule:
    """A rule ready for the engine: durable's condition JSON plus a Python action."""

    id: str
    condition: dict  # {"all": [...]} in durable's JSON syntax
    priority: int
    action: Callable[[dict[str, dict], "Run"], None]  # (matched facts by alias, run)


class Run:
    """State of one session: derived facts go to `sink`, errors are collected."""

    __slots__ = ("sid", "sink", "errors", "pending", "seen")

    def __init__(self, sid: str, sink: Any):
        self.sid = sid
        self.sink = sink
        self.errors: list[str] = []
        self.pending: list[dict] = []
        self.seen: set[str] = set()

    def assert_fact(self, fact: dict) -> None:
        """Queue a derived fact for the session (chaining); a fact id already asserted is ignored
        (durable raises MessageObservedException for an identical fact)."""
        fid = fact.get("id")
        if fid in self.seen:
            return
        self.seen.add(fid)
        fact = dict(fact)
        fact["sid"] = self.sid
        self.pending.append(fact)

    def flush(self, handle) -> None:
        """Assert the queued facts in one engine call; their matches run after the current action."""
        if self.pending:
            batch, self.pending = self.pending, []
            # codes 1 (some fact matched no rule) and 2 (already observed) are harmless here
            durable_rules_engine.assert_facts(handle, json.dumps(batch, ensure_ascii=False))


class Ruleset:
    """A set of compiled rules registered under a content-hash name."""

    def __init__(self, rules: list[CompiledRule], label: str = "kam", fingerprint: str = ""):
        self.rules = {r.id: r for r in rules}
        definition = {}
        for rule in rules:
            entry = copy.deepcopy(rule.condition)
            entry["pri"] = rule.priority
            # batch all pending matches of a rule into one action call: the per-call overhead
            # (JSON round trips of state and messages) dominates durable's cost otherwise
            entry["cap"] = BATCH
            definition[rule.id] = entry
        definition["$start"] = {"all": [{"m": {"t": START_TYPE}}], "pri": 0}
        # the name covers the actions' source too (`fingerprint`): two rule sets with the same
        # conditions but different actions must not share a registration
        digest = hashlib.sha256((json.dumps(definition, sort_keys=True) + fingerprint).encode()).hexdigest()[:16]
        self.name = f"{label}_{digest}"
        self._definition = definition

    def _register(self) -> None:
        if self.name in _REGISTERED:
            return
        definition = copy.deepcopy(self._definition)
        for rule_id in definition:
            definition[rule_id]["run"] = self._make_action(rule_id)
        _host().set_rulesets({self.name: definition})
        _REGISTERED.add(self.name)

    def _make_action(self, rule_id: str):
        rule = self.rules.get(rule_id)
        runs = _ACTIVE
        aliases = _aliases(rule.condition) if rule else []

        def action(c):  # durable requires a plain one-argument function
            run = runs.get(c.s.sid)
            if run is None:
                return
            if rule is None:  # the start rule: fires once so the session may be deleted safely
                return
            try:
                for frame in _frames(c, aliases):
                    rule.action(frame, run)
                run.flush(c._ruleset._handle)
            except Exception as err:  # noqa: BLE001 - recorded and re-raised after the run
                run.errors.append(f"rule '{rule_id}' failed: {type(err).__name__}: {err}")
                run.pending.clear()

        return action

    def session(self, sink: Any) -> "Session":
        with _LOCK:
            self._register()
        return Session(self, sink)


_ACTIVE: dict[str, Run] = {}


def _aliases(condition: dict) -> list[str]:
    return [next(iter(part)) for part in condition["all"] if not next(iter(part)).endswith("$not")]


def _frames(c, aliases: list[str]):
    """The matches handed to one (batched) action call, each as {alias: fact dict}."""
    single = c.__dict__.get("_m")
    matches = [single] if isinstance(single, dict) else [x._d for x in c.__dict__.get("m", [])]
    for data in matches:
        if aliases == ["m"] and "m" not in data:  # durable unwraps single-alias 'm' frames
            yield {"m": dict(data)}
        else:
            yield {alias: dict(data[alias]) for alias in aliases}


class Session:
    """One short-lived engine session; use as a context manager so its state is always deleted."""

    def __init__(self, ruleset: Ruleset, sink: Any):
        self.ruleset = ruleset
        self.sid = f"s{next(_SIDS)}"
        self.run = Run(self.sid, sink)
        self._started = False

    def __enter__(self) -> "Session":
        _LOCK.acquire()
        _ACTIVE[self.sid] = self.run
        try:
            _host().assert_fact(self.ruleset.name, {"sid": self.sid, "t": START_TYPE, "id": "$start"})
            self._started = True
        except BaseException:
            _ACTIVE.pop(self.sid, None)
            _LOCK.release()
            raise
        return self

    def assert_facts(self, facts: list[dict]) -> None:
        """Assert a batch of facts; all rules they trigger (and their chains) run before return."""
        if not facts:
            return
        batch = []
        for fact in facts:
            f = dict(fact)
            f["sid"] = self.sid
            batch.append(f)
        # durable's own assert_facts rejects the whole batch (and runs no action) when any one fact
        # matches no rule; facts that no rule reads are normal here, so call the engine directly
        # and run the actions of the facts that did match.
        rules = _host().get_ruleset(self.ruleset.name)
        code, state_handle = durable_rules_engine.assert_facts(rules._handle, json.dumps(batch, ensure_ascii=False))
        if code == 2:
            raise RuleFailure(f"a fact was asserted twice in one batch: {batch}")
        if code != 3:
            failure: list[BaseException] = []
            rules.do_actions(state_handle, lambda err, _state: failure.append(err) if err else None)
            if failure:
                raise RuleFailure(f"engine failure: {failure[0]}")
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self.run.errors:
            raise RuleFailure("; ".join(self.run.errors))

    def __exit__(self, *exc) -> None:
        try:
            if self._started:
                _host().delete_state(self.ruleset.name, self.sid)
        finally:
            _ACTIVE.pop(self.sid, None)
            _LOCK.release()
