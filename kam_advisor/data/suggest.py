"""The "did you mean" hint that error messages append when a name is close to a known one."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(word: str, known: Iterable[str], n: int = 1) -> str:
    """``"; did you mean 'x'?"`` (or ``'x', 'y'``) for the closest known names; "" when none is close."""
    found = difflib.get_close_matches(str(word), list(known), n=n)
    if not found:
        return ""
    return "; did you mean " + ", ".join(f"'{f}'" for f in found) + "?"
