"""The inline SVG charts: colour scale, geometry, escaping, determinism, well-formedness."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from kam_advisor.render import charts

SVG = "{http://www.w3.org/2000/svg}"
STAGES = [{"id": s, "short": n} for s, n in zip("ABCD", ("Scoping", "Introducing", "Embedding", "Optimising"))]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


@pytest.mark.parametrize("value, text", [(1.0, "1"), (2.5, "2.5"), (1.26, "1.3"), (-0.04, "0"), (0, "0"),
                                         (123.449, "123.4"), (10.0, "10")])
def test_num_is_short_and_stable(value, text):
    assert charts.num(value) == text


def test_colour_scale_runs_red_amber_green_and_grey_for_no_actions():
    assert charts.colour(0) == "#c62828"
    assert charts.colour(0.5) == "#f2a900"
    assert charts.colour(1) == "#2e7d32"
    assert charts.colour(None) == charts.NO_DATA
    # out-of-range ratios are clamped, not extrapolated
    assert charts.colour(-1) == charts.colour(0) and charts.colour(7) == charts.colour(1)
    # red falls as completion rises past amber
    reds = [int(charts.colour(r / 10)[1:3], 16) for r in range(5, 11)]
    assert reds == sorted(reds, reverse=True)


def test_text_colour_reads_on_its_fill():
    assert charts.text_colour(charts.colour(0)) == "#ffffff"
    assert charts.text_colour(charts.colour(1)) == "#ffffff"
    assert charts.text_colour(charts.colour(0.5)) == charts.INK


def test_radar_places_values_on_their_axes():
    axes = [("North", 100), ("East", 50), ("South", 0), ("West", None)]
    svg = charts.radar(axes, title="Test radar")
    assert isinstance(svg, Markup)
    root = _parse(svg)
    series = root.find(f"{SVG}polygon[@class='series']")
    points = [tuple(map(float, p.split(","))) for p in series.get("points").split()]
    assert len(points) == 4
    (nx, ny), (ex, ey), (sx, sy), (wx, wy) = points
    # North at full radius straight up; East at half radius to the right; South and West at the centre
    cx, cy = sx, sy
    assert (wx, wy) == (cx, cy)
    assert nx == pytest.approx(cx) and ny < cy
    radius = cy - ny
    assert ex - cx == pytest.approx(radius / 2, abs=0.1) and ey == pytest.approx(cy, abs=0.1)
    # four rings + the series
    assert len(root.findall(f"{SVG}polygon")) == 5
    # a missing value is drawn as a hollow marker and labelled "no data"
    assert "no data" in svg
    assert root.find(f"{SVG}title").text == "Test radar"


def test_radar_escapes_labels_and_is_deterministic():
    axes = [("<b>x</b> & y", 10), ("B", 20), ("C", 30)]
    one, two = str(charts.radar(axes, title="t <x>")), str(charts.radar(axes, title="t <x>"))
    assert one == two
    assert "<b>" not in one and "&lt;b&gt;x&lt;/b&gt; &amp; y" in one
    assert 'aria-label="t &lt;x&gt;"' in one
    _parse(one)


def test_radar_needs_three_axes():
    with pytest.raises(ValueError):
        charts.radar([("A", 1), ("B", 2)], title="x")


def test_radar_clamps_values_outside_the_scale():
    svg = charts.radar([("A", 250), ("B", -5), ("C", 50)], title="x")
    root = _parse(svg)
    pts = [tuple(map(float, p.split(","))) for p in root.find(f"{SVG}polygon[@class='series']").get("points").split()]
    rings = root.findall(f"{SVG}polygon")
    outer = [tuple(map(float, p.split(","))) for p in rings[3].get("points").split()]
    assert pts[0] == outer[0]            # 250 -> the outer ring
    assert not any(math.isnan(c) for p in pts for c in p)


def _grid():
    return [{"label": "Area <one>", "rows": [
        {"label": "Topic 1", "cells": {"A": {"ratio": 1.0, "met": True}, "B": {"ratio": 0.5, "met": False},
                                       "C": {"ratio": 0.0, "met": False}, "D": {"ratio": None, "met": True}}},
        {"label": "Topic 2", "cells": {"A": {"ratio": 0.8, "met": True}}},
    ]}, {"label": "Area two", "rows": [{"label": "Topic 3", "cells": {}}]}]


def test_heatmap_has_one_coloured_cell_per_topic_and_stage():
    svg = charts.heatmap(_grid(), STAGES, title="Grid")
    root = _parse(svg)
    cells = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(cells) == 3 * 4
    fills = [c.get("fill") for c in cells]
    assert fills[:4] == [charts.colour(1.0), charts.colour(0.5), charts.colour(0.0), charts.NO_DATA]
    # cells absent from the data are grey "no actions", never invented
    assert fills[5:8] == [charts.NO_DATA] * 3 and fills[8:] == [charts.NO_DATA] * 4
    tips = [c.find(f"{SVG}title").text for c in cells]
    assert tips[0] == "Topic 1 / A: 100%" and tips[3] == "Topic 1 / D: nothing required"


def test_heatmap_marks_met_cells_and_escapes_labels():
    svg = charts.heatmap(_grid(), STAGES, title="Grid")
    texts = ["".join(t.itertext()) for t in _parse(svg).iter(f"{SVG}text")]
    assert "100% \u2713" in texts and "50%" in texts and "80% \u2713" in texts
    # a grey cell is never ticked, even when its cell says met
    assert "\u2013 \u2713" not in texts
    assert "Area &lt;one&gt;" in svg


def test_legend_shows_the_scale_and_the_grey_swatch():
    svg = charts.legend()
    root = _parse(svg)
    stops = [s.get("stop-color") for s in root.iter(f"{SVG}stop")]
    assert stops[0] == charts.colour(0) and stops[-1] == charts.colour(1)
    assert any(r.get("fill") == charts.NO_DATA for r in root.iter(f"{SVG}rect"))
    assert re.search(r"nothing required or not applicable", svg) and re.search(r"not assessed", svg)
    assert any(r.get("fill") == charts.NOT_ASSESSED for r in root.iter(f"{SVG}rect"))
