"""Text templates of rules data: {alias.field}, {alias.field:fmt}, {alias} (its id) and {each}."""

from __future__ import annotations

import re
from typing import Any, Mapping

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?(?::([^}]*))?\}")


def _format(got, fmt):
    if got is None:
        return "none"
    if fmt:
        try:
            return format(got, fmt)
        except (ValueError, TypeError):
            return str(got)
    if isinstance(got, list):
        return ", ".join(str(x) for x in got)
    return str(got)


class Template:
    """A text with {alias.field}, {alias.field:fmt}, {alias} (its id) and {each} placeholders,
    parsed once into str.format patterns with positional fields and the references to fill them:
    `pattern` applies the format specs itself (the fast path); `plain` takes values already
    converted by `_format` (None as "none", lists joined, a spec that does not fit ignored)."""

    __slots__ = ("pattern", "plain", "refs", "text")

    def __init__(self, text: str):
        pattern: list[str] = []
        plain: list[str] = []
        refs: list[tuple] = []
        pos = 0
        for m in PLACEHOLDER.finditer(text):
            literal = text[pos:m.start()].replace("{", "{{").replace("}", "}}")
            alias, fname, fmt = m.group(1), m.group(2), m.group(3)
            pattern += [literal, "{%d%s}" % (len(refs), ":" + fmt if fmt else "")]
            plain += [literal, "{%d}" % len(refs)]
            each = alias == "each" and fname is None
            refs.append((None if each else alias, fname or "id", fmt or None))
            pos = m.end()
        tail = text[pos:].replace("{", "{{").replace("}", "}}")
        self.pattern = "".join(pattern) + tail
        self.plain = "".join(plain) + tail
        self.refs = tuple(refs)
        self.text = text

    def fill(self, frame: Mapping[str, Mapping[str, Any]], each=None) -> str:
        if not self.refs:
            return self.text
        values = []
        simple = True
        for alias, key, _ in self.refs:
            if alias is None:
                got = each
            else:
                fact = frame.get(alias)
                got = fact.get(key) if fact is not None else None
            if got is None or got.__class__ is list:
                simple = False
            values.append(got)
        if simple:
            try:
                return self.pattern.format(*values)
            except (ValueError, TypeError):
                pass
        return self.plain.format(*[_format(v, ref[2]) for v, ref in zip(values, self.refs)])
