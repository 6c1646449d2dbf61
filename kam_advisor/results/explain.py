"""Explanations: the chain of reasons behind one finding of an assessment, down to the answers."""

from __future__ import annotations

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean


def explain(result: dict, finding_id: str, max_depth: int | None = None) -> list[tuple[int, str]]:
    """The chain of reasons behind one finding, down to the answers: (depth, line) pairs."""
    trace = {t["id"]: t for t in result["trace"]}
    start = finding_id
    if finding_id not in trace:
        for prefix in ("state:", "rec.", "flag.", "band:", "met:", "reach:"):
            if prefix + finding_id in trace:
                start = prefix + finding_id
                break
        else:
            raise DataError(f"no finding '{finding_id}' in this assessment{did_you_mean(finding_id, trace)}")
    lines: list[tuple[int, str]] = []
    seen: set[str] = set()

    def walk(fid: str, depth: int) -> None:
        t = trace.get(fid)
        if t is None:
            lines.append((depth, fid))
            return
        label = f"{fid}  [{t['rule']}]" + (f"  {t['text']}" if t["text"] else "")
        if fid in seen:
            lines.append((depth, f"{fid}  (see above)"))
            return
        seen.add(fid)
        lines.append((depth, label))
        if max_depth is not None and depth >= max_depth:
            if t["because"]:
                lines.append((depth + 1, f"... {len(t['because'])} more (raise --depth)"))
            return
        for b in t["because"]:
            walk(b, depth + 1)

    walk(start, 0)
    return lines


def render_explain(lines: list[tuple[int, str]]) -> str:
    return "".join("  " * depth + ("- " if depth else "") + text + "\n" for depth, text in lines)
