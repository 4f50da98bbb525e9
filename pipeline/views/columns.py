"""What each view column means, for the UI's column schema, and how its values are shown there.

The descriptions are the docs' tables (``docs/analysts.md``), word for word: ``tests/unit/views``
compares them, so the UI and the docs cannot drift apart. Values are rounded for display only; the
Parquet and CSV files keep full precision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads with a view's table, not with the code location
    import pandas as pd

_WHO = "who, and which taxonomy pattern"

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "learner_progress": {
        "learner_id": _WHO,
        "pattern_id": _WHO,
        "category": _WHO,
        "label": _WHO,
        "learner_sessions": "k: the learner's analysed sessions",
        "window_sessions": "n: sessions in each comparison window",
        "sessions_seen": "sessions in which the pattern occurred",
        "occurrences": "its total frequency over all the learner's sessions",
        "first_seen": "`recorded_at` of the first and last session showing it (UTC)",
        "last_seen": "`recorded_at` of the first and last session showing it (UTC)",
        "first_rate_per_100_words": "occurrences in the first window per 100 transcript words of that window",
        "latest_rate_per_100_words": "the same over the latest window",
        "trend": (
            "the first that applies: `new` (first seen inside the latest window; every pattern of a "
            "one-session learner), `resolved` (seen before, absent from the latest window), `improving` "
            "(latest rate at most 80 % of the first rate), `persistent` (otherwise: about the same rate, "
            "or more often)"
        ),
    },
    "cohort_patterns": {
        "week": "ISO week of `recorded_at`, like `2026-W02`",
        "week_start": "that week's Monday 00:00 UTC",
        "pattern_id": "which taxonomy pattern",
        "category": "which taxonomy pattern",
        "label": "which taxonomy pattern",
        "learners": "learners showing the pattern that week",
        "sessions": "sessions showing the pattern that week",
        "week_sessions": "analysed sessions that week",
        "share_of_sessions": "sessions / week_sessions",
        "occurrences": "its total frequency that week",
    },
    "pipeline_health": {
        "week": "ISO week of upload, like `2026-W02`",
        "week_start": "that week's Monday 00:00 UTC",
        "sessions": "sessions uploaded that week",
        "sessions_done": "of them, DONE",
        "sessions_failed": "of them, FAILED",
        "sessions_pending": "of them, neither yet",
        "median_upload_to_done_seconds": (
            "from when the upload was complete (`upload_completed_at`) to the status row's last change, "
            "for DONE sessions"
        ),
        "cost_usd": "speech-to-text plus analysis, from the stored documents' usage (the known costs)",
        "sessions_cost_unknown": "sessions whose cost is not known (no price for a model they used)",
    },
}

#: Decimal places shown in the UI per float column; others get DISPLAY_DIGITS.
DISPLAY_DIGITS = 2
_DIGITS = {"cost_usd": 4, "median_upload_to_done_seconds": 1}


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float columns rounded for reading in the UI (never written back)."""
    floats = [name for name, dtype in frame.dtypes.items() if dtype.kind == "f"]
    return frame.round({str(name): _DIGITS.get(str(name), DISPLAY_DIGITS) for name in floats})
