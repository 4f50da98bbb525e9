"""Alembic revisions of the status database (a package so that installs ship them)."""
