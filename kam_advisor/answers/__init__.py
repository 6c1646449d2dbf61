"""Answers layer: questionnaires, answers files, checking answers, evidence, combining respondents."""
