"""Reading the stored documents into the views' two frames, and writing views as Parquet and CSV.

The status store is the index: it lists every session (state, learner, upload and completion
times), so no listing of the results storage is needed; each session's transcript and insights
are then read once each, a few at a time (S3 reads are latency-bound).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from pipeline.domain.documents import insights_key, transcript_key
from pipeline.domain.models import SessionState, SessionStatus
from pipeline.status.store import StatusStore
from pipeline.storage import Storage
from pipeline.views.frames import PATTERN_COLUMNS, SESSION_COLUMNS, typed

VIEWS_PREFIX = "views"
READERS = 8


@dataclass(frozen=True)
class ViewInputs:
    sessions: pd.DataFrame  # one row per registered session (SESSION_COLUMNS)
    patterns: pd.DataFrame  # one row per analysed session x pattern_id (PATTERN_COLUMNS)


def _read(results: Storage, key: str) -> dict | None:
    try:
        return json.loads(results.read_bytes(key))
    except FileNotFoundError:
        return None


def _session_rows(results: Storage, status: SessionStatus) -> tuple[dict, list[dict]]:
    transcript = _read(results, transcript_key(status.session_id))
    insights = _read(results, insights_key(status.session_id)) if transcript is not None else None
    # A stored cost of null is unknown (no price for the model): the known part is summed, the
    # unknown one flagged, so a view never shows 0 for a cost it does not know.
    costs = [
        (doc.get("usage") or {}).get("cost_usd", 0.0) for doc in (transcript, insights) if doc is not None
    ]
    cost = sum(float(c) for c in costs if c is not None)
    # A FAILED session's older documents (e.g. before a failed re-analysis) are not its current state.
    analysed = transcript is not None and insights is not None and status.state is not SessionState.FAILED
    recorded_at = status.recorded_at or (pd.Timestamp(transcript["recorded_at"]) if transcript else None)
    row = {
        "session_id": status.session_id,
        "learner_id": status.learner_id or (transcript or {}).get("learner_id", ""),
        "state": status.state.value,
        "recorded_at": recorded_at,
        "uploaded_at": status.uploaded_at,
        "upload_completed_at": status.upload_completed_at,
        "updated_at": status.updated_at,
        "word_count": (transcript or {}).get("word_count", status.word_count),
        "cost_usd": cost,
        "cost_unknown": any(c is None for c in costs),
        "analysed": analysed,
    }
    patterns: list[dict] = []
    if analysed and insights is not None:
        row["recorded_at"] = pd.Timestamp(insights["recorded_at"])  # what the profile orders by
        counts: dict[str, int] = {}
        for insight in insights["analysis"]["insights"]:
            counts[insight["pattern_id"]] = counts.get(insight["pattern_id"], 0) + int(insight["frequency"])
        patterns = [
            {"session_id": status.session_id, "pattern_id": p, "frequency": f} for p, f in counts.items()
        ]
    return row, patterns


def frames_from_rows(rows: Iterable[tuple[dict, list[dict]]]) -> ViewInputs:
    sessions, patterns = [], []
    for row, session_patterns in rows:
        sessions.append(row)
        patterns.extend(session_patterns)
    session_frame = pd.DataFrame(sessions)
    for column in ("recorded_at", "uploaded_at", "upload_completed_at", "updated_at"):
        if column in session_frame:
            session_frame[column] = pd.to_datetime(session_frame[column], utc=True)
    return ViewInputs(typed(session_frame, SESSION_COLUMNS), typed(pd.DataFrame(patterns), PATTERN_COLUMNS))


def load_inputs(results: Storage, status: StatusStore) -> ViewInputs:
    """Every registered session and, for the analysed ones, their pattern counts."""
    statuses = status.list()
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        rows = list(pool.map(lambda s: _session_rows(results, s), statuses))
    return frames_from_rows(rows)


def view_key(name: str, suffix: str) -> str:
    return f"{VIEWS_PREFIX}/{name}.{suffix}"


def write_view(results: Storage, name: str, frame: pd.DataFrame) -> dict[str, str]:
    """``views/<name>.parquet`` and ``.csv``; returns where each went (for metadata)."""
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    results.write_bytes(view_key(name, "parquet"), parquet.getvalue())
    results.write_bytes(view_key(name, "csv"), frame.to_csv(index=False).encode())
    return {suffix: results.describe(view_key(name, suffix)) for suffix in ("parquet", "csv")}


def read_view(results: Storage, name: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(results.read_bytes(view_key(name, "parquet"))))
