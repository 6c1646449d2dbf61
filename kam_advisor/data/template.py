"""Text templates of rules data: {alias.field}, {alias.field:fmt}, {alias} (its id) and {each}.

Besides Python's format specs, two formats read well in client-facing sentences:
``{a.count:plural(account|accounts)}`` gives "1 account" / "3 accounts",
``{a.count:choose(it|them)}`` the word alone ("it" / "them"), and ``{a.names:and}`` joins a list
as "A, B and C". ``{param.NAME}`` (with an optional format) is a parameter of the
rules, filled in once when the rules are compiled (:func:`fill_params`).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?(?::([^}]*))?\}")


PARAM = re.compile(r"\{param\.([a-z_][a-z0-9_]*)(?::([^}]*))?\}")
_PLURAL = re.compile(r"^plural\(([^|)]*)\|([^)]*)\)$")
_CHOOSE = re.compile(r"^choose\(([^|)]*)\|([^)]*)\)$")


def _number(got) -> str:
    return format(got, "g") if isinstance(got, float) else str(got)


def _special(got, fmt: str) -> str | None:
    """The two formats of our own, or None when ``fmt`` is a Python format spec."""
    m = _PLURAL.match(fmt)
    if m:
        return f"{_number(got)} {m.group(1) if got == 1 else m.group(2)}"
    m = _CHOOSE.match(fmt)
    if m:
        return m.group(1) if got == 1 else m.group(2)
    if fmt == "and":
        items = [str(x) for x in got] if isinstance(got, (list, tuple)) else [str(got)]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else "none"
    return None


def fill_params(text: str, params: Mapping[str, Any]) -> str:
    """``{param.NAME}`` / ``{param.NAME:fmt}`` replaced by the parameter's value (KeyError if unknown)."""
    def value(m):
        got, fmt = params[m.group(1)], m.group(2)
        if fmt:
            special = _special(got, fmt)
            return special if special is not None else _format(got, fmt)
        return _format(got, "g" if isinstance(got, float) else None)
    return PARAM.sub(value, text)


def _format(got, fmt):
    if got is None:
        return "none"
    if fmt:
        special = _special(got, fmt)
        if special is not None:
            return special
        try:
            return format(got, fmt)
        except (ValueError, TypeError):
            return str(got)
    if isinstance(got, list):
        return ", ".join(str(x) for x in got)
    return str(got)


def _converter(fmt: str | None):
    """The function that turns one placeholder's value into text, as ``_format(value, fmt)`` does,
    with the format read once instead of at every fill."""
    if not fmt:
        return lambda got: "none" if got is None else ", ".join(str(x) for x in got) if isinstance(got, list) \
            else str(got)
    m = _PLURAL.match(fmt)
    if m:
        one, many = m.group(1), m.group(2)
        return lambda got: "none" if got is None else f"{_number(got)} {one if got == 1 else many}"
    m = _CHOOSE.match(fmt)
    if m:
        one, many = m.group(1), m.group(2)
        return lambda got: "none" if got is None else (one if got == 1 else many)
    if fmt == "and":
        return lambda got: "none" if got is None else _special(got, fmt)

    def formatted(got):
        if got is None:
            return "none"
        try:
            return format(got, fmt)
        except (ValueError, TypeError):
            return str(got)
    return formatted


class Template:
    """A text with {alias.field}, {alias.field:fmt}, {alias} (its id) and {each} placeholders,
    parsed once into str.format patterns with positional fields and the references to fill them:
    `pattern` applies the format specs itself (the fast path); `plain` takes values already
    converted by each placeholder's converter (None as "none", lists joined, a spec that does
    not fit ignored)."""

    __slots__ = ("pattern", "plain", "refs", "text", "slow", "converters")

    def __init__(self, text: str):
        slow = False
        pattern: list[str] = []
        plain: list[str] = []
        refs: list[tuple] = []
        pos = 0
        for m in PLACEHOLDER.finditer(text):
            literal = text[pos:m.start()].replace("{", "{{").replace("}", "}}")
            alias, fname, fmt = m.group(1), m.group(2), m.group(3)
            if fmt and _special(1, fmt) is not None:
                slow = True
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
        self.slow = slow
        self.converters = tuple(_converter(ref[2]) for ref in refs)

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
        if simple and not self.slow:
            try:
                return self.pattern.format(*values)
            except (ValueError, TypeError):
                pass
        return self.plain.format(*[convert(v) for convert, v in zip(self.converters, values)])
