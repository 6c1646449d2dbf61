"""Data layer: reading files safely, schemas, the knowledge base and the rules as validated data.

Imports nothing else of kam_advisor: every other layer builds on it.
"""
