"""`python -m kam_advisor` runs the CLI."""

from kam_advisor.cli import main

main()
