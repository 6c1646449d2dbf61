"""Results layer: the assessment document (the `assess` JSON contract), explanations, batch runs."""
