"""Reasoning layer: rules compiled for durable-rules, the engine wrapper, and inference."""
