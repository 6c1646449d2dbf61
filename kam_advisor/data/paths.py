"""Where the shipped data folders are: inside an installed wheel, or at the repository root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """The built-in ``knowledge``, ``rules``, ``questionnaires`` or ``examples`` folder."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
