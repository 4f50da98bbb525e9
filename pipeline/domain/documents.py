"""Where each stored result document lives under ``RESULTS_URI``: one naming, for the stages, checks and views.

The keys are part of the public contract (analysts read these files), so they are spelled once.
"""

from __future__ import annotations


def transcript_key(session_id: str) -> str:
    return f"transcripts/{session_id}.json"


def insights_key(session_id: str) -> str:
    return f"insights/{session_id}.json"


def profile_key(session_id: str) -> str:
    return f"pattern_profiles/{session_id}.json"
