"""Erasure: forget a learner or one session everywhere the core stores it (``pipeline.erasure.run``)."""
