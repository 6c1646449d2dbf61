"""The peer benchmark's data: size bands and the anonymity threshold (rules/benchmark/peers.yaml),
and the checks of the sector and size band an audit is saved under."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kam_advisor.data.errors import DataError
from kam_advisor.data.paths import data_dir
from kam_advisor.data.suggest import did_you_mean
from kam_advisor.data.yamlio import load_file, plain

SECTOR_MAX = 80    # characters of a sector name
ANY = "any"        # --sector any / --size any: no restriction on that axis


@dataclass(frozen=True)
class PeerRules:
    min_peers: int
    size_bands: tuple[dict, ...]      # {id, name, employees: [from, to or None]}

    @property
    def band_ids(self) -> list[str]:
        return [b["id"] for b in self.size_bands]

    def band(self, band_id: str) -> dict:
        return next(b for b in self.size_bands if b["id"] == band_id)


def default_path() -> Path:
    return data_dir("rules") / "benchmark" / "peers.yaml"


@functools.lru_cache(maxsize=4)
def load(path: str | None = None) -> PeerRules:
    """The benchmark's parameters, checked: one line naming the file, line and field when not."""
    where = Path(path) if path else default_path()
    doc = load_file(where)

    def fail(message, line=None):
        raise DataError(message, where, line)
    if not isinstance(doc, dict) or doc.get("kind") != "peer-benchmark":
        fail("kind: expected 'peer-benchmark'")
    params = doc.get("params")
    if not isinstance(params, dict):
        fail("params: expected a mapping with min_peers and size_bands")
    for name in ("min_peers", "size_bands"):
        p = params.get(name)
        if not isinstance(p, dict) or "value" not in p or not isinstance(p.get("why"), str):
            fail(f"params.{name}: expected {{value, why, source}}", getattr(params, "line_of", lambda _: None)(name))
    min_peers = params["min_peers"]["value"]
    if not isinstance(min_peers, int) or isinstance(min_peers, bool) or min_peers < 1:
        fail(f"params.min_peers.value: expected a whole number of at least 1 (got {min_peers!r})",
             params["min_peers"].line_of("value"))
    bands = params["size_bands"]["value"]
    if not isinstance(bands, list) or not bands:
        fail("params.size_bands.value: expected a list of bands", params["size_bands"].line_of("value"))
    seen = set()
    for n, b in enumerate(bands):
        line = bands.line_of(n) if hasattr(bands, "line_of") else None
        if not isinstance(b, dict) or not isinstance(b.get("id"), str) \
                or not re.fullmatch(r"[a-z][a-z0-9-]*", b["id"]) or not isinstance(b.get("name"), str):
            fail(f"params.size_bands.value[{n}]: expected {{id (lower-case word), name, employees}}", line)
        if b["id"] in seen or b["id"] == ANY:
            fail(f"params.size_bands.value[{n}].id: '{b['id']}' is {'reserved' if b['id'] == ANY else 'given twice'}",
                 line)
        seen.add(b["id"])
    return PeerRules(min_peers=min_peers, size_bands=tuple(plain(b) for b in bands))


def normalise_sector(value: str | None, where: str = "--sector") -> str | None:
    """A sector as stored and compared: NFC, spaces collapsed, case folded; None when not given.
    Free text, so it only ever reaches the database as a bound parameter."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise DataError(f"{where}: expected text (got {value!r})")
    text = " ".join(unicodedata.normalize("NFC", value).split()).casefold()
    if not text:
        raise DataError(f"{where}: expected a sector name (got an empty one)")
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise DataError(f"{where}: control characters are not allowed in a sector name")
    if len(text) > SECTOR_MAX:
        raise DataError(f"{where}: at most {SECTOR_MAX} characters (got {len(text)})")
    return text


def check_size(value: str | None, rules: PeerRules | None = None, where: str = "--size",
               allow_any: bool = False) -> str | None:
    """A size band id of rules/benchmark/peers.yaml (or None); one line with a did-you-mean when not."""
    if value is None:
        return None
    rules = rules or load()
    text = str(value).strip().lower()
    if text in rules.band_ids or (allow_any and text == ANY):
        return text
    known = rules.band_ids + ([ANY] if allow_any else [])
    raise DataError(f"{where}: unknown size band {str(value)[:40]!r}: expected one of {', '.join(known)}"
                    f"{did_you_mean(text, known)}")
