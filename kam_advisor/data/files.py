"""Files the advisor writes: atomic replacement so an interrupted write never leaves half a file.

Writes go only to regular files or new paths: never through a symbolic link, onto a device
or over a file being read. A save killed half-way leaves a ``.NAME.XXXX.tmp`` file; the next
save to the same path removes it (the writer holds a lock on its temporary file, so only
the leftovers of dead writers are removed). ``exclusive`` keeps two processes from writing
one answers file at once.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

from kam_advisor.data.errors import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: no locks, no leftover cleaning
    fcntl = None  # type: ignore[assignment]

STALE_SECONDS = 1.0  # a temporary file younger than this may still be being written


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output(path: Path, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Refuse an output path that is not a regular file or a new path, or that is one of ``inputs``."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise DataError(f"cannot write: {err.strerror}", path) from None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise DataError("is a symbolic link; not replacing it (give the path of a regular file)", path)
        if stat.S_ISDIR(info.st_mode):
            raise DataError("is a folder; expected a file to write", path)
        if not stat.S_ISREG(info.st_mode):
            raise DataError("not a regular file (a device, pipe or socket); not writing there", path)
        for source in inputs:
            try:
                if os.path.samefile(source, path):
                    raise DataError("is an input of this command; not overwriting it (give another output path)",
                                    path)
            except OSError:
                continue


def remove_leftovers(path: Path) -> int:
    """Remove the temporary files of saves to ``path`` that were killed half-way; returns how many.
    A path named ``*`` stands for every file of its folder."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if fcntl is None:
        return 0
    removed = 0
    prefix = "." if path.name == "*" else f".{path.name}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return 0
    now = time.time()
    for name in names:
        candidate = folder / name
        try:
            fd = os.open(candidate, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_SECONDS:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # its writer is alive
            os.unlink(candidate)
            removed += 1
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def atomic_write(path: Path, text: str | bytes, inputs: Iterable[str | os.PathLike] = (),
                 leftovers: bool = True, sync: bool = True) -> None:
    """Write text (UTF-8) or bytes to `path` through a temporary file in the same folder.

    ``leftovers=False``: the caller has removed killed saves' temporary files for the whole folder
    already (``remove_leftovers(folder / "*")``, as a batch does once), instead of once per file.
    ``sync=False``: the caller makes the file durable later (:func:`sync_file`); a killed
    process still leaves the whole file or none, only a power cut before that sync may not."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DataError("folder does not exist", folder)
    check_output(path, inputs)
    if leftovers:
        remove_leftovers(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise DataError(f"cannot write in this folder: {err.strerror}", folder) from None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # tells remove_leftovers this writer is alive
        binary = isinstance(text, bytes)
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as handle:
            handle.write(text)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
            # mkstemp creates 0600; give the file the mode a plain open() would (keep an existing one)
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    except BaseException as err:  # a write error, Ctrl-C, or a signal turned into SystemExit
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise DataError(f"cannot write: {err.strerror}", path) from None
        raise


def sync_file(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk; OSError when it cannot be."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(path: Path, what: str = "is open in another kam-advisor process") -> Iterator[None]:
    """Hold an advisory lock on ``path`` (through ``.NAME.lock`` beside it) for the block; a second
    holder is refused at once with a one-line DataError."""
    path = Path(path)
    if fcntl is None:  # pragma: no cover
        yield
        return
    lock_path = path.parent / f".{path.name}.lock"
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as err:
            raise DataError(f"cannot lock: {err.strerror}", lock_path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataError(f"{what}; finish or stop that one first", path) from None
        try:  # the file may have been removed by a holder that just finished: lock the current one
            if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(lock_path)
        except OSError:
            pass
        os.close(fd)


class atomic_stream:
    """A text file written piece by piece and put in place only when complete (``with``); on any
    exception (a signal included, see the CLI's guard) the temporary file is removed, and one
    left by a killed process is removed by the next write to the same path."""

    def __init__(self, path: Path, binary: bool = False):
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise DataError("folder does not exist", folder)
        check_output(self.path)
        remove_leftovers(self.path)  # what a killed earlier write to this path left
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        except OSError as err:
            raise DataError(f"cannot write in this folder: {err.strerror}", folder) from None
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # tells remove_leftovers this writer is alive
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
