"""The firm's brand (--brand FILE, KAM_ADVISOR_BRAND): a bad brand file is one line and exit 2;
a good one puts the firm's name, colour, logo and footer on the HTML report and the web pages."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT
from kam_advisor.cli import report as cli_report
from kam_advisor.data.brand import MAX_LOGO_BYTES, load_brand
from kam_advisor.data.errors import DataError
from kam_advisor.render import report

FIXTURE = ROOT / "tests" / "fixtures" / "sample-result.json"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" fill="#225522"/></svg>'


def png(width: int = 12, height: int = 4) -> bytes:
    """A real (tiny, one-colour) PNG, written by hand so the test needs no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\x22\x55\x22" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write_brand(folder: Path, text: str | None = None, logo: str = "logo.png") -> Path:
    (folder / "logo.png").write_bytes(png())
    (folder / "logo.svg").write_text(SVG)
    path = folder / "brand.yaml"
    path.write_text(text if text is not None else
                    f"firm: Harbour & Co Advisory\ncolour: '#225522'\nlogo: {logo}\nfooter: Confidential to the board\n")
    return path


@pytest.fixture()
def result() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


@pytest.fixture()
def cli(monkeypatch, tmp_path, result):
    monkeypatch.setattr(cli_report, "_assess", lambda paths, kb_dir, rules_dir: copy.deepcopy(result))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAM_ADVISOR_BRAND", raising=False)
    (tmp_path / "a.yaml").write_text("questionnaire: full-audit\n")
    runner = CliRunner()
    return lambda *args, env=None: runner.invoke(cli_report.report, ["--answers", "a.yaml", *args], env=env)


def test_a_brand_file_is_read_whole(tmp_path):
    brand = load_brand(write_brand(tmp_path))
    assert (brand.firm, brand.colour, brand.footer) == ("Harbour & Co Advisory", "#225522", "Confidential to the board")
    assert brand.logo == png() and brand.logo_type == "png" and brand.logo_size == (12, 4)
    assert brand.logo_data_uri() == "data:image/png;base64," + base64.b64encode(png()).decode()
    svg = load_brand(write_brand(tmp_path, "firm: Harbour\ncolour: '#abcdef'\nlogo: logo.svg\n"))
    assert svg.logo_type == "svg" and svg.colour == "#ABCDEF" and svg.footer == ""


BAD = [
    ("firm: A\ncolour: blue\nlogo: logo.png\n", 2, "colour: expected a hex colour like #1F4E79, got 'blue'"),
    ("firm: A\ncolour: '#12345'\n", 2, "colour: expected a hex colour like #1F4E79, got '#12345'"),
    ("firm: A\ncolour: #225522\n", 2, "a # starts a comment in YAML: quote it"),
    ("firm: A\ncolour: '#225522'\nlogo: missing.png\n", 3, "logo: 'missing.png': file not found"),
    ("firm: A\ncolour: '#225522'\nlogo: notes.txt\n", 3, "logo: 'notes.txt' is not an image (expected a PNG or SVG file)"),
    ("firm: A\ncolour: '#225522'\nlogo: page.html\n", 3, "its XML root is not <svg>"),
    ("firm: A\ncolour: '#225522'\nlogo: script.svg\n", 3, "an SVG logo may not hold <script>"),
    ("firm: A\ncolour: '#225522'\nlogo: handler.svg\n", 3, "an SVG logo may not hold event handlers (onload)"),
    ("firm: A\ncolour: '#225522'\nlogo: outside.svg\n", 3, "may not refer to anything outside it"),
    ("firm: A\ncolour: '#225522'\nlogo: huge.png\n", 3, f"the limit is {MAX_LOGO_BYTES:,}"),
    ("firm: A\ncolor: '#225522'\n", 2, "unknown key 'color'; did you mean 'colour'?"),
    ("firm: [A\ncolour: '#225522'\n", 2, "malformed YAML"),
    ("colour: '#225522'\n", 1, "firm: missing"),
    ("firm: A\n", 1, "colour: missing"),
    ("firm: 12\ncolour: '#225522'\n", 1, "firm: expected text, got 12"),
    ("- firm\n", 1, "expected a mapping with firm, colour and logo"),
]


@pytest.mark.parametrize("text, line, message", BAD)
def test_a_bad_brand_file_is_one_line_and_exit_2(cli, tmp_path, text, line, message):
    brand = write_brand(tmp_path, text)
    (tmp_path / "notes.txt").write_text("not an image\n")
    (tmp_path / "page.html").write_text("<html><body>hello</body></html>\n")
    (tmp_path / "script.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    (tmp_path / "handler.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')
    (tmp_path / "outside.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" '
                                          'xmlns:xlink="http://www.w3.org/1999/xlink">'
                                          '<image xlink:href="https://example.com/x.png"/></svg>')
    (tmp_path / "huge.png").write_bytes(png() + b"\x00" * MAX_LOGO_BYTES)
    for args, env in (([f"--brand={brand.name}"], None), ([], {"KAM_ADVISOR_BRAND": brand.name})):
        res = cli("--format", "html", "--output", "out.html", *args, env=env)
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "Traceback" not in res.output
        assert res.output.startswith(f"kam-advisor: brand.yaml:{line}: "), res.output
        assert message in res.output
        assert not (tmp_path / "out.html").exists()


def test_the_html_report_carries_the_brand(cli, tmp_path, result):
    write_brand(tmp_path)
    res = cli("--format", "html", "--output", "out.html", "--brand", "brand.yaml")
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "--accent: #225522" in page
    assert f'src="data:image/png;base64,{base64.b64encode(png()).decode()}"' in page
    assert "Harbour &amp; Co Advisory" in page and "Confidential to the board" in page
    # the environment variable is the default, and without a brand the report is the plain one
    assert cli("--format", "html", "--output", "env.html", env={"KAM_ADVISOR_BRAND": "brand.yaml"}).exit_code == 0
    assert (tmp_path / "env.html").read_text(encoding="utf-8") == page
    assert cli("--format", "html", "--output", "plain.html").exit_code == 0
    assert (tmp_path / "plain.html").read_text(encoding="utf-8") == report.render(result, "html")


def test_the_board_brief_carries_the_brand_too(cli, tmp_path, result):
    write_brand(tmp_path)
    res = cli("--brief", "--format", "html", "--output", "brief.html", "--brand", "brand.yaml")
    assert res.exit_code == 0, res.output
    page = (tmp_path / "brief.html").read_text(encoding="utf-8")
    assert "--accent: #225522" in page
    assert f'src="data:image/png;base64,{base64.b64encode(png()).decode()}"' in page
    assert "Prepared by Harbour &amp; Co Advisory" in page and "Confidential to the board" in page
    assert report.render(result, "html", brief=True) == report.render_brief(result, "html")
    assert "Harbour" not in report.render_brief(result, "html")


def test_an_svg_logo_is_an_image_not_markup(tmp_path, result):
    brand = load_brand(write_brand(tmp_path, logo="logo.svg"))
    page = report.render(result, "html", brand=brand)
    assert f'src="data:image/svg+xml;base64,{base64.b64encode(SVG.encode()).decode()}"' in page
    assert "<rect" not in page.split("<body>", 1)[1].split('id="summary"')[0]


def test_the_pdf_footer_names_the_firm():
    from kam_advisor.render.pdf import footer_html
    assert "Acme &amp; Co" in footer_html("Northwind", "2026-10-15", "Acme & Co", "Confidential")
    assert footer_html("Northwind", "2026-10-15") == footer_html("Northwind", "2026-10-15", "", "")


def _get(app, path: str) -> tuple[int, dict, str]:
    """One GET through the ASGI application (no HTTP client needed)."""
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8765)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body.decode()


def test_the_web_questionnaire_carries_the_brand(tmp_path):
    from kam_advisor.store import open_store
    from kam_advisor.web.app import build
    brand = load_brand(write_brand(tmp_path))
    with open_store(f"sqlite:///{tmp_path / 'web.db'}") as store:
        app, _ = build(store, brand=brand)
        status, headers, page = _get(app, "/")
        assert status == 200
        assert "Harbour &amp; Co Advisory" in page and "Confidential to the board" in page
        assert 'href="/brand.css"' in page and "data:image/png;base64," in page
        assert "style-src 'self'" in headers["content-security-policy"]   # the colour comes as a style sheet
        status, headers, css = _get(app, "/brand.css")
        assert status == 200 and headers["content-type"].startswith("text/css") and "--accent: #225522" in css
        plain, _ = build(store)
        _, _, page = _get(plain, "/")
        assert "kam-advisor" in page and "brand.css" not in page and "Harbour" not in page
        assert _get(plain, "/brand.css")[0] == 404


def test_serve_refuses_a_bad_brand_file_before_it_starts(tmp_path, monkeypatch):
    from kam_advisor.cli.app import main
    from kam_advisor.web import server
    runs = []
    monkeypatch.setattr(server, "run", lambda **kw: runs.append(kw))
    monkeypatch.chdir(tmp_path)
    write_brand(tmp_path, "firm: A\ncolour: teal\n")
    res = CliRunner().invoke(main, ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--brand", "brand.yaml"])
    assert res.exit_code == 2 and not runs
    assert res.output.strip() == "kam-advisor: brand.yaml:2: colour: expected a hex colour like #1F4E79, got 'teal'"
    write_brand(tmp_path)
    res = CliRunner().invoke(main, ["serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--brand", "brand.yaml"])
    assert res.exit_code == 0, res.output
    assert runs[-1]["brand_file"] == "brand.yaml"
    assert server._brand(str(tmp_path / "brand.yaml")).firm == "Harbour & Co Advisory"   # what a worker reads


def test_load_brand_errors_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_brand(tmp_path / "nope.yaml")
