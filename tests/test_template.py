"""Rule text templates: placeholders, formats of our own (plural, and) and Python format specs,
filled the same way whatever the values (None reads "none", a list is joined, a spec that does
not fit the value is ignored)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from kam_advisor.data.template import Template, _format, fill_params

FORMATS = [None, "plural(account|accounts)", "choose(it|them)", "and", ".0%", "d", ">6", ".1f", "g"]
VALUES = st.one_of(st.none(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False), st.text(max_size=4),
                   st.lists(st.text("ab", max_size=2), max_size=3), st.booleans())


def test_the_formats_of_our_own():
    frame = {"c": {"n": 1, "m": 3, "names": ["A", "B", "C"], "one": ["A"], "none": [], "x": None, "r": 0.25}}
    assert Template("{c.n:plural(account|accounts)} and {c.m:plural(account|accounts)}").fill(frame) == \
        "1 account and 3 accounts"
    assert Template("{c.names:and}; {c.one:and}; {c.none:and}; {c.x:and}").fill(frame) == "A, B and C; A; none; none"
    assert Template("{c.r:.0%} of {c}, {c.names}, {c.missing}").fill({**frame, "c": {**frame["c"], "id": "cell:x"}}) \
        == "25% of cell:x, A, B, C, none"
    assert Template("{each}: {c.r:d}").fill(frame, each="item") == "item: 0.25"   # a spec that does not fit
    assert fill_params("{param.limit:plural(page|pages)} at most", {"limit": 2}) == "2 pages at most"
    # the word alone, for a pronoun or verb that agrees with a count said earlier in the sentence
    assert Template("{c.n:plural(account buys|accounts buy)}: move {c.n:choose(it|them)}; {c.m:choose(it|them)}") \
        .fill(frame) == "1 account buys: move it; them"


@given(st.lists(st.tuples(st.sampled_from(FORMATS), VALUES), min_size=1, max_size=4))
def test_every_placeholder_reads_as_its_format_says(parts):
    """The template parsed once fills exactly as formatting each value would: with Python's
    format specs when every value is plain and fits its spec, else each value read tolerantly."""
    text = " | ".join("{f.v%d%s}" % (n, ":" + fmt if fmt else "") for n, (fmt, _) in enumerate(parts))
    frame = {"f": {f"v{n}": value for n, (_, value) in enumerate(parts)}}
    tolerant = " | ".join(_format(value, fmt) for fmt, value in parts)
    plain = all(value is not None and not isinstance(value, list) and fmt not in ("and", FORMATS[1])
                for fmt, value in parts)
    expected = tolerant
    if plain:
        try:
            expected = " | ".join(format(value, fmt or "") for fmt, value in parts)
        except (ValueError, TypeError):
            pass
    assert Template(text).fill(frame) == expected
