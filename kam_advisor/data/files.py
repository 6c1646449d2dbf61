"""Files the advisor writes: atomic replacement so an interrupted write never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kam_advisor.data.errors import DataError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DataError("folder does not exist", folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would (keep an existing one)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as err:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DataError(f"cannot write: {err.strerror}", path) from None


class atomic_stream:
    """A text file written piece by piece and put in place only when complete (``with``)."""

    def __init__(self, path: Path, binary: bool = False):
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise DataError("folder does not exist", folder)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        self.handle = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")

    def __enter__(self):
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.handle.close()
            if exc_type is None:
                mode = self.path.stat().st_mode & 0o777 if self.path.exists() else 0o666 & ~_umask()
                os.chmod(self.tmp, mode)
                os.replace(self.tmp, self.path)
        except OSError as err:
            raise DataError(f"cannot write: {err.strerror}", self.path) from None
        finally:
            if os.path.exists(self.tmp):
                os.unlink(self.tmp)
