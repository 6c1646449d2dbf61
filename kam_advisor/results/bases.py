"""The knowledge base and rules every assessment reads, loaded and validated once per process."""

from __future__ import annotations

from functools import lru_cache

from kam_advisor.data import knowledge
from kam_advisor.data import rules as rules_mod


@lru_cache(maxsize=8)
def _rules_cached(rules_dir: str | None, kb_dir: str | None) -> rules_mod.RuleBase:
    return rules_mod.load_cached(rules_dir, kb=knowledge.load_cached(kb_dir))


def load_bases(kb_dir=None, rules_dir=None):
    kb = knowledge.load_cached(str(kb_dir) if kb_dir else None)
    base = _rules_cached(str(rules_dir) if rules_dir else None, str(kb_dir) if kb_dir else None)
    return kb, base
