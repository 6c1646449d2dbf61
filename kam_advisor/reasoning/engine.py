"""The durable-rules wrapper: compiled rulesets, one short-lived session per run, loud failures.

durable-rules is fast but has sharp edges (see the shared notes); this module is the only place
that touches it, and it neutralises them. It drives the C engine (`durable_rules_engine`)
directly and does not use durable's Python `Host`:

- no background threads at all: durable's Host starts timer threads that call into the C engine
  every 0.2 s (they crashed under Python threads); we never create a Host;
- rulesets are named after a hash of their content and created once per process (a name can be
  registered only once and there is no unregister);
- every run uses its own session id, fires a start rule first (deleting a session in which no
  action ever ran segfaults), and deletes its state at the end, whatever happens (finished
  sessions otherwise keep ~2.4 MB each, and at most 1,024 may be live);
- actions run in our own loop, so an exception inside one stops the run and is raised as
  RuleFailure (durable's Python layer swallows it into the session state);
- re-asserting an identical derived fact is ignored instead of raising MessageObservedException;
- the engine gets JSON text, never our dicts, so it cannot mutate them;
- the engine sees only the fields that some condition tests: each fact is kept in Python by id
  and the matches an action receives are those Python dicts (the JSON the engine parses and
  returns is most of its cost, and reasons and item lists need not go through it);
- a process-wide lock serialises use of the engine; parallel batch runs use processes.

Why our own loop: durable's Python layer wraps every action call in objects, parses and
re-serialises the session state as JSON and copies every match; that overhead was most of the
time of an assessment. The loop below is the same protocol (start_action_for_state,
complete_and_start_action, abandon_action) without those copies.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable

import durable_rules_engine
import orjson

from kam_advisor.data.errors import RuleFailure

START_TYPE = "$start"
BATCH = 1000
# return code of durable_rules_engine.assert_fact(s) when nothing is to run now
# (1 = some fact matched no rule, harmless here; 2 = already observed, prevented by ids)
_QUEUED = 3

_LOCK = threading.RLock()
_HANDLES: dict[str, int] = {}
_SIDS = itertools.count(1)
_LIVE: set[str] = set()
# the engine speaks JSON text; orjson is several times faster than json at both ends


def _dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # e.g. an integer beyond 64 bits: json can write it
        return json.dumps(obj, ensure_ascii=False)


_loads = orjson.loads


def live_sessions() -> int:
    """How many sessions are open now (0 between assessments)."""
    return len(_LIVE)


# Every fact's number in its session: a join's last test compares it (two matched facts are never
# the same fact), which keeps durable-rules' reading of the join's tests inside them (compile.py).
SEQ = "_seq"


@dataclass
class CompiledRule:
    """A rule ready for the engine: durable's condition JSON plus a Python action."""

    id: str
    condition: dict  # {"all": [...]} in durable's JSON syntax
    priority: int
    action: Callable[[dict[str, dict], "Run"], None]  # (matched facts by alias, run)


class Run:
    """State of one session: derived facts go to `sink`; facts to assert are queued."""

    __slots__ = ("sid", "sink", "pending", "facts")

    def __init__(self, sid: str, sink: Any):
        self.sid = sid
        self.sink = sink
        self.pending: list[dict] = []
        self.facts: dict[str, dict] = {}  # every fact of the session by id, as Python built it

    def assert_fact(self, fact: dict) -> None:
        """Queue a derived fact for the session (chaining); a fact id already asserted is ignored
        (durable raises MessageObservedException for an identical fact). The session keeps the
        dict itself (matches are handed back as these dicts) and adds its "sid": build a new
        dict for every fact."""
        fid = fact["id"]
        if fid in self.facts:
            return
        self.facts[fid] = fact
        self.pending.append(fact)


class Ruleset:
    """A set of compiled rules registered under a content-hash name."""

    def __init__(self, rules: list[CompiledRule], label: str = "kam", fingerprint: str = ""):
        self.rules = {r.id: r for r in rules}
        definition = {}
        for rule in rules:
            entry = _loads(_dumps(rule.condition))  # a private copy
            entry["pri"] = rule.priority
            # batch all pending matches of a rule into one action call: each call is a round trip
            # through JSON, which dominates durable's cost otherwise
            entry["cap"] = BATCH
            definition[rule.id] = entry
        definition[START_TYPE] = {"all": [{"m": {"t": START_TYPE}}], "pri": 0}
        # the name covers the actions' source too (`fingerprint`): two rule sets with the same
        # conditions but different actions must not share a registration
        digest = hashlib.sha256((json.dumps(definition, sort_keys=True) + fingerprint).encode()).hexdigest()[:16]
        self.name = f"{label}_{digest}"
        self._definition = definition
        self._keys = frozenset(_field_names(definition)) | {"t", "id"}
        self._actions = {rid: r.action for rid, r in self.rules.items()}

    def handle(self) -> int:
        with _LOCK:
            handle = _HANDLES.get(self.name)
            if handle is None:
                handle = durable_rules_engine.create_ruleset(self.name, _dumps(self._definition))
                _HANDLES[self.name] = handle
            return handle

    def session(self, sink: Any) -> "Session":
        return Session(self, sink)

    def project(self, facts: list[dict], sid: str, first: int = 0) -> str:
        """The JSON the engine gets for `facts`: only the fields conditions test, plus the sid and
        each fact's number in the session (SEQ, from `first`)."""
        keys = self._keys
        out = []
        for n, fact in enumerate(facts, first):
            slim = {k: v for k, v in fact.items() if k in keys}
            slim["sid"] = sid
            slim[SEQ] = n
            out.append(slim)
        return _dumps(out)


def _field_names(node) -> set[str]:
    """Every name a condition might test (a superset: keys and string values not starting with $)."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("$"):
                names.add(key)
            names |= _field_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _field_names(value)
    elif isinstance(node, str) and not node.startswith("$"):
        names.add(node)
    return names


class Session:
    """One short-lived engine session; use as a context manager so its state is always deleted."""

    def __init__(self, ruleset: Ruleset, sink: Any):
        self.ruleset = ruleset
        self.sid = f"s{next(_SIDS)}"
        self.run = Run(self.sid, sink)
        self._handle = ruleset.handle()
        self._started = False
        self._seq = 1  # every fact's number in the session (the start fact is 0)

    def __enter__(self) -> "Session":
        _LOCK.acquire()
        try:
            _LIVE.add(self.sid)
            code, state = durable_rules_engine.assert_fact(
                self._handle, _dumps({"sid": self.sid, "t": START_TYPE, "id": START_TYPE, SEQ: 0}))
            self._started = True
            self._drain(code, state)
        except BaseException:
            self.__exit__()
            raise
        return self

    def assert_facts(self, facts: list[dict]) -> None:
        """Assert a batch of facts; all rules they trigger (and their chains) run before return.
        A fact that no rule reads is normal here (durable's Python layer would reject the batch)."""
        if not facts:
            return
        table = self.run.facts
        for fact in facts:
            if fact["id"] in table:
                raise RuleFailure(f"fact '{fact['id']}' was asserted twice")
            table[fact["id"]] = fact
        try:
            code, state = durable_rules_engine.assert_facts(self._handle,
                                                            self.ruleset.project(facts, self.sid, self._seq))
            self._seq += len(facts)
        except durable_rules_engine.error as err:
            raise RuleFailure(f"the rules engine rejected the facts: {err}") from err
        self._drain(code, state)

    def _drain(self, code: int, state: int) -> None:
        """Run every queued action, and the actions of the facts they assert, until none is left."""
        if code == _QUEUED:
            return
        handle, run, actions = self._handle, self.run, self.ruleset._actions
        table = run.facts
        result = durable_rules_engine.start_action_for_state(handle, state)
        message = result[1] if result else None
        while message:
            for rule_id, frames in _loads(message).items():
                action = actions.get(rule_id)
                if action is None:  # the start rule: fires once so the session may be deleted safely
                    continue
                try:
                    for frame in (frames if isinstance(frames, list) else (frames,)):
                        action({alias: table[f["id"]] for alias, f in frame.items()}, run)
                    if run.pending:
                        batch, run.pending = run.pending, []
                        # derived facts are small and hold only fields their rules chose: no
                        # projection (the "sid" key they gain is never read from the table)
                        for fact in batch:
                            fact["sid"] = self.sid
                            fact[SEQ] = self._seq
                            self._seq += 1
                        # code 1 (a fact no rule reads) is harmless here
                        durable_rules_engine.assert_facts(handle, _dumps(batch))
                except Exception as err:  # noqa: BLE001 - the engine would swallow it
                    durable_rules_engine.abandon_action(handle, state)
                    raise RuleFailure(f"rule '{rule_id}' failed: {type(err).__name__}: {err}") from err
            message = durable_rules_engine.complete_and_start_action(handle, state)

    def __exit__(self, *exc) -> None:
        try:
            if self._started:
                self._started = False
                durable_rules_engine.delete_state(self._handle, self.sid)
        finally:
            if self.sid in _LIVE:
                _LIVE.discard(self.sid)
                _LOCK.release()
