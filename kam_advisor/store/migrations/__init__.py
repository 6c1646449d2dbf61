"""Alembic migrations of the assessment history, shipped inside the package (applied on open)."""
