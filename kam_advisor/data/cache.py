"""An on-disk cache of loaded and validated data (knowledge base, rules, questionnaires).

Validating the data with jsonschema costs most of a short command's time; the result depends
only on the data files and on the code that reads them. An entry's key is a SHA-256 of the
bytes and paths of every data file it was built from, of this package's loading code and
schemas, of the package version and of the Python version: any change gives another key, so
a stale entry cannot be read. Entries are only ever built by the ordinary loaders (every check
and limit of :mod:`~kam_advisor.data.yamlio` and the schemas applied), and a change to those
loaders changes every key. A corrupt, unreadable or unwritable cache is ignored (the data is
loaded and validated as without it).

The folder is the user's cache folder (platformdirs), or ``KAM_ADVISOR_CACHE`` (an empty value
turns the cache off).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable

ENV = "KAM_ADVISOR_CACHE"
_PACKAGE = Path(__file__).resolve().parent.parent
_CODE: list[str] = []  # the digest of the loading code, computed once per process


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is turned off."""
    configured = os.environ.get(ENV)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    import platformdirs
    return Path(platformdirs.user_cache_dir("kam-advisor", appauthor=False))


def _code_digest() -> str:
    """What the cached objects depend on besides the data: the code that builds them (the data
    and answers layers, schemas included), the package version and the Python version."""
    if not _CODE:
        from kam_advisor import __version__
        h = hashlib.sha256(f"{__version__}\0{sys.version}\0{pickle.HIGHEST_PROTOCOL}".encode())
        for folder in ("data", "answers"):
            for path in sorted((_PACKAGE / folder).rglob("*")):
                if path.suffix in (".py", ".yaml") and path.is_file():
                    h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0" + path.read_bytes() + b"\0")
        _CODE.append(h.hexdigest())
    return _CODE[0]


def content_key(kind: str, files: Iterable[Path], extra: str = "") -> str | None:
    """The key of an entry built from `files` (None when one cannot be read: no caching then)."""
    h = hashlib.sha256(f"{kind}\0{_code_digest()}\0{extra}\0".encode())
    try:
        for path in files:
            with open(path, "rb") as f:  # in chunks: a huge file is refused by the loader, not here
                h.update(f"{Path(path).resolve()}\0{os.fstat(f.fileno()).st_size}\0".encode())
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            h.update(b"\0")
    except OSError:
        return None
    return h.hexdigest()


def _safe_folder(folder: Path) -> bool:
    """Only a folder the current user owns and others cannot write to holds entries we read."""
    try:
        st = folder.stat()
    except OSError:
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False
    return True


def _mappingproxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    """Pickles the read-only mappings of the models as dicts wrapped again on load."""

    def reducer_override(self, obj):
        if type(obj) is MappingProxyType:
            return _mappingproxy, (dict(obj),)
        return NotImplemented


def fetch(kind: str, key: str | None) -> Any | None:
    """The cached object, or None (no entry, unreadable, corrupt, or the cache is off)."""
    folder = cache_dir()
    if folder is None or key is None or not _safe_folder(folder):
        return None
    try:
        # pickle runs code on load: we only ever unpickle files this module wrote, in a folder
        # the user owns and no one else can write to, under a name that is their content key
        with open(folder / f"{kind}-{key}.pickle", "rb") as f:
            return pickle.load(f)
    except Exception:  # noqa: BLE001 - any broken entry is ignored and rebuilt
        return None


def store(kind: str, key: str | None, value: Any) -> None:
    """Write an entry atomically; a cache that cannot be written is ignored."""
    folder = cache_dir()
    if folder is None or key is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _safe_folder(folder):
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
            os.replace(tmp, folder / f"{kind}-{key}.pickle")
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - an unwritable cache or an unpicklable value: no caching
        return


def cached(kind: str, files: Iterable[Path], build: Callable[[], Any], extra: str = "") -> Any:
    """`build()`, or its result from the cache when the same files were built before."""
    key = content_key(kind, files, extra)
    value = fetch(kind, key)
    if value is None:
        value = build()
        store(kind, key, value)
    return value
