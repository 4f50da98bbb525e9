"""The domain: models, the pattern taxonomy, error kinds, transcript quality and profile snapshot maths."""
