"""A consulting firm's brand: its name, colour, logo and footer, read from a small YAML file.

``load_brand(path)`` checks everything once (one-line :class:`DataError`, exit 2): the logo is
read into memory, so what renders a report, a deck or a web page never opens a file the
user named. An SVG logo is only ever shown as an image (``<img src="data:...">``), where no
script runs and nothing is fetched; scripts, event handlers and outside references are
refused anyway, so a logo that would do anything in another viewer is not carried further.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kam_advisor.data.errors import DataError
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import LineDict, load_file, open_regular

ENV_VAR = "KAM_ADVISOR_BRAND"
KEYS = ("firm", "colour", "logo", "footer")
MAX_LOGO_BYTES = 1024 * 1024          # a logo is a few KB; a megabyte is a photograph
MAX_FIRM = 120
MAX_FOOTER = 300
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_HEX = re.compile(r"#[0-9A-Fa-f]{6}")
_SVG_NS = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class Brand:
    """A checked brand: ``colour`` is ``#RRGGBB`` (upper case); ``logo`` the image's bytes."""

    firm: str
    colour: str
    logo: bytes | None = None
    logo_type: str = ""              # "png" or "svg"
    logo_size: tuple[int, int] | None = None  # a PNG's pixels (width, height)
    footer: str = ""

    @property
    def logo_mime(self) -> str:
        return {"png": "image/png", "svg": "image/svg+xml"}.get(self.logo_type, "")

    def logo_data_uri(self) -> str:
        """The logo as a ``data:`` URI for an ``<img>`` (no file, no request); '' without one."""
        if not self.logo:
            return ""
        return f"data:{self.logo_mime};base64,{base64.b64encode(self.logo).decode('ascii')}"

    @property
    def ink(self) -> str:
        """Black or white text, whichever reads better on the brand colour."""
        r, g, b = (int(self.colour[i:i + 2], 16) for i in (1, 3, 5))
        return "#FFFFFF" if 0.299 * r + 0.587 * g + 0.114 * b < 150 else "#1F2933"


def _text(doc: LineDict, key: str, path, limit: int, required: bool) -> str:
    value = doc.get(key)
    line = doc.line_of(key)
    if value is None:
        if required:
            raise DataError(f"{key}: missing (expected {'the firm name' if key == 'firm' else 'text'})", path,
                            doc.line or None)
        return ""
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{key}: expected text, got {value!r}", path, line)
    text = " ".join(value.split())
    if len(text) > limit:
        raise DataError(f"{key}: too long ({len(text)} characters; the limit is {limit})", path, line)
    return text


def _png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its header chunk; None when the header is not there."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _check_svg(data: bytes, where: str, path, line: int) -> None:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException
    from xml.etree.ElementTree import ParseError

    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as err:
        raise DataError(f"logo: {where} is not an image (expected a PNG or SVG file; "
                        f"as SVG: {str(err).splitlines()[0][:80]})", path, line) from None
    if root.tag not in (f"{_SVG_NS}svg", "svg"):
        raise DataError(f"logo: {where} is not an image (expected a PNG or SVG file; "
                        f"its XML root is not <svg>)", path, line)
    for element in root.iter():
        name = str(element.tag).rsplit("}", 1)[-1].lower()
        if name in ("script", "foreignobject"):
            raise DataError(f"logo: {where}: an SVG logo may not hold <{name}>", path, line)
        for attr, value in element.attrib.items():
            short = attr.rsplit("}", 1)[-1].lower()
            if short.startswith("on"):
                raise DataError(f"logo: {where}: an SVG logo may not hold event handlers ({short})", path, line)
            if (attr == _XLINK or short == "href") and not value.strip().startswith(("#", "data:image/")):
                raise DataError(f"logo: {where}: an SVG logo may not refer to anything outside it "
                                f"({short}={value[:40]!r})", path, line)
            if "url(" in value and not re.fullmatch(r"[^()]*url\(\s*#[^)]*\)[^()]*", value.replace("\n", " ")):
                raise DataError(f"logo: {where}: an SVG logo may not refer to anything outside it", path, line)


def _logo(doc: LineDict, path: Path) -> tuple[bytes | None, str, tuple[int, int] | None]:
    value = doc.get("logo")
    if value is None:
        return None, "", None
    line = doc.line_of("logo")
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"logo: expected the path of a PNG or SVG file, got {value!r}", path, line)
    logo_path = (path.parent / value.strip()) if not Path(value.strip()).is_absolute() else Path(value.strip())
    where = repr(value.strip())
    try:
        data = open_regular(logo_path, limit=MAX_LOGO_BYTES)
    except DataError as err:
        raise DataError(f"logo: {where}: {err.message}", path, line) from None
    if data.startswith(PNG_MAGIC):
        size = _png_size(data)
        if size is None:
            raise DataError(f"logo: {where} is not an image (a damaged PNG: no header)", path, line)
        return data, "png", size
    if b"<svg" in data[:4096] or data.lstrip().startswith(b"<"):
        _check_svg(data, where, path, line)
        return data, "svg", None
    raise DataError(f"logo: {where} is not an image (expected a PNG or SVG file)", path, line)


def load_brand(path: str | Path) -> Brand:
    """The brand in the YAML file ``path`` (keys ``firm``, ``colour``, ``logo``, ``footer``).

    ``firm`` and ``colour`` are required; ``logo`` is a PNG or SVG file, relative to the
    brand file's folder; ``footer`` is a line of text for every page. Anything else is a
    one-line DataError naming the file, line and key.
    """
    path = Path(path)
    doc: Any = load_file(path)
    if not isinstance(doc, dict):
        raise DataError("expected a mapping with firm, colour and logo (and optionally footer)", path, 1)
    if not isinstance(doc, LineDict):
        doc = LineDict(doc)
    for key in doc:
        if key not in KEYS:
            raise DataError(f"unknown key '{key}'{did_you_mean(str(key), KEYS)} (expected {', '.join(KEYS)})",
                            path, doc.line_of(key))
    firm = _text(doc, "firm", path, MAX_FIRM, required=True)
    colour = doc.get("colour")
    if colour is None and "colour" in doc:  # colour: #1F4E79 unquoted: YAML reads a comment
        raise DataError("colour: empty (a # starts a comment in YAML: quote it, colour: '#1F4E79')", path,
                        doc.line_of("colour"))
    if colour is None:
        raise DataError("colour: missing (expected a hex colour like #1F4E79)", path, doc.line or None)
    if isinstance(colour, str) and _HEX.fullmatch("#" + colour.strip()):
        colour = "#" + colour.strip()
    if not isinstance(colour, str) or not _HEX.fullmatch(colour.strip()):
        raise DataError(f"colour: expected a hex colour like #1F4E79, got {str(colour)!r}", path, doc.line_of("colour"))
    logo, logo_type, size = _logo(doc, path)
    footer = _text(doc, "footer", path, MAX_FOOTER, required=False)
    return Brand(firm=firm, colour=colour.strip().upper(), logo=logo, logo_type=logo_type, logo_size=size,
                 footer=footer)
