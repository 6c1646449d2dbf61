"""Inline SVG charts for the report: a radar (spider) chart and the checklist heatmap.

Both are built from plain data and return ``markupsafe.Markup`` (every text in them is escaped
here), so templates can place them without ``|safe``. Output is deterministic: coordinates are
rounded and printed by :func:`num`, nothing depends on the clock or on dict order.
"""

from __future__ import annotations

import math
import textwrap
from typing import Iterable, Sequence

from markupsafe import Markup, escape

# Completion colour scale: red (0 %) -> amber -> light green at the cell threshold (the score a
# stage needs to be met, read from the result) -> green (100 %); grey for "nothing required or not
# applicable"; a pale blue-grey for "not assessed" (no known answer), which is not a 0 %.
RED, AMBER, LIGHT_GREEN, GREEN = (0xC6, 0x28, 0x28), (0xF2, 0xA9, 0x00), (0x7C, 0xB3, 0x42), (0x2E, 0x7D, 0x32)
NO_DATA = "#d9dde3"
NOT_ASSESSED = "#eef3fa"
INK = "#1f2933"
MUTED = "#6b7280"
ACCENT = "#1d4e89"


def num(value: float) -> str:
    """A coordinate as short, stable text: at most 1 decimal, no trailing zeros, never ``-0``."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def scale(threshold: float = 0.8) -> tuple:
    """The colour stops: amber at five eighths of the threshold, light green at the threshold."""
    return ((0.0, RED), (threshold * 0.625, AMBER), (threshold, LIGHT_GREEN), (1.0, GREEN))


def colour(ratio: float | None, threshold: float = 0.8) -> str:
    """The fill for a completion ratio (0..1); grey when the cell has no applicable actions."""
    if ratio is None:
        return NO_DATA
    stops = scale(threshold)
    r = min(max(float(ratio), 0.0), 1.0)
    for (x0, c0), (x1, c1) in zip(stops, stops[1:]):
        if r <= x1:
            t = (r - x0) / (x1 - x0) if x1 > x0 else 1.0
            rgb = tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))
            return "#%02x%02x%02x" % rgb
    return "#%02x%02x%02x" % stops[-1][1]


def cell_fill(ratio: float | None, state: str, threshold: float = 0.8) -> str:
    """A grid cell's fill by its state: scored (the colour scale), empty (grey) or unknown."""
    if state == "unknown":
        return NOT_ASSESSED
    if state == "empty" or ratio is None:
        return NO_DATA
    return colour(ratio, threshold)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (``#rrggbb``)."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return "#ffffff" if luminance < 150 else INK


def percent(ratio: float | None) -> str:
    """``0.5`` -> ``'50%'``; ``None`` -> an en dash."""
    return "\u2013" if ratio is None else f"{round(float(ratio) * 100)}%"


def _lines(label: str, width: int) -> list[str]:
    return textwrap.wrap(label, width) or [""]


def radar(axes: Sequence[tuple[str, float | None]], *, title: str, size: int = 400,
          max_value: float = 100.0, label_width: int = 14) -> Markup:
    """A radar chart of ``(label, value)`` pairs, values on 0..``max_value``; ``None`` = no data.

    Rings mark 25/50/75/100 %; each axis is labelled with its name and value.
    """
    n = len(axes)
    if n < 3:
        raise ValueError("a radar chart needs at least three axes")
    w, h = size + 100, size
    cx, cy = w / 2, h / 2
    radius = size / 2 - 62
    line_h = 15

    def point(i: int, frac: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + radius * frac * math.cos(angle), cy + radius * frac * math.sin(angle)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart radar" viewBox="0 0 {num(w)} {num(h)}" '
           f'role="img" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for ring in (0.25, 0.5, 0.75, 1.0):
        pts = " ".join(f"{num(x)},{num(y)}" for x, y in (point(i, ring) for i in range(n)))
        out.append(f'<polygon points="{pts}" fill="none" stroke="#c9ced6" stroke-width="{1 if ring == 1 else 0.6}"/>')
    for ring in (0.5, 1.0):
        x, y = point(0, ring)
        out.append(f'<text x="{num(x + 4)}" y="{num(y + 14)}" font-size="11" fill="{MUTED}">'
                   f"{round(ring * max_value)}</text>")
    for i in range(n):
        x, y = point(i, 1.0)
        out.append(f'<line x1="{num(cx)}" y1="{num(cy)}" x2="{num(x)}" y2="{num(y)}" stroke="#c9ced6" stroke-width="0.6"/>')
    fracs = [None if v is None else min(max(float(v) / max_value, 0.0), 1.0) for _, v in axes]
    data = [point(i, f or 0.0) for i, f in enumerate(fracs)]
    out.append('<polygon class="series" points="' + " ".join(f"{num(x)},{num(y)}" for x, y in data)
               + f'" fill="{ACCENT}" fill-opacity="0.22" stroke="{ACCENT}" stroke-width="2" stroke-linejoin="round"/>')
    for (x, y), f in zip(data, fracs):
        if f is None:
            out.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="4" fill="#ffffff" stroke="{MUTED}" stroke-width="1.2"/>')
        else:
            out.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="4" fill="{ACCENT}"/>')
    for i, (label, value) in enumerate(axes):
        angle = -math.pi / 2 + 2 * math.pi * i / n
        lx, ly = point(i, 1.0)
        lx += 10 * math.cos(angle)
        ly += 10 * math.sin(angle)
        cos = math.cos(angle)
        anchor = "middle" if abs(cos) < 0.3 else ("start" if cos > 0 else "end")
        lines = _lines(label, label_width) + ["no data" if value is None else f"{round(float(value))}"]
        top = ly - (len(lines) - 1) * line_h / 2 + 4 if abs(math.sin(angle)) < 0.5 else (
            ly - (len(lines) - 1) * line_h if math.sin(angle) < 0 else ly + 12)
        spans = []
        for j, line in enumerate(lines):
            last = j == len(lines) - 1
            style = f' font-weight="700" fill="{ACCENT}"' if last else ""
            spans.append(f'<tspan x="{num(lx)}" y="{num(top + j * line_h)}"{style}>{escape(line)}</tspan>')
        out.append(f'<text font-size="13" fill="{INK}" text-anchor="{anchor}">' + "".join(spans) + "</text>")
    out.append("</svg>")
    return Markup("\n".join(out))


def heatmap(groups: Iterable[dict], stages: Sequence[dict], *, title: str) -> Markup:
    """The checklist grid: one row per topic, one column per stage, cells coloured by completion.

    ``groups`` is a list of ``{"label": area name, "rows": [{"label", "cells": {stage: {"ratio",
    "met"}}}]}``; ``stages`` the stage records (``id``, ``name``). A met cell carries a tick.
    """
    groups = list(groups)
    label_w, area_w, cell_w, cell_h, gap, head_h = 190, 150, 96, 20, 2, 34
    n_rows = sum(len(g["rows"]) for g in groups)
    w = area_w + label_w + len(stages) * (cell_w + gap)
    h = head_h + n_rows * (cell_h + gap) + (len(groups) - 1) * 6 + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" viewBox="0 0 {num(w)} {num(h)}" '
           f'role="img" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    x0 = area_w + label_w
    for k, stage in enumerate(stages):
        x = x0 + k * (cell_w + gap) + cell_w / 2
        out.append(f'<text x="{num(x)}" y="14" font-size="11" font-weight="700" fill="{INK}" text-anchor="middle">'
                   f'{escape(stage["id"])}</text>')
        out.append(f'<text x="{num(x)}" y="27" font-size="9" fill="{MUTED}" text-anchor="middle">'
                   f'{escape(stage.get("short") or stage.get("name", ""))}</text>')
    y = head_h
    for g_index, group in enumerate(groups):
        if g_index:
            y += 6
        rows = group["rows"]
        block_h = len(rows) * (cell_h + gap) - gap
        out.append(f'<rect x="0" y="{num(y)}" width="{area_w - 8}" height="{num(block_h)}" fill="#eef2f7"/>')
        lines = _lines(group["label"], 22)
        first = y + block_h / 2 - (len(lines) - 1) * 6 + 3.5
        spans = "".join(f'<tspan x="8" y="{num(first + j * 12)}">{escape(line)}</tspan>' for j, line in enumerate(lines))
        out.append(f'<text font-size="10" font-weight="700" fill="{INK}">{spans}</text>')
        for row in rows:
            out.append(f'<text x="{area_w}" y="{num(y + cell_h / 2 + 3.5)}" font-size="10" fill="{INK}">'
                       f'{escape(row["label"])}</text>')
            for k, stage in enumerate(stages):
                cell = row["cells"].get(stage["id"]) or {}
                ratio = cell.get("ratio")
                state = cell.get("state") or ("scored" if ratio is not None else "empty")
                fill = cell.get("fill") or cell_fill(ratio, state)
                x = x0 + k * (cell_w + gap)
                note = {"empty": cell.get("note") or "nothing required", "unknown": "not assessed"}.get(state)
                tip = f'{row["label"]} / {stage["id"]}: ' + (note or percent(ratio))
                dash = ' stroke="#9aa5b4" stroke-dasharray="3 2"' if state == "unknown" else ""
                out.append(f'<rect x="{num(x)}" y="{num(y)}" width="{cell_w}" height="{cell_h}" rx="2" '
                           f'fill="{fill}"{dash}><title>{escape(tip)}</title></rect>')
                text = ("?" if state == "unknown" else "\u2013" if state == "empty" else percent(ratio)) + (
                    " \u2713" if state == "scored" and cell.get("met") else "")
                out.append(f'<text x="{num(x + cell_w / 2)}" y="{num(y + cell_h / 2 + 3.5)}" font-size="10" '
                           f'fill="{text_colour(fill) if state == "scored" else MUTED}" text-anchor="middle">'
                           f'{escape(text)}</text>')
            y += cell_h + gap
    out.append("</svg>")
    return Markup("\n".join(out))


def legend(*, title: str = "Completion of the cell's applicable actions", threshold: float = 0.8) -> Markup:
    """The heatmap's colour scale: a gradient bar 0-100 %, a grey 'nothing required or not
    applicable' swatch and a dashed 'not assessed' one."""
    stops = "".join(f'<stop offset="{num(x * 100)}%" stop-color="{colour(x, threshold)}"/>'
                    for x, _ in scale(threshold))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart legend" viewBox="0 0 620 52" role="img" '
           f'aria-label="{escape(title)}">', f"<title>{escape(title)}</title>",
           f'<defs><linearGradient id="kam-scale" x1="0" x2="1" y1="0" y2="0">{stops}</linearGradient></defs>',
           '<rect x="0" y="4" width="300" height="12" rx="2" fill="url(#kam-scale)"/>']
    for x, label in ((0, "0%"), (150, "50%"), (300, "100%")):
        anchor = "start" if x == 0 else "end" if x == 300 else "middle"
        out.append(f'<text x="{x}" y="30" font-size="10" fill="{MUTED}" text-anchor="{anchor}">{label}</text>')
    out.append(f'<rect x="330" y="4" width="22" height="12" rx="2" fill="{NO_DATA}"/>')
    out.append(f'<text x="358" y="14" font-size="10" fill="{INK}">\u2013 nothing required or not applicable</text>')
    out.append(f'<rect x="330" y="22" width="22" height="12" rx="2" fill="{NOT_ASSESSED}" stroke="#9aa5b4" '
               'stroke-dasharray="3 2"/>')
    out.append(f'<text x="358" y="32" font-size="10" fill="{INK}">? not assessed (no known answer)</text>')
    out.append(f'<text x="0" y="48" font-size="10" fill="{INK}">\u2713 = stage met: at least {percent(threshold)} '
               'of its known answers</text>')
    out.append("</svg>")
    return Markup("\n".join(out))


# --- labels beside bubbles ------------------------------------------------------------------------

LABEL_FONT = 9
LABEL_CHARS = 24   # a longer name is cut with an ellipsis


def label_width(text: str, font: float = LABEL_FONT) -> float:
    """An estimate of a label's width in user units (average glyph ~0.56 em)."""
    return len(text) * font * 0.56


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def place_labels(bubbles: Sequence[tuple[float, float, float, str]], bounds: tuple[float, float, float, float],
                 font: float = LABEL_FONT, occupied: Iterable[tuple] = ()) -> list[tuple[float, float, str, tuple] | None]:
    """Where each bubble's label goes: ``(x, y, anchor, box)`` or None when no place is free.

    ``bubbles`` are ``(cx, cy, r, text)`` in drawing priority (the first placed first); a label
    tries the right of its bubble, then the left, then above and below on either side, and takes
    the first place inside ``bounds`` (x0, y0, x1, y1) that overlaps no label already placed
    and no other bubble's centre, nor the ``occupied`` boxes (x0, y0, x1, y1). Deterministic:
    same bubbles, same places."""
    x0, y0, x1, y1 = bounds
    taken = list(occupied)
    placed: list[tuple[float, float, float, float]] = []
    centres = [(cx, cy) for cx, cy, _, _ in bubbles]
    out: list[tuple[float, float, str, tuple] | None] = []
    h = font * 1.2
    for k, (cx, cy, r, text) in enumerate(bubbles):
        w = label_width(text, font)
        gap = r + 3
        side = r * 0.7 + 2
        candidates = [(cx + gap, cy, "start"), (cx - gap, cy, "end"),
                      (cx + side, cy - side - h / 2, "start"), (cx - side, cy - side - h / 2, "end"),
                      (cx + side, cy + side + h / 2, "start"), (cx - side, cy + side + h / 2, "end")]
        spot = None
        for lx, ly, anchor in candidates:
            left = lx if anchor == "start" else lx - w
            box = (left, ly - h / 2, left + w, ly + h / 2)
            if box[0] < x0 or box[2] > x1 or box[1] < y0 or box[3] > y1:
                continue
            if any(_overlap(box, b) for b in placed) or any(_overlap(box, b) for b in taken):
                continue
            if any(j != k and box[0] <= px <= box[2] and box[1] <= py <= box[3] for j, (px, py) in enumerate(centres)):
                continue
            spot = (lx, ly, anchor, box)
            break
        if spot is not None:
            placed.append(spot[3])
        out.append(spot)
    return out


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
