"""Benchmarks that measure alternatives side by side in one run and report their ratio (``python -m bench``)."""
