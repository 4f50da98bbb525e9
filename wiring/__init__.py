"""The Dagster wiring: the composition root (definitions), the pipeline resource and the jobs."""
