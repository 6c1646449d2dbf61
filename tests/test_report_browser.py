"""The HTML report in a real browser: headless Chromium loads it without console errors and
the first page of the screenshot is not blank.

Skipped when Chromium is not installed, unless the environment variable CI is set (then the
missing browser is a failure: CI installs Debian's ``chromium``).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import ROOT
from kam_advisor.render import report

FIXTURE = Path(os.environ.get("REPORT_FIXTURE") or ROOT / "tests" / "fixtures" / "sample-result.json")
WINDOW = (1240, 1754)          # A4 proportions


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    found = _chromium()
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install it: apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return found


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """A non-interlaced 8-bit PNG as (width, height, bytes per pixel, rows of raw pixels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour_type in (0, 2, 4, 6), header
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    prev = bytearray(stride)
    rows, i = [], 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def _pixels(rows: list[bytes], bpp: int):
    colour_bytes = 3 if bpp >= 3 else 1
    for row in rows:
        for x in range(0, len(row), bpp):
            yield row[x:x + colour_bytes]


def test_png_decoder_reads_a_known_image():
    """The stdlib decoder itself: a 2x2 RGB image with Sub and Up filtered rows."""
    raw = bytes([1, 10, 20, 30, 5, 5, 5]) + bytes([2, 1, 1, 1, 0, 0, 0])
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    width, height, bpp, rows = decode_png(png)
    assert (width, height, bpp) == (2, 2, 3)
    assert rows == [bytes([10, 20, 30, 15, 25, 35]), bytes([11, 21, 31, 15, 25, 35])]


def _load(browser: str, html: str, folder: Path) -> tuple[list[str], bytes]:
    """Open ``html`` in headless Chromium: the page's console lines and a first-page screenshot."""
    page = folder / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = folder / "first-page.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
         f"--user-data-dir={folder / 'profile'}", "--enable-logging=stderr", "--v=0",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=90)
    assert shot.exists(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    # Any page console message counts: the report has no script, so a message can only be an
    # error (a blocked resource, a Content-Security-Policy violation, a failed load).
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln
               or "Failed to load resource" in ln or "Content Security Policy" in ln]
    return console, shot.read_bytes()


@pytest.fixture(scope="module")
def html() -> str:
    return report.render(json.loads(FIXTURE.read_text(encoding="utf-8")), "html")


def test_report_loads_cleanly_and_first_page_is_not_blank(browser, html, tmp_path):
    console, png = _load(browser, html, tmp_path)
    assert console == [], "\n".join(console)
    width, height, bpp, rows = decode_png(png)
    assert (width, height) == WINDOW
    colours: set[bytes] = set()
    ink = 0
    for pixel in _pixels(rows, bpp):
        colours.add(pixel)
        if min(pixel) < 200:          # clearly darker than white / the light page backdrop
            ink += 1
    assert len(colours) > 50, f"only {len(colours)} distinct colours: the page looks blank"
    assert ink > width * height * 0.01, f"only {ink} dark pixels: the page looks blank"


def test_console_check_catches_a_script_and_an_external_load(browser, html, tmp_path):
    """The check above is not vacuous: injected script and a remote image are reported."""
    bad = html.replace("<body>", '<body><script>console.error("boom")</script>'
                                 '<img src="https://example.invalid/x.png" alt=""/>', 1)
    console, _ = _load(browser, bad, tmp_path)
    assert any("script" in ln for ln in console) and any("example.invalid" in ln for ln in console)
