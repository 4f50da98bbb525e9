"""The analysts' views, computed with pandas from two tidy frames: sessions and their pattern counts.

``learner_progress``: one row per learner x pattern_id. A learner's k analysed sessions are ordered
by ``recorded_at`` (then session id), never by arrival, so late uploads land in their place. The
comparison windows hold n = min(WINDOW, k // 2) sessions each (n = 1 when k = 1): the *first*
window is the learner's first n sessions, the *latest* window the last n, and they never overlap
(so one session cannot count as both "before" and "after"). A window's rate is the pattern's
occurrences in it per 100 transcript words in it. The trend label, the first rule that applies:

- ``new``: first seen inside the latest window (every pattern of a one-session learner is new);
- ``resolved``: seen before the latest window, absent from it;
- ``improving``: latest rate at most (1 - IMPROVEMENT) x the first rate (down by 20 % or more);
- ``persistent``: anything else (still there at about the same rate, or more often).

``cohort_patterns``: per ISO week (of ``recorded_at``) x pattern_id, how many learners and sessions
show it, and its share of that week's analysed sessions. ``pipeline_health``: per ISO week of
upload, sessions DONE / FAILED / pending, the median upload -> DONE seconds (from when the upload
was complete, ``upload_completed_at``) and the provider cost (the known costs summed, the sessions
with an unknown one counted); ``health_totals`` sums it up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.domain.taxonomy import LABELS, category_of

WINDOW = 3
IMPROVEMENT = 0.2

SESSION_COLUMNS = {
    "session_id": "string",
    "learner_id": "string",
    "state": "string",
    "recorded_at": "datetime64[ns, UTC]",
    "uploaded_at": "datetime64[ns, UTC]",
    "upload_completed_at": "datetime64[ns, UTC]",
    "updated_at": "datetime64[ns, UTC]",
    "word_count": "Int64",
    "cost_usd": "float64",  # the known part of the session's cost
    "cost_unknown": "bool",  # a document of it has no price known
    "analysed": "bool",
}
PATTERN_COLUMNS = {"session_id": "string", "pattern_id": "string", "frequency": "int64"}

PROGRESS_COLUMNS = {
    "learner_id": "string",
    "pattern_id": "string",
    "category": "string",
    "label": "string",
    "learner_sessions": "int64",
    "window_sessions": "int64",
    "sessions_seen": "int64",
    "occurrences": "int64",
    "first_seen": "datetime64[ns, UTC]",
    "last_seen": "datetime64[ns, UTC]",
    "first_rate_per_100_words": "float64",
    "latest_rate_per_100_words": "float64",
    "trend": "string",
}
COHORT_COLUMNS = {
    "week": "string",
    "week_start": "datetime64[ns, UTC]",
    "pattern_id": "string",
    "category": "string",
    "label": "string",
    "learners": "int64",
    "sessions": "int64",
    "week_sessions": "int64",
    "share_of_sessions": "float64",
    "occurrences": "int64",
}
HEALTH_COLUMNS = {
    "week": "string",
    "week_start": "datetime64[ns, UTC]",
    "sessions": "int64",
    "sessions_done": "int64",
    "sessions_failed": "int64",
    "sessions_pending": "int64",
    "median_upload_to_done_seconds": "float64",
    "cost_usd": "float64",
    "sessions_cost_unknown": "int64",
}


def typed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` in order and dtype: an empty view keeps its schema."""
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    return frame[list(columns)].astype(columns).reset_index(drop=True)


def iso_week(stamps: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO week labels ("2026-W02") and the Monday 00:00 UTC each week starts."""
    calendar = stamps.dt.isocalendar()
    label = calendar["year"].astype(str) + "-W" + calendar["week"].astype(str).str.zfill(2)
    start = stamps.dt.floor("D") - pd.to_timedelta(stamps.dt.weekday, unit="D")
    return label, start


def ordered_sessions(sessions: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """Analysed sessions in recorded order per learner, with their position and window membership."""
    s = sessions[sessions["analysed"]].sort_values(["learner_id", "recorded_at", "session_id"]).copy()
    s["order"] = s.groupby("learner_id").cumcount()
    s["k"] = s.groupby("learner_id")["session_id"].transform("size")
    s["n"] = np.where(s["k"] == 1, 1, np.minimum(window, s["k"] // 2))
    s["in_first"] = s["order"] < s["n"]
    s["in_latest"] = s["order"] >= s["k"] - s["n"]
    s["word_count"] = s["word_count"].fillna(0).astype("int64")
    return s


def _rate(patterns: pd.DataFrame, words: pd.Series, mask: str, index: pd.Index) -> pd.Series:
    occurrences = patterns[patterns[mask]].groupby(["learner_id", "pattern_id"])["frequency"].sum()
    occurrences = occurrences.reindex(index, fill_value=0)
    total_words = words.reindex(index.get_level_values("learner_id")).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = occurrences.to_numpy(dtype="float64") * 100.0 / total_words
    return pd.Series(np.where(total_words > 0, rates, np.nan), index=index)


def learner_progress(sessions: pd.DataFrame, patterns: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """One row per learner x pattern_id: how often, since when, and the trend (module docstring)."""
    s = ordered_sessions(sessions, window)
    keep = ["session_id", "learner_id", "recorded_at", "order", "k", "n", "in_first", "in_latest"]
    p = patterns.merge(s[keep], on="session_id", how="inner")
    if p.empty:
        return typed(p, PROGRESS_COLUMNS)
    out = p.groupby(["learner_id", "pattern_id"]).agg(
        sessions_seen=("session_id", "nunique"),
        occurrences=("frequency", "sum"),
        first_seen=("recorded_at", "min"),
        last_seen=("recorded_at", "max"),
        first_order=("order", "min"),
        learner_sessions=("k", "first"),
        window_sessions=("n", "first"),
    )
    words_first = s[s["in_first"]].groupby("learner_id")["word_count"].sum()
    words_latest = s[s["in_latest"]].groupby("learner_id")["word_count"].sum()
    out["first_rate_per_100_words"] = _rate(p, words_first, "in_first", out.index)
    out["latest_rate_per_100_words"] = _rate(p, words_latest, "in_latest", out.index)
    seen_latest = (
        p[p["in_latest"]].groupby(["learner_id", "pattern_id"]).size().reindex(out.index, fill_value=0)
    )
    first, latest = out["first_rate_per_100_words"], out["latest_rate_per_100_words"]
    out["trend"] = np.select(
        [
            out["first_order"] >= out["learner_sessions"] - out["window_sessions"],
            seen_latest == 0,
            latest <= (1 - IMPROVEMENT) * first,
        ],
        ["new", "resolved", "improving"],
        default="persistent",
    )
    out = out.reset_index()
    out["category"] = out["pattern_id"].map(category_of)
    out["label"] = out["pattern_id"].map(lambda pattern_id: LABELS.get(pattern_id, pattern_id))
    out = out.sort_values(
        ["learner_id", "sessions_seen", "occurrences", "pattern_id"], ascending=[True, False, False, True]
    )
    return typed(out, PROGRESS_COLUMNS)


def session_rates(sessions: pd.DataFrame, patterns: pd.DataFrame) -> pd.DataFrame:
    """Per analysed session and pattern: occurrences per 100 words (what the learner chart plots)."""
    s = ordered_sessions(sessions)
    p = patterns.merge(s[["session_id", "learner_id", "recorded_at", "order", "word_count"]], on="session_id")
    words = p["word_count"].where(p["word_count"] > 0)
    return p.assign(rate_per_100_words=p["frequency"] * 100.0 / words)


def latest_sessions(sessions: pd.DataFrame) -> dict[str, str]:
    """Each learner's latest analysed session (by ``recorded_at``, then id): their newest profile snapshot."""
    s = ordered_sessions(sessions)
    last = s[s["order"] == s["k"] - 1]
    return dict(zip(last["learner_id"], last["session_id"], strict=True))


def cohort_patterns(sessions: pd.DataFrame, patterns: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week of recording x pattern_id: learners, sessions, share of the week's sessions."""
    s = sessions[sessions["analysed"]].copy()
    if s.empty:
        return typed(s, COHORT_COLUMNS)
    s["week"], s["week_start"] = iso_week(s["recorded_at"])
    week_sessions = s.groupby("week")["session_id"].nunique().rename("week_sessions")
    p = patterns.merge(s[["session_id", "learner_id", "week", "week_start"]], on="session_id")
    if p.empty:
        return typed(p, COHORT_COLUMNS)
    out = p.groupby(["week", "pattern_id"]).agg(
        week_start=("week_start", "first"),
        learners=("learner_id", "nunique"),
        sessions=("session_id", "nunique"),
        occurrences=("frequency", "sum"),
    )
    out = out.join(week_sessions, on="week").reset_index()
    out["share_of_sessions"] = out["sessions"] / out["week_sessions"]
    out["category"] = out["pattern_id"].map(category_of)
    out["label"] = out["pattern_id"].map(lambda pattern_id: LABELS.get(pattern_id, pattern_id))
    out = out.sort_values(["week", "sessions", "pattern_id"], ascending=[True, False, True])
    return typed(out, COHORT_COLUMNS)


def pipeline_health(sessions: pd.DataFrame) -> pd.DataFrame:
    """Per ISO week of upload: DONE / FAILED / pending sessions, median upload -> DONE, the known cost
    in USD and how many sessions have a cost that is not known (no price for their model).

    A session's week is that of its upload (else of its recording, else of its last change);
    upload -> DONE runs from when the upload was complete (``upload_completed_at``; the sensor's
    first sight for rows from before it was recorded) to the status row's last change, so a
    re-analysed session counts from its upload to its latest completion.
    """
    if sessions.empty:
        return typed(sessions, HEALTH_COLUMNS)
    s = _with_upload_to_done(sessions)
    when = s["uploaded_at"].fillna(s["recorded_at"]).fillna(s["updated_at"])
    s["week"], s["week_start"] = iso_week(when)
    out = s.groupby("week").agg(
        week_start=("week_start", "first"),
        sessions=("session_id", "size"),
        sessions_done=("done", "sum"),
        sessions_failed=("failed", "sum"),
        median_upload_to_done_seconds=("to_done", "median"),
        cost_usd=("cost_usd", "sum"),
        sessions_cost_unknown=("cost_unknown", "sum"),
    )
    out["sessions_pending"] = out["sessions"] - out["sessions_done"] - out["sessions_failed"]
    return typed(out.reset_index().sort_values("week"), HEALTH_COLUMNS)


def _with_upload_to_done(sessions: pd.DataFrame) -> pd.DataFrame:
    s = sessions.copy()
    done = s["state"] == "DONE"
    s["done"], s["failed"] = done, s["state"] == "FAILED"
    completed = s["upload_completed_at"].fillna(s["uploaded_at"])
    s["to_done"] = ((s["updated_at"] - completed).dt.total_seconds()).clip(lower=0.0).where(done)
    return s


def health_totals(sessions: pd.DataFrame) -> dict[str, float | int | None]:
    """Over every session: DONE, FAILED, pending, the median upload -> DONE seconds, the known cost in
    USD and the sessions whose cost is unknown."""
    if sessions.empty:
        return {
            "done": 0,
            "failed": 0,
            "pending": 0,
            "median_upload_to_done_seconds": None,
            "cost_usd": 0.0,
            "sessions_cost_unknown": 0,
        }
    s = _with_upload_to_done(sessions)
    median = s["to_done"].median()
    done, failed = int(s["done"].sum()), int(s["failed"].sum())
    return {
        "done": done,
        "failed": failed,
        "pending": len(s) - done - failed,
        "median_upload_to_done_seconds": None if pd.isna(median) else round(float(median), 1),
        "cost_usd": round(float(s["cost_usd"].sum()), 6),
        "sessions_cost_unknown": int(s["cost_unknown"].sum()),
    }
