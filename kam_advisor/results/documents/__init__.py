"""Typed result documents: one model per kind the product writes (a module per kind), each
kind's ``schema_version`` (:mod:`.versions`, imported by the code that builds documents, without
the model library) and the registry KIND -> model with the JSON Schema, loading and upgrading
(:mod:`.registry`, for `kam-advisor schema KIND`, readers and tests)."""
