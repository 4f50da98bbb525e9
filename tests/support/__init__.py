"""Test support shared by the tiers and by bench/: fakes, fixtures, a daemon harness, helpers."""
