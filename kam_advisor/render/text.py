"""The short plain-text summary of an assessment for the terminal (`assess --format text`)."""

from __future__ import annotations

from kam_advisor.render import kinds


def _stage(s):
    return s or "none"


def render_text(result: dict, limit: int = 10) -> str:
    """A short plain summary for the terminal (the full report is `kam-advisor report`)."""
    if kinds.is_own(result):  # an account or plan result
        return kinds.render_own(result, "text")
    o = result["overall"]
    names = {s["id"]: s["name"] for s in result["stages"]}
    out = []
    title = result.get("organisation") or "KAM assessment"
    out.append(f"{title} - questionnaire {result['questionnaire']}, knowledge base {result['kb_version']}")
    cov = result["coverage"]
    out.append(f"coverage: {cov['answered']} of {cov['total']} actions answered ({cov['ratio']:.0%}), "
               f"confidence {cov['confidence']}")
    achieved = f"{o['achieved']} {names[o['achieved']]}" if o["achieved"] else "none"
    out.append(f"\nProgramme stage: achieved {achieved}; working on {o['current']} {names[o['current']]}")
    out.append(f"  why: {o['reason']}  [{o['rule']}]")
    out.append("\nDimensions and areas:")
    for d in result["dimensions"]:
        out.append(f"  {d['name']:<38} achieved {_stage(d['achieved']):<5} current {d['current']}")
        for a in result["areas"]:
            if a["dimension"] == d["id"]:
                out.append(f"    {a['name']:<36} achieved {_stage(a['achieved']):<5} current {a['current']}")
    out.append("\nFacets:")
    for f in result["facets"]:
        score = "-" if f["score"] is None else f"{f['score']:>3}"
        out.append(f"  {f['name']:<38} {score:>4}  {f['band'] or 'not assessed'}")
    flags = result["red_flags"]
    out.append(f"\nRed flags ({len(flags)}):")
    for f in flags:
        out.append(f"  [{f['severity']}] {f['id']}: {f['message']}")
    if not flags:
        out.append("  none")
    recs = result["recommendations"]
    out.append(f"\nNext actions ({len(recs)}; first {min(limit, len(recs))}):")
    for r in recs[:limit]:
        out.append(f"  {r['rank']:>3}. [{r['priority']}] {r['item']} ({r['status']}): {r['text']}")
    rm = result["roadmap"]
    if rm["to"]:
        n = sum(len(s["actions"]) for s in rm["steps"])
        out.append(f"\nRoadmap to stage {rm['to']}: {n} actions ("
                   + ", ".join(f"{len(s['actions'])} at stage {s['stage']}" for s in rm["steps"]) + ")")
    out.append("\nExplain any finding: kam-advisor explain ID --answers FILE")
    return "\n".join(out) + "\n"
