"""Key-account selection: accounts scored, placed on the mutual-attractiveness matrix, advised.

Python does the arithmetic (weighted means of the ratings, counts per manager) and asserts one
`account` fact per account; the rules of ``rules/accounts.yaml`` decide the quadrant, the
advice, moves in and out of the key-account list and the portfolio findings. Many accounts share
one engine session (one session per chunk), so a whole portfolio runs through the same rules
as one account, with memory bounded by the chunk. One account's result comes from an
``account`` answers file (:func:`account_result`); a portfolio's from a CRM export
(:func:`score_portfolio`).
"""

from __future__ import annotations

import itertools
import math
from functools import cached_property
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from kam_advisor.results.documents.versions import stamp
from kam_advisor import __version__
from kam_advisor.answers.files import Evidence
from kam_advisor.answers.portfolio import AccountInput, BUYSELL_LEVELS, PortfolioReader, RowError
from kam_advisor.data.errors import DataError
from kam_advisor.data.rules import RuleBase
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.vocab import SEVERITY_ORDER
from kam_advisor.data.yamlio import LineDict, load_file
from kam_advisor.reasoning.compile import compile_rules, rules_reached
from kam_advisor.reasoning.inference import Sink

ACCOUNT_FACT_TYPES = frozenset({"account", "portfolio", "manager_load"})  # what this module asserts
CHUNK = 500
NOT_PLACED = "none"
BOXES = ("mutual.key", "mutual.build", "mutual.maintenance", "mutual.minimal")


def criteria(kb) -> list[tuple[str, str]]:
    """The attractiveness criteria as (column key, name), in the seed's order."""
    recs = sorted((r for r in kb.records.values() if r.kind == "attractiveness-criterion"),
                  key=lambda r: r.data["number"])
    return [(r.id.split(".", 1)[1].replace("-", "_"), r.data["name"]) for r in recs]


def box_names(kb, base: RuleBase) -> dict[str, str]:
    names = {b: kb.records[b].data["label"] for b in BOXES}
    names[NOT_PLACED] = base.param("not_placed_name")
    return names


@dataclass(frozen=True)
class Scoring:
    """Weights and thresholds of one run (from the rules data, weights maybe overridden)."""

    criteria: tuple[tuple[str, str], ...]
    weights: Mapping[str, float]
    rated_share_min: float
    customer_min: float
    supplier_min: float
    supplier_points: Mapping[str, float]
    supplier_weights: Mapping[str, float]
    key_max: int
    manager_max: int

    @cached_property
    def criteria_min(self) -> int:
        """How many of the weighted criteria must be rated for a score."""
        return max(1, math.ceil(self.rated_share_min * len(self.positive) - 1e-9))

    @cached_property
    def customer_min_text(self) -> str:
        return _fmt(self.customer_min)

    @cached_property
    def supplier_min_text(self) -> str:
        return _fmt(self.supplier_min)

    @cached_property
    def positive(self) -> tuple[tuple[str, float], ...]:
        """The criteria that count (weight above 0) with their weights."""
        return tuple((k, self.weights[k]) for k, _ in self.criteria if self.weights[k] > 0)

    def as_dict(self) -> dict:
        return {"criteria": {k: {"name": n, "weight": self.weights[k]} for k, n in self.criteria},
                "criteria_min": self.criteria_min, "rated_share_min": self.rated_share_min,
                "customer_attractive_min": self.customer_min,
                "supplier_attractive_min": self.supplier_min, "supplier_points": dict(self.supplier_points),
                "supplier_weights": dict(self.supplier_weights), "key_accounts_max": self.key_max,
                "accounts_per_kam_max": self.manager_max}


def scoring(kb, base: RuleBase, weights: Mapping[str, float] | None = None) -> Scoring:
    crit = tuple(criteria(kb))
    default = base.param("attract_weights")
    missing = [k for k, _ in crit if k not in default]
    if missing:
        raise DataError(f"param attract_weights: no weight for criterion '{missing[0]}'")
    chosen = weights if weights is not None else default
    return Scoring(criteria=crit, weights={k: float(chosen.get(k, 0.0)) for k, _ in crit},
                   rated_share_min=float(base.param("attract_rated_share_min")),
                   customer_min=float(base.param("customer_attractive_min")),
                   supplier_min=float(base.param("supplier_attractive_min")),
                   supplier_points={k: float(v) for k, v in base.param("supplier_points").items()},
                   supplier_weights={k: float(v) for k, v in base.param("supplier_weights").items()},
                   key_max=int(base.param("key_accounts_max")), manager_max=int(base.param("accounts_per_kam_max")))


def load_weights(path: str | Path, kb) -> dict[str, float]:
    """A weights file: ``weights: {stability: 2, brand: 0, ...}`` (criteria not named weigh 0).
    Weights are numbers >= 0 and at least one is above 0."""
    data = load_file(path)
    node = data.get("weights", data) if isinstance(data, LineDict) else data
    if not isinstance(node, LineDict) or not node:
        raise DataError("expected a mapping 'weights:' of criterion: weight "
                        f"(criteria: {', '.join(k for k, _ in criteria(kb))})", path, getattr(data, "line", 1))
    keys = [k for k, _ in criteria(kb)]
    out = dict.fromkeys(keys, 0.0)
    for name, value in node.items():
        key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
        if key not in out:
            raise DataError(f"unknown criterion '{name}'{did_you_mean(key, keys)} (criteria: {', '.join(keys)})",
                            path, node.line_of(name))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0 \
                or value == float("inf"):
            raise DataError(f"weight of '{name}' must be a number of 0 or more (got {value!r})", path,
                            node.line_of(name))
        out[key] = float(value)
    if not any(v > 0 for v in out.values()):
        raise DataError("at least one weight must be above 0", path, node.line)
    return out


# --- the arithmetic -------------------------------------------------------------------------

def _fmt(x: float) -> str:
    return f"{x:g}"


def customer_score(ratings: Mapping[str, float], sc: Scoring) -> tuple[int | None, float | None, int]:
    """(score 0..100 or None, weighted mean of the ratings 1..5, weighted criteria rated)."""
    total = weight = 0.0
    used = 0
    for key, w in sc.positive:
        r = ratings.get(key)
        if r is not None:
            total += w * r
            weight += w
            used += 1
    if used < sc.criteria_min:
        return None, None, used
    mean = total / weight
    return round(100 * (mean - 1) / 4), mean, used


def customer_reason(score: int | None, mean: float | None, used: int, sc: Scoring) -> str:
    if score is None:
        return f"{used} of {len(sc.positive)} weighted criteria rated, at least {sc.criteria_min} needed"
    return f"weighted mean {mean:.2f} of 5 over {used} criteria = {score} of 100"


def supplier_score(acc: AccountInput, sc: Scoring) -> tuple[int | None, str]:
    """How attractive we are in the customer's eyes, 0..100, from what is known of its view."""
    total = weight = 0.0
    words = []
    sw = sc.supplier_weights
    if acc.buysell is not None and sw["buysell"] > 0:
        total += sc.supplier_points[acc.buysell] * sw["buysell"]
        weight += sw["buysell"]
        words.append(f"buys from us as {acc.buysell}")
    if acc.treats_us_as_key is not None and sw["treats_us_as_key"] > 0:
        total += 100.0 * acc.treats_us_as_key * sw["treats_us_as_key"]
        weight += sw["treats_us_as_key"]
        words.append("treats us as key" if acc.treats_us_as_key else "does not treat us as key")
    if acc.price_only is not None and sw["price_only"] > 0:
        total += 100.0 * (not acc.price_only) * sw["price_only"]
        weight += sw["price_only"]
        words.append("wants price only" if acc.price_only else "values more than price")
    if not weight:
        return None, "nothing known of how the customer sees us"
    score = round(total / weight)
    return score, f"{'; '.join(words)} = {score} of 100"


def account_fact(acc: AccountInput, sc: Scoring, previous: Mapping[str, str] | None = None) -> tuple[dict, dict]:
    """The `account` fact the rules read (unknown fields left out) and the scores' reasons."""
    cs, mean, used = customer_score(acc.ratings, sc)
    c_reason = customer_reason(cs, mean, used, sc)
    ss, s_reason = supplier_score(acc, sc)
    fact: dict[str, Any] = {"t": "account", "id": f"account:{acc.row}", "name": acc.name,
                            "customer_min": sc.customer_min_text, "supplier_min": sc.supplier_min_text}
    missing = []
    if cs is not None:
        fact["customer_score"] = cs
    else:
        missing.append(c_reason)
    if ss is not None:
        fact["supplier_score"] = ss
    else:
        missing.append(s_reason)
    fact["missing"] = "; ".join(missing)
    if acc.is_key is not None:
        fact["is_key"] = acc.is_key
    if acc.buysell is not None:
        fact["buysell"] = acc.buysell
    if acc.price_only is not None:
        fact["price_only"] = acc.price_only
    if previous:
        before = previous.get(_match_key(acc))
        if before:
            fact["previous"] = before
    return fact, {"customer": (cs, c_reason), "supplier": (ss, s_reason)}


def _match_key(acc: AccountInput) -> str:
    return f"id:{acc.id}" if acc.id else f"name:{acc.name.strip().lower()}"


# --- running the rules ------------------------------------------------------------------------

def _chunks(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def classify(accounts: Iterable[AccountInput], kb, base: RuleBase, sc: Scoring,
             previous: Mapping[str, str] | None = None, chunk: int = CHUNK) -> Iterator[dict]:
    """Each account's result, in input order: many accounts per engine session."""
    ruleset = compile_rules(rules_reached(base, ACCOUNT_FACT_TYPES))
    names = box_names(kb, base)
    for part in _chunks(accounts, chunk):
        built = [account_fact(a, sc, previous) for a in part]
        sink = Sink()
        with ruleset.session(sink) as session:
            session.assert_facts([f for f, _ in built])
        found = sink.findings
        reviews: dict[str, list] = {}
        order = {rid: n for n, rid in enumerate(base.rules)}
        for f in sorted((f for f in found.values() if f.type == "review"), key=lambda f: (order[f.rule], f.id)):
            reviews.setdefault(f.fields.get("account"), []).append(f)
        for acc, (fact, reasons) in zip(part, built):
            yield _shape(acc, fact, reasons, found, base, names, sc, reviews.get(fact["id"], ()))


def _flag(f, base) -> dict:
    spec = base.rules[f.rule]
    return {"id": f.id.split(":", 1)[0], "severity": f.meta.get("severity"), "title": spec.title,
            "message": f.text, "advice": f.meta.get("advice"), "source": spec.source, "kb_ref": spec.kb_ref,
            "rule": f.rule}


def _shape(acc: AccountInput, fact: dict, reasons: dict, found: Mapping, base: RuleBase, names, sc: Scoring,
           reviews: Iterable = ()) -> dict:
    fid = fact["id"]
    q = found.get(f"quadrant:{fid}")
    if q is None:
        raise DataError(f"the rules placed no quadrant for account '{acc.name}' (check rules/accounts.yaml)")
    cs, c_reason = reasons["customer"]
    ss, s_reason = reasons["supplier"]
    because = [f"customer_attractiveness={'not scored' if cs is None else cs}",
               f"supplier_attractiveness={'not scored' if ss is None else ss}"]
    box = q.fields["box"]
    out = {
        "row": acc.row, "id": acc.id, "name": acc.name, "manager": acc.manager, "key_account": acc.is_key,
        "revenue": acc.revenue, "potential": acc.potential,
        "customer_attractiveness": {"score": cs, "attractive": None if cs is None else cs >= sc.customer_min,
                                    "ratings": dict(acc.ratings), "reason": c_reason},
        "supplier_attractiveness": {"score": ss, "attractive": None if ss is None else ss >= sc.supplier_min,
                                    "buysell_level": acc.buysell, "treats_us_as_key": acc.treats_us_as_key,
                                    "price_only": acc.price_only, "reason": s_reason},
        "quadrant": {"id": box, "name": names[box], "rule": q.rule, "because": because, "reason": q.text},
        "advice": {"action": q.fields["action"], "title": q.fields["action_title"], "text": q.meta.get("advice"),
                   "rule": q.rule},
        "move": None, "moved": None, "flags": [],
    }
    m = found.get(f"move:{fid}")
    if m is not None:
        out["move"] = {"direction": m.fields["direction"], "rule": m.rule, "because": [f"quadrant={box}"],
                       "reason": m.text}
    mv = found.get(f"moved:{fid}")
    if mv is not None:
        out["moved"] = {"from": mv.fields["from"], "to": mv.fields["to"], "from_name": names.get(mv.fields["from"]),
                        "to_name": names[mv.fields["to"]], "rule": mv.rule,
                        "reason": f"Moved since the earlier portfolio: from {names.get(mv.fields['from'])} "
                                  f"to {names[mv.fields['to']]}."}
    flags = [found[k] for k in (f"flag.account-commodity:{fid}", f"flag.account-price-only:{fid}") if k in found]
    out["flags"] = sorted((_flag(f, base) for f in flags), key=lambda x: (SEVERITY_ORDER.get(x["severity"], 9), x["id"]))
    out["reviews"] = [{"id": f.id.split(":", 1)[0], "rule": f.rule, "reason": f.text,
                       "because": [f"quadrant={box}"] + [f"{k}={fact[k]}" for k in ("is_key", "buysell", "price_only")
                                                          if k in fact]} for f in reviews]
    out["key_list"] = key_list(out)
    out["warnings"] = [w.as_dict() for w in acc.warnings or ()]
    return out


def key_list(a: Mapping[str, Any]) -> str | None:
    """Where an account stands on the key-account list: a key account today is ``keep`` (kept as
    it is), ``off`` (to move off) or ``review`` (listed for review, on the proposed list until
    the review decides); another account is ``on`` (to move onto it) or None."""
    move = (a.get("move") or {}).get("direction")
    if a.get("key_account") is True:
        return "off" if move == "out" else "review" if a.get("reviews") else "keep"
    return "on" if move == "in" else None


# --- the portfolio --------------------------------------------------------------------------

class Tally:
    """Running counts over the accounts (never the accounts themselves)."""

    def __init__(self, phrases: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.phrases = dict(phrases or {})    # review rule -> {one, many}: the group in words
        self.accounts = 0
        self.boxes = dict.fromkeys(BOXES + (NOT_PLACED,), 0)
        self.key_today = 0
        self.key_known = 0
        self.proposed = 0
        self.moves = {"in": 0, "out": 0}
        self.moved = 0
        self.lists = {"keep": 0, "off": 0, "review": 0, "on": 0}
        self.review_groups: dict[str, dict] = {}   # review rule -> {rule, one, many, accounts}
        self.managers: dict[str, list[int]] = {}  # name -> [key today, proposed]
        self.revenue_by_box = dict.fromkeys(BOXES + (NOT_PLACED,), 0.0)

    def add(self, a: dict) -> None:
        self.accounts += 1
        box = a["quadrant"]["id"]
        self.boxes[box] += 1
        self.revenue_by_box[box] += a["revenue"] or 0.0
        if a["key_account"] is not None:
            self.key_known += 1
            self.key_today += a["key_account"] is True
        place = a["key_list"]
        if place is not None:
            self.lists[place] += 1
        proposed = place in ("keep", "review", "on")   # today - moved off + moved on
        self.proposed += proposed
        for r in a["reviews"][:1]:     # each account in the group of its first reason (the rules' order)
            words = self.phrases.get(r["rule"]) or {}
            group = self.review_groups.setdefault(r["rule"], {"rule": r["rule"], "one": words.get("one") or r["reason"],
                                                              "many": words.get("many") or r["reason"], "accounts": 0})
            group["accounts"] += 1
        if a["move"]:
            self.moves[a["move"]["direction"]] += 1
        if a["moved"]:
            self.moved += 1
        if a["manager"]:
            slot = self.managers.setdefault(a["manager"], [0, 0])
            slot[0] += a["key_account"] is True
            slot[1] += proposed


def portfolio_findings(tally: Tally, base: RuleBase, sc: Scoring) -> tuple[list[dict], dict]:
    """The portfolio rules over the counts: key accounts in total and per manager."""
    use_today = tally.key_known > 0  # without a key_account column, judge the proposed list
    key_count = tally.key_today if use_today else tally.proposed
    facts = [{"t": "portfolio", "id": "portfolio", "key_count": key_count, "key_max": sc.key_max,
              "key_ratio": round(key_count / sc.key_max, 6) if sc.key_max else 0.0}]
    for n, (name, (today, proposed)) in enumerate(sorted(tally.managers.items()), 1):
        count = today if use_today else proposed
        facts.append({"t": "manager_load", "id": f"manager:{n}", "manager": name, "key_count": count,
                      "limit": sc.manager_max, "ratio": round(count / sc.manager_max, 6) if sc.manager_max else 0.0})
    sink = Sink()
    with compile_rules(rules_reached(base, ACCOUNT_FACT_TYPES)).session(sink) as session:
        session.assert_facts(facts)
    by_id = {f["id"]: f for f in facts}
    out = []
    for f in sink.findings.values():
        spec = base.rules[f.rule]
        src = by_id[f.because[0]]
        because = [f"key accounts={src['key_count']}"] + ([f"manager={src['manager']}"] if "manager" in src else [])
        out.append({"id": f.id.split(":", 1)[0], "severity": f.meta.get("severity"), "title": spec.title,
                    "message": f.text, "advice": f.meta.get("advice"), "source": spec.source, "rule": f.rule,
                    "because": because, "manager": src.get("manager")})
    out.sort(key=lambda x: (SEVERITY_ORDER.get(x["severity"], 9), x["id"], x["manager"] or ""))
    counted = "accounts marked as key accounts" if use_today else "accounts the rules advise to invest in (no key_account column)"
    return out, {"counted": counted, "key_count": key_count}


def review_phrases(base: RuleBase) -> dict[str, dict]:
    """The review rules' group phrases (their ``one`` and ``many`` fields), by rule."""
    return {rid: {"one": spec.then.get("fields", {}).get("one"), "many": spec.then.get("fields", {}).get("many")}
            for rid, spec in base.rules.items() if spec.then.get("emit") == "review"}


def count_text(n: int, one: str, many: str) -> str:
    """``1 key account``, ``2 key accounts``."""
    return f"{n} {one if n == 1 else many}"


def review_text(group: Mapping[str, Any]) -> str:
    """A review group in words, singular or plural (the rule's ``one`` / ``many``)."""
    n = group["accounts"]
    return (group["one"] if n == 1 else group["many"] or "").replace("{n}", str(n))


def arithmetic(today: int, off: int, on: int, review: int, proposed: int, today_known: bool = True) -> dict:
    """The key-account list from today's to the proposed one: today - moved off + moved on =
    proposed (the accounts to review stay on it until the review decides)."""
    text = (f"{count_text(today, 'key account', 'key accounts')} today \u2212 {off} moved off + {on} moved on = "
            f"{proposed} proposed")
    if review:
        text += f", {review} of them to review" if proposed > 1 else ", to review"
    if not today_known:
        text = "No account is marked as a key account today: " + text
    return {"today": today, "moved_off": off, "moved_on": on, "review": review, "proposed": proposed,
            "today_known": today_known, "holds": today - off + on == proposed, "text": text + "."}


def summary(tally: Tally, names: Mapping[str, str], counted: dict, skipped: int) -> dict:
    groups = [{**g, "text": review_text(g)} for g in tally.review_groups.values()]
    return {"accounts": tally.accounts, "skipped_rows": skipped,
            "quadrants": [{"id": b, "name": names[b], "accounts": tally.boxes[b],
                           "revenue": tally.revenue_by_box[b]} for b in BOXES + (NOT_PLACED,)],
            "key_accounts_today": tally.key_today if tally.key_known else None,
            "key_accounts_proposed": tally.proposed, "move_in": tally.moves["in"], "move_out": tally.moves["out"],
            "moved": tally.moved, "key_accounts_counted": counted["counted"],
            "managers": [{"name": m, "key_accounts_today": t, "key_accounts_proposed": p}
                         for m, (t, p) in sorted(tally.managers.items())],
            "key_accounts_kept": tally.lists["keep"], "key_accounts_review": tally.lists["review"],
            "review": [{k: g[k] for k in ("rule", "accounts", "text")} for g in groups],
            "arithmetic": arithmetic(tally.key_today, tally.moves["out"], tally.moves["in"], tally.lists["review"],
                                     tally.proposed, bool(tally.key_known))}


def read_previous(path: str | Path) -> dict[str, str]:
    """An earlier `accounts score --format json` result: quadrant by account (id, else name).

    Read line by line when it is laid out as written (one account per line), so that a large
    portfolio's file is never parsed whole; any other layout of the same JSON is parsed whole."""
    import json
    p = Path(path)
    if not p.is_file():
        raise DataError("earlier portfolio not found", p)
    bad = "not a JSON result of `accounts score --format json`"
    out: dict[str, str] = {}

    def keep(a) -> None:
        if isinstance(a, dict) and isinstance(a.get("quadrant"), dict) and a["quadrant"].get("id") in BOXES:
            out[_match_key(AccountInput(row=0, name=str(a.get("name") or ""), id=a.get("id")))] = a["quadrant"]["id"]

    try:
        with open(p, encoding="utf-8") as handle:
            if handle.readline() == "{\n" and handle.readline() == '  "kind": "portfolio",\n':
                inside = False
                try:
                    for line in handle:
                        if not inside:
                            inside = line.startswith('  "accounts": [')
                            if line.rstrip() == '  "accounts": []':
                                break
                            continue
                        if line.startswith("    {"):
                            keep(json.loads(line.rstrip().rstrip(",")))
                        else:
                            break
                except ValueError:  # accounts spread over several lines (e.g. re-indented): read it whole
                    out.clear()
                else:
                    if inside or out:
                        return out
            handle.seek(0)
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"{bad} ({err})", p) from None
    if not isinstance(data, dict) or data.get("kind") != "portfolio" or not isinstance(data.get("accounts"), list):
        raise DataError(f"{bad} (expected kind: portfolio)", p)
    for a in data["accounts"]:
        keep(a)
    return out


@dataclass
class PortfolioRun:
    """A portfolio being scored: `accounts` streams results; after it, `finish()` the rest."""

    reader: PortfolioReader
    kb: Any
    base: RuleBase
    scoring: Scoring
    previous: Mapping[str, str] | None = None

    def __post_init__(self):
        self.tally = Tally(review_phrases(self.base))
        self.errors: list[RowError] = []
        self.warnings: list[dict] = []  # rating cells left out, the accounts scored without them

    def header(self) -> dict:
        return stamp({"kind": "portfolio", "tool": {"name": "kam-advisor", "version": __version__},
                      "kb_version": self.kb.version, "source": self.reader.path.name,
                      "scoring": self.scoring.as_dict(), "ignored_columns": list(self.reader.unknown)}, "portfolio")

    def _inputs(self) -> Iterator[AccountInput]:
        for item in self.reader:
            if isinstance(item, RowError):
                self.errors.append(item)
                continue
            if item.warnings:
                self.warnings.extend(w.as_dict(item.name) for w in item.warnings)
            yield item

    def accounts(self) -> Iterator[dict]:
        for result in classify(self._inputs(), self.kb, self.base, self.scoring, self.previous):
            self.tally.add(result)
            yield result

    def finish(self) -> dict:
        findings, counted = portfolio_findings(self.tally, self.base, self.scoring)
        return {"summary": summary(self.tally, box_names(self.kb, self.base), counted, len(self.errors)),
                "findings": findings,
                "skipped": [{"row": e.row, "error": e.message} for e in self.errors],
                "warnings": self.warnings}


def open_portfolio(path, kb, base, weights_file=None, previous_file=None) -> PortfolioRun:
    weights = load_weights(weights_file, kb) if weights_file else None
    sc = scoring(kb, base, weights)
    previous = read_previous(previous_file) if previous_file else None
    reader = PortfolioReader(path, [k for k, _ in sc.criteria])
    return PortfolioRun(reader, kb, base, sc, previous)


def score_portfolio(path, kb, base, weights_file=None, previous_file=None) -> dict:
    """The whole portfolio result in memory (for small portfolios and tests)."""
    run = open_portfolio(path, kb, base, weights_file, previous_file)
    head = run.header()
    accounts = list(run.accounts())
    return {**head, "accounts": accounts, **run.finish()}


# --- one account from an `account` answers file ---------------------------------------------

def input_from_evidence(evidence: Evidence, kb) -> AccountInput:
    f = evidence.facts
    keys = [k for k, _ in criteria(kb)]
    ratings = {k: float(f[f"account_attract_{k}"]) for k in keys
               if isinstance(f.get(f"account_attract_{k}"), (int, float))}
    level = f.get("account_buysell_level")
    return AccountInput(row=1, name=str(f.get("account_name") or evidence.organisation or "The account"),
                        is_key=_bool(f.get("account_is_key")), potential=_num(f.get("account_spend")),
                        ratings=ratings, buysell=level if level in BUYSELL_LEVELS else None,
                        treats_us_as_key=_bool(f.get("account_treats_us_as_key")),
                        price_only=_bool(f.get("account_price_only")))


def _bool(v):
    return v if isinstance(v, bool) else None


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def account_result(evidence: Evidence, kb, base: RuleBase, perception_gaps=None) -> dict:
    """The result of `account` answers: this account's scores, quadrant and advice."""
    facts = account_facts(evidence, kb, base)
    return account_document(evidence, facts, account_rules(facts, kb, base), kb, base, perception_gaps)


def account_facts(evidence: Evidence, kb, base: RuleBase) -> tuple[Scoring, AccountInput]:
    """The scoring (criteria, weights, bands) and the one account the answers describe."""
    return scoring(kb, base), input_from_evidence(evidence, kb)


def account_rules(facts: tuple[Scoring, AccountInput], kb, base: RuleBase) -> dict:
    """The account classified by the account rules (scores, quadrant, move, reviews, flags)."""
    sc, acc = facts
    shaped = next(classify([acc], kb, base, sc))
    shaped.pop("row")
    return shaped


def account_document(evidence: Evidence, facts: tuple[Scoring, AccountInput], shaped: dict, kb, base: RuleBase,
                     perception_gaps=None) -> dict:
    """The account result document (the `assess` JSON of an account)."""
    sc = facts[0]
    return stamp({"kind": "account", "tool": {"name": "kam-advisor", "version": __version__}, "kb_version": kb.version,
                  "questionnaire": evidence.questionnaire, "organisation": evidence.organisation,
                  "assessor": evidence.assessor, "date": evidence.date, "respondents": list(evidence.respondents),
                  **shaped, "scoring": sc.as_dict(),
                  "facts": {k: evidence.facts[k] for k in sorted(evidence.facts)},
                  "perception_gaps": list(perception_gaps or []), "trace": _trace(shaped, evidence)}, "account")


def _trace(a: dict, evidence: Evidence) -> list[dict]:
    """The account's findings and the scores they rest on, down to the answers (for `explain`)."""
    q, cs, ss = a["quadrant"], a["customer_attractiveness"], a["supplier_attractiveness"]
    answers = {name: [f"{name}={evidence.facts[name]}"] for name in evidence.facts}
    rows = [{"id": "quadrant", "type": "quadrant", "rule": q["rule"], "because": q["because"], "text": q["reason"]},
            {"id": q["because"][0], "type": "score", "rule": "input", "text": cs["reason"],
             "because": [b for n in sorted(answers) if n.startswith("account_attract_") for b in answers[n]]},
            {"id": q["because"][1], "type": "score", "rule": "input", "text": ss["reason"],
             "because": [b for n in ("account_buysell_level", "account_treats_us_as_key", "account_price_only")
                         for b in answers.get(n, [])]}]
    if a["move"]:
        rows.append({"id": "move", "type": "move", "rule": a["move"]["rule"], "because": ["quadrant"],
                     "text": a["move"]["reason"]})
    for r in a.get("reviews") or []:
        rows.append({"id": r["id"], "type": "review", "rule": r["rule"], "because": ["quadrant"], "text": r["reason"]})
    for f in a["flags"]:
        rows.append({"id": f["id"], "type": "flag", "rule": f["rule"], "text": f["message"],
                     "because": [b for n in ("account_buysell_level", "account_price_only", "account_is_key")
                                 for b in answers.get(n, [])]})
    return rows
