"""The key-account plan health check as text, Markdown, HTML or JSON; several plans as a table.

Each plan is read into its typed model (``results/documents/plan.py``) first: a document that
does not fit is refused, naming the field."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

from kam_advisor.render.accounts import _env, md_escape, md_line
from kam_advisor.results.documents import registry
from kam_advisor.results.documents.base import present
from kam_advisor.results.documents.plan import Plan

SEVERITY_MARK = {"high": "!!!", "medium": "!! ", "low": "!  "}


def _load(result: Mapping[str, Any] | Plan) -> Plan:
    return result if isinstance(result, Plan) else registry.load(result, "plan")


def render_plan(result: Mapping[str, Any] | Plan, fmt: str) -> str:
    """One plan's check: score, findings with severity and advice, elements not assessed."""
    r = _load(result)
    if fmt == "json":
        return json.dumps(result if isinstance(result, Mapping) else registry.as_dict(r), indent=2,
                          ensure_ascii=False) + "\n"
    if fmt == "html":
        return render_plans_html([r])
    md = fmt == "md"
    file = present(r.file)
    lines = [f"# Key-account plan: {r.customer}" if md else f"Key-account plan: {r.customer}",
             "", f"Plan score: {r.score.value} of 100 ({r.score.reason})",
             f"Checked on {r.as_of}" + (f", file {file}" if file else "") + "."]
    not_assessed = [e.name for e in r.elements if not e.assessed]
    if not_assessed:
        lines.append(f"Not assessed ({'the file does' if file and not present(r.questionnaire) else 'the answers do'}"
                     f" not say): {', '.join(not_assessed)}.")
    lines += ["", "## Findings" if md else "Findings:"]
    if not r.findings:
        lines.append("- none: the plan holds every element checked" if md else "  none: the plan holds every element checked")
    for f in r.findings:
        if md:
            lines.append(f"- **{f.severity}** ({f.element_name}) {md_escape(f.message)}  \n"
                         f"  {md_escape(f.advice)}")
        else:
            lines.append(f"  [{f.severity}] {f.element_name}: {f.message}")
            lines.append(f"      advice: {f.advice}")
    if md:
        lines = [md_line(line) if "**" not in line else line for line in lines]
    return "\n".join(lines) + "\n"


def plans_table(results: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Several plans in one run: one line per plan (score, findings by severity)."""
    if fmt == "json":
        return json.dumps({"kind": "plans", "plans": list(results)}, indent=2, ensure_ascii=False) + "\n"
    plans = [_load(r) for r in results]
    if fmt == "html":
        return render_plans_html(plans)
    rows = [(present(r.file) or "", r.customer, str(r.score.value),
             *(str(sum(1 for f in r.findings if f.severity == s)) for s in ("high", "medium", "low")))
            for r in plans]
    head = ("file", "customer", "score", "high", "medium", "low")
    if fmt == "md":
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
        body = "\n".join(out) + "\n\n"
        return body + "\n".join(render_plan(r, "md") for r in plans)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out) + "\n\n" + "\n".join(render_plan(r, "text") for r in plans)


def render_plans_html(results: Sequence[Mapping[str, Any] | Plan]) -> str:
    return _env().get_template("plans.html.j2").render(plans=[_load(r) for r in results])
