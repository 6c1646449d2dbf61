"""Render layer: the report (HTML, Markdown, text, JSON), charts and plain-text tables."""
