"""kam-advisor: a rule-based expert system for Key Account Management programme maturity."""

__version__ = "0.1.0"
