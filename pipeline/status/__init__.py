"""The status store: session lifecycle rows, the profile index, the learner lock; ``python -m pipeline.status``."""
