"""The key-account plan health check: a plan file or ``ka-plan`` answers in, findings and a score out.

Python reads the plan, counts (critical success factors, necessary conditions, actions and
their owners, empty template fields) and dates (days since the last quick and deep review,
against ``as_of``) and asserts one `plan` fact; the rules of ``rules/plans.yaml`` decide the
findings, each with its severity and the seed's advice. The plan score is 100 less a penalty
per finding by severity (``plan_penalties``), never below 0.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping

from kam_advisor.results.documents.versions import stamp
from kam_advisor import __version__
from kam_advisor.answers.files import Evidence
from kam_advisor.data import schema
from kam_advisor.data.errors import DataError, DataErrors
from kam_advisor.data.rules import RuleBase
from kam_advisor.data.vocab import SEVERITY_ORDER
from kam_advisor.data.yamlio import LineDict, load_file, plain
from kam_advisor.reasoning.compile import compile_rules, rules_reached
from kam_advisor.reasoning.inference import Sink

PLAN_FACT_TYPES = frozenset({"plan"})  # what this module asserts
# template fields (knowledge/ka-plan.yaml, kaplan.field.*) and how a plan file fills them
TEMPLATE_FIELDS = (
    ("kaplan.field.customer", ("customer",)),
    ("kaplan.field.period", ("period",)),
    ("kaplan.field.prepared", ("prepared_by", "date_prepared")),
    ("kaplan.field.team", ("team",)),
    ("kaplan.field.review-frequency", ("reviews.quick_every_months", "reviews.deep_every_months")),
    ("kaplan.field.review-dates", ("reviews.quick", "reviews.deep")),
    ("kaplan.field.overview", ("overview",)),
    ("kaplan.field.revenue", ("revenue_snapshot",)),
    ("kaplan.field.landscape", ("customer_landscape",)),
    ("kaplan.field.goals", ("account_goals",)),
)
# `ka-plan` answers give the time since the last review as a range: the fewest days it means
REVIEW_AGE_DAYS = {"under-1-month": 0, "1-3-months": 32, "3-6-months": 93, "over-6-months": 184}
ELEMENTS = {"goal": "Goal", "csf": "Critical success factors", "nc": "Necessary conditions", "actions": "Actions",
            "people": "Team and customer", "length": "Length", "reviews": "Reviews", "template": "Template fields"}


def _dates_to_text(node: Any) -> Any:
    """YAML reads 2026-01-15 as a date; the schema and the checks read it as text."""
    if isinstance(node, dict):
        for k, v in node.items():
            node[k] = _dates_to_text(v)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            node[i] = _dates_to_text(v)
    elif isinstance(node, (dt.date, dt.datetime)):
        return node.isoformat()[:10]
    return node


def _drop_empty(node: Any) -> None:
    """A field left empty (``overview:``, as the plan template has them) is not given."""
    if isinstance(node, dict):
        for k in [k for k, v in node.items() if v is None]:
            del node[k]
        for v in node.values():
            _drop_empty(v)
    elif isinstance(node, list):
        for v in node:
            _drop_empty(v)


def read_plan_file(path: str | Path) -> dict:
    """A plan file (YAML or JSON, `kind: plan`), checked against its schema."""
    p = Path(path)
    if not p.is_file():
        raise DataError("plan file not found", p)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        from kam_advisor.answers.plan_template import read_plan_workbook
        data = read_plan_workbook(p)
        errors = schema.validate("plan", data, p)
        if errors:
            raise errors[0]
        return data
    data = load_file(p)
    if not isinstance(data, LineDict):
        raise DataError("expected a mapping with 'kind: plan' and the plan's fields", p, 1)
    _dates_to_text(data)
    _drop_empty(data)
    errors = schema.validate("plan", data, p)
    if errors:
        raise DataErrors(errors[:1]) if len(errors) == 1 else DataErrors(errors)
    return plain(data)


def _get(data: Mapping, dotted: str):
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def plan_fact_from_file(data: Mapping, kb, base: RuleBase, as_of: dt.date) -> dict:
    """The `plan` fact of a plan file (unknown fields left out)."""
    f: dict[str, Any] = {"t": "plan", "id": "plan", "customer": data["customer"], "as_of": as_of.isoformat()}
    goal = data.get("goal")
    if goal is not None:
        text = str(goal.get("text") or "")
        f["goal_stated"] = bool(text.strip())
        if f["goal_stated"]:
            f["goal_measurable"] = bool(goal["measurable"]) if "measurable" in goal else any(c.isdigit() for c in text)
            f["goal_breakdown"] = len(goal.get("by") or [])
    else:
        f["goal_stated"] = False
    # the plan's contents: what the file does not list, the plan does not have
    csfs = data.get("critical_success_factors") or []
    ncs = [nc for c in csfs for nc in (c.get("necessary_conditions") or [])]
    f["csf_count"] = len(csfs)
    f["nc_count"] = len(ncs)
    if ncs:
        untargeted = [nc for nc in ncs if nc.get("target") in (None, "")]
        f["ncs_measurable"] = not untargeted
        f["nc_gap"] = f" ({len(untargeted)} of {len(ncs)} have no target)" if untargeted else ""
    actions = data.get("actions") or []
    f["action_count"] = len(actions)
    if actions:
        unowned = [a for a in actions if not str(a.get("owner") or "").strip()]
        f["accountability"] = not unowned
        f["owner_gap"] = f" ({len(unowned)} of {len(actions)} actions have no owner)" if unowned else ""
    for key, name in (("written_with_team", "team_involved"), ("workshop", "workshop"),
                      ("customer_involved", "customer_involved")):
        if key in data:
            f[name] = bool(data[key])
    if "pages" in data:
        f["pages"] = data["pages"]
    reviews = data.get("reviews") or {}
    if "quick_every_months" in reviews:
        f["quick_months"] = reviews["quick_every_months"]
    if "deep_every_months" in reviews:
        f["deep_months"] = reviews["deep_every_months"]
    for kind in ("quick", "deep"):
        if kind in reviews:
            held = sorted(d for d in reviews[kind] if d <= as_of.isoformat())
            if not held:
                f[f"{kind}_never"] = True
            else:
                days = (as_of - dt.date.fromisoformat(held[-1])).days
                f[f"{kind}_age_days"] = days
                f[f"{kind}_age"] = f"on {held[-1]}, {days} day{'s' if days != 1 else ''} before {as_of.isoformat()}"
    missing = []
    for rid, paths in TEMPLATE_FIELDS:
        if all(_get(data, p) in (None, "", []) for p in paths):
            missing.append({"id": rid, "label": kb.records[rid].data["label"]})
    f["missing_fields"] = [m["label"] for m in missing]
    f["missing_count"] = len(missing)
    return f


def plan_fact_from_evidence(evidence: Evidence, as_of: dt.date | None) -> dict:
    """The `plan` fact of `ka-plan` answers (template fields it does not ask stay unknown)."""
    x = evidence.facts
    f: dict[str, Any] = {"t": "plan", "id": "plan", "customer": str(x.get("plan_customer") or evidence.organisation
                                                                     or "the account"),
                         "as_of": evidence.date or (as_of.isoformat() if as_of else "the day of the answers")}
    if isinstance(x.get("plan_goal_measurable"), bool):
        f["goal_stated"] = True
        f["goal_measurable"] = x["plan_goal_measurable"]
        by = [x.get(k) for k in ("plan_goal_by_product", "plan_goal_by_geography", "plan_goal_by_business_domain")]
        if x["plan_goal_measurable"] and any(isinstance(b, bool) for b in by):  # the breakdown question answered
            f["goal_breakdown"] = sum(1 for b in by if b is True)
    for src, name in (("plan_csf_count", "csf_count"), ("plan_nc_count", "nc_count"),
                      ("plan_action_count", "action_count"), ("plan_pages", "pages"),
                      ("quick_review_months", "quick_months"), ("deep_review_months", "deep_months")):
        if isinstance(x.get(src), (int, float)) and not isinstance(x.get(src), bool):
            f[name] = x[src]
    for src, name in (("plan_ncs_measurable", "ncs_measurable"), ("plan_accountability_clear", "accountability"),
                      ("plan_team_involved", "team_involved"), ("plan_workshop", "workshop"),
                      ("plan_customer_involved", "customer_involved")):
        if isinstance(x.get(src), bool):
            f[name] = x[src]
    f["nc_gap"] = f["owner_gap"] = ""
    for kind in ("quick", "deep"):
        answer = x.get(f"plan_last_{kind}_review")
        if answer == "never":
            f[f"{kind}_never"] = True
        elif answer in REVIEW_AGE_DAYS:
            f[f"{kind}_age_days"] = REVIEW_AGE_DAYS[answer]
            f[f"{kind}_age"] = answer.replace("-", " ").replace("under 1 month", "less than a month") + " ago"
    f["missing_fields"] = []
    f["missing_count"] = 0
    return f


def _ratios(f: dict, base: RuleBase) -> dict:
    """The figures the severity bands compare (each against its limit)."""
    p = base.param
    if "action_count" in f:
        f["action_max"] = p("plan_actions_max")
        f["action_ratio"] = round(f["action_count"] / p("plan_actions_max"), 6)
    if "pages" in f:
        f["pages_max"] = p("plan_pages_max")
        f["pages_ratio"] = round(f["pages"] / p("plan_pages_max"), 6)
    if "deep_months" in f:
        f["deep_months_ratio"] = round(f["deep_months"] / p("deep_review_months_max"), 6)
    for kind in ("quick", "deep"):
        if f"{kind}_age_days" in f:
            f[f"{kind}_overdue_ratio"] = round(f[f"{kind}_age_days"] / p(f"{kind}_review_due_days"), 6)
    return f


# which fact fields each element's checks read: an element none of whose fields is known is not assessed
_ELEMENT_FIELDS = {"goal": ("goal_stated",), "csf": ("csf_count",), "nc": ("nc_count",),
                   "actions": ("action_count", "accountability"),
                   "people": ("team_involved", "workshop", "customer_involved"), "length": ("pages",),
                   "reviews": ("quick_months", "deep_months", "quick_age_days", "deep_age_days", "quick_never",
                               "deep_never"),
                   "template": ("missing_count",)}


def check_fact(fact: dict, kb, base: RuleBase, source: Mapping[str, Any]) -> dict:
    """Run the plan rules over one plan fact and shape the result."""
    fact = _ratios(fact, base)
    return plan_document(fact, plan_findings(fact, base), kb, base, source)


def plan_findings(fact: dict, base: RuleBase) -> list[dict]:
    """The plan rules run over one plan fact (with its ratios): the findings, most severe first."""
    sink = Sink()
    with compile_rules(rules_reached(base, PLAN_FACT_TYPES)).session(sink) as session:
        session.assert_facts([fact])
    penalties = base.param("plan_penalties")
    findings = []
    for f in sink.findings.values():
        spec = base.rules[f.rule]
        element = f.fields.get("element")
        findings.append({"id": f.id, "element": element, "element_name": ELEMENTS.get(element, element),
                         "severity": f.meta.get("severity"), "title": spec.title, "message": f.text,
                         "advice": f.meta.get("advice"), "source": spec.source, "kb_ref": spec.kb_ref,
                         "rule": f.rule, "penalty": penalties[f.meta.get("severity")]})
    findings.sort(key=lambda x: (SEVERITY_ORDER.get(x["severity"], 9), list(ELEMENTS).index(x["element"]), x["id"]))
    return findings


def plan_document(fact: dict, findings: list[dict], kb, base: RuleBase, source: Mapping[str, Any]) -> dict:
    """The plan result document: score, findings, elements assessed, facts and trace."""
    penalties = base.param("plan_penalties")
    lost = sum(x["penalty"] for x in findings)
    score = max(0, 100 - lost)
    assessed = [e for e, fields in _ELEMENT_FIELDS.items() if any(k in fact for k in fields)]
    if fact.get("missing_count") == 0 and not fact.get("missing_fields") and "template" in assessed \
            and source.get("questionnaire"):
        assessed.remove("template")  # the questionnaire does not ask for the template's fields
    reason = (f"100 less {lost} for {len(findings)} finding{'s' if len(findings) != 1 else ''}: "
              + ", ".join(f"{sum(1 for x in findings if x['severity'] == sev)} {sev} x {penalties[sev]}"
                          for sev in ("high", "medium", "low") if any(x["severity"] == sev for x in findings))
              + ("; the score stops at 0" if lost > 100 else "") if findings else "no finding: 100")
    return stamp({"kind": "plan", "tool": {"name": "kam-advisor", "version": __version__}, "kb_version": kb.version,
            **source, "customer": fact["customer"], "as_of": fact["as_of"],
            "score": {"value": score, "reason": reason, "rule": "plan_penalties", "because": [x["id"] for x in findings]},
            "findings": findings,
            "elements": [{"id": e, "name": n, "assessed": e in assessed,
                          "findings": sum(1 for x in findings if x["element"] == e)} for e, n in ELEMENTS.items()],
            "facts": {k: v for k, v in sorted(fact.items()) if k not in ("t", "id", "sid")},
            "trace": [{"id": x["id"], "type": "plan_finding", "rule": x["rule"], "because": ["plan"],
                       "text": x["message"]} for x in findings]
            + [{"id": "plan", "type": "plan", "rule": "input", "text": f"the plan for {fact['customer']}",
                "because": [f"{k}={v}" for k, v in sorted(fact.items())
                            if k not in ("t", "id", "sid", "customer", "as_of") and not k.endswith("_gap")]}]},
                 "plan")


def check_plan_file(path: str | Path, kb, base: RuleBase, as_of: dt.date | None = None) -> dict:
    as_of = as_of or dt.date.today()
    data = read_plan_file(path)
    return check_fact(plan_fact_from_file(data, kb, base, as_of), kb, base, {"file": Path(path).name})


def plan_result(evidence: Evidence, kb, base: RuleBase, as_of: dt.date | None = None, perception_gaps=None) -> dict:
    """The result of plan answers (`ka-plan`): the plan's findings and score."""
    return check_fact(plan_fact_from_evidence(evidence, as_of), kb, base, plan_source(evidence, perception_gaps))


def plan_facts(evidence: Evidence, base: RuleBase, as_of: dt.date | None = None) -> dict:
    """The `plan` fact of plan answers, with the ratios its severity bands compare."""
    return _ratios(plan_fact_from_evidence(evidence, as_of), base)


def plan_source(evidence: Evidence, perception_gaps=None) -> dict:
    """What a plan result says of the answers it comes from."""
    return {"questionnaire": evidence.questionnaire, "organisation": evidence.organisation,
            "assessor": evidence.assessor, "date": evidence.date, "respondents": list(evidence.respondents),
            "perception_gaps": list(perception_gaps or [])}
