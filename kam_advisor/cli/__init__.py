"""Command-line interface: thin click commands over the library layers."""

from kam_advisor.cli.app import main

__all__ = ["main"]
