"""Rendering the peer benchmark (the plain document of kam_advisor.store.benchmark): text,
Markdown (the report's page), HTML (a page in the history's look, or the report's page) and JSON.

Nothing here names another organisation: the document holds only the organisation's own
figures and the peer group's counts and aggregates. Deterministic: no clock is read.
"""

from __future__ import annotations

from typing import Any, Mapping

FORMATS = ("text", "json", "html")


def _num(value) -> str:
    return "\u2013" if value is None else f"{value:.0f}"


def _ordinal(n: int | None) -> str:
    if n is None:
        return "\u2013"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def group_text(doc: Mapping[str, Any]) -> str:
    """The peer group in words: sector, size band, how many other organisations."""
    g = doc["group"]
    parts = [f"sector '{g['sector']}'" if g.get("sector") else "every sector",
             f"{g['size_band_name']} ({g['size_band']})" if g.get("size_band") else "every size"]
    n = g["peers"]
    return f"{', '.join(parts)}: {n} other organisation{'s' if n != 1 else ''}"


def headline(doc: Mapping[str, Any]) -> str:
    """One sentence: where the programme stands, or why no figure is shown."""
    g, p = doc["group"], doc.get("programme")
    if not g["shown"]:
        return f"No figure is shown: {g['withheld']}."
    if not p or p["percentile"] is None:
        return "The programme was not assessed in this audit: it has no percentile."
    median = p["peer_median_stage"] or "none"
    return (f"The programme's checklist score ({_num(p['score'])}) stands at the {_ordinal(p['percentile'])} "
            f"percentile of its {p['peers']} peers; the peers' median stage achieved is {median}, "
            f"this audit's {p['stage'] or 'none'}.")


def rows(doc: Mapping[str, Any]) -> list[dict]:
    """The table of every format: the programme, each dimension, each topic."""
    out = []
    for level, units in (("programme", [doc["programme"]] if doc.get("programme") else []),
                         ("dimension", doc.get("dimensions") or []), ("topic", doc.get("topics") or [])):
        for u in units:
            out.append({"level": level, "name": u["name"], "score": _num(u["score"]), "stage": u["stage"] or "none",
                        "percentile": _ordinal(u["percentile"]) if u["percentile"] is not None else "\u2013",
                        "median": (u["peer_median_stage"] or "none") if u["percentile"] is not None else "\u2013",
                        "peers": "\u2013" if u["peers"] is None else str(u["peers"]),
                        "withheld": u["withheld"]})
    return out


def render_text(doc: Mapping[str, Any]) -> str:
    from kam_advisor.render import textfmt
    audit = doc["audit"]
    when = f"audit of {audit['date']}" + (f" ({audit['id']})" if audit.get("id") else "") if audit.get("date") \
        else "this assessment"
    lines = [f"Peer benchmark: {doc['organisation']}, {when}",
             f"Peer group: {group_text(doc)}", headline(doc)]
    if doc["group"]["shown"]:
        lines += [f"Measure: {doc['measure']}; percentile: {doc['percentile_rule']}.", ""]
        table = [[("" if r["level"] == "programme" else "  " if r["level"] == "dimension" else "    ") + r["name"],
                  r["score"], r["stage"], r["percentile"], r["median"], r["peers"]] for r in rows(doc)]
        lines.append(textfmt.table(["unit", "score", "stage", "percentile", "peers' median stage", "peers"],
                                   table, "lrlrlr"))
        if any(r["withheld"] for r in rows(doc)):
            lines.append(f"\u2013: fewer than {doc['group']['min_peers']} peers measured there; no figure shown.")
    return "\n".join(lines) + "\n"


def render_md(doc: Mapping[str, Any]) -> str:
    """The benchmark as a Markdown section (the report's page)."""
    from kam_advisor.render.textfmt import md_cell as _md
    lines = ["## Peer benchmark", "", f"Peer group: {_md(group_text(doc))}.  ", _md(headline(doc)), ""]
    if doc["group"]["shown"]:
        lines += [f"*Measure: {_md(doc['measure'])}; percentile: {_md(doc['percentile_rule'])}.*", "",
                  "| Unit | Score | Stage | Percentile | Peers' median stage | Peers |", "|---|---:|---|---:|---|---:|"]
        lines += [f"| {_md(r['name'])} | {r['score']} | {r['stage']} | {r['percentile']} | {r['median']} "
                  f"| {r['peers']} |" for r in rows(doc)]
    return "\n".join(lines) + "\n"


def render_html(doc: Mapping[str, Any]) -> str:
    # its own autoescaping environment: the report's imports this module (its benchmark page)
    import jinja2
    env = jinja2.Environment(loader=jinja2.PackageLoader("kam_advisor.render", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("benchmark.html.j2").render(b=page_view(doc))


def page_view(doc: Mapping[str, Any]) -> dict:
    """What the HTML page (standalone or in the report) shows."""
    return {"organisation": doc["organisation"], "audit": doc["audit"], "group": group_text(doc),
            "headline": headline(doc), "shown": doc["group"]["shown"], "rows": rows(doc),
            "measure": doc["measure"], "rule": doc["percentile_rule"], "min_peers": doc["group"]["min_peers"]}


def render(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        import orjson
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "text":
        return render_text(doc)
    if fmt == "md":
        return render_md(doc)
    if fmt == "html":
        return render_html(doc)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")
