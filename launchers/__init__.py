"""Dagster instance plugins: the run launchers named in dagster.yaml (warm forks, Celery workers)."""
