"""What an analyst must be able to trust about a view, checked on the view as written (its Parquet).

``schema_unchanged``: the columns and their types are the documented ones (a renamed, dropped or
retyped column breaks every notebook and query that reads the view). ``rows_match_sessions``: the
view's counts agree with the stored sessions it was built from (the status store's rows and which
of them are analysed), so a view that silently lost or doubled sessions fails. Both are pure
functions of frames: the caller reads the view and passes the schema it is documented with.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipeline.checks.evaluations import CheckOutcome

#: Differences named in a description; the metadata holds them all.
_SHOWN = 5


def schema_unchanged(frame: pd.DataFrame | None, expected: Mapping[str, str]) -> CheckOutcome:
    """The view's columns, in order, with the documented dtypes."""
    if frame is None:
        return CheckOutcome(False, "ERROR", "the view has not been written yet")
    actual = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    missing = [name for name in expected if name not in actual]
    extra = [name for name in actual if name not in expected]
    retyped = {
        name: {"expected": expected[name], "actual": actual[name]}
        for name in expected
        if name in actual and actual[name] != expected[name]
    }
    reordered = not (missing or extra) and list(actual) != list(expected)
    metadata = {"columns": len(actual), "expected_columns": len(expected)}
    problems = []
    if missing:
        problems.append("missing " + ", ".join(missing[:_SHOWN]))
        metadata["missing_columns"] = missing  # type: ignore[assignment]
    if extra:
        problems.append("unexpected " + ", ".join(extra[:_SHOWN]))
        metadata["unexpected_columns"] = extra  # type: ignore[assignment]
    if retyped:
        problems.append(
            "retyped "
            + ", ".join(f"{n} ({t['expected']} -> {t['actual']})" for n, t in list(retyped.items())[:_SHOWN])
        )
        metadata["retyped_columns"] = retyped  # type: ignore[assignment]
    if reordered:
        problems.append("columns reordered")
    if problems:
        return CheckOutcome(False, "ERROR", "schema changed: " + "; ".join(problems), metadata)
    return CheckOutcome(True, "ERROR", f"the {len(expected)} documented columns, with their types", metadata)


def _iso_weeks(stamps: pd.Series) -> pd.Series:
    calendar = stamps.dt.isocalendar()
    return calendar["year"].astype(str) + "-W" + calendar["week"].astype(str).str.zfill(2)


def _mismatches(view: pd.Series, stored: pd.Series, expected: set[str]) -> dict[str, dict[str, int]]:
    """Keys whose count in the view differs from the stored sessions', and ``expected`` keys it lacks."""
    view = view.reindex(sorted(set(map(str, view.index)) | expected), fill_value=0)
    stored = stored.reindex(view.index, fill_value=0)
    differ = view[view != stored]
    return {str(k): {"view": int(differ[k]), "stored": int(stored[k])} for k in differ.index}


def _over(frame: pd.DataFrame, key: str, part: str, whole: str) -> dict[str, dict[str, int]]:
    """Rows counting more sessions (``part``) than their learner or week has (``whole``)."""
    over = frame[frame[part] > frame[whole]]
    keys = over[key].astype(str) + "/" + over["pattern_id"].astype(str)
    return {
        k: {"view": int(p), "stored": int(w)}
        for k, p, w in zip(keys, over[part].to_numpy(), over[whole].to_numpy(), strict=True)
    }


def rows_match_sessions(
    view: str, frame: pd.DataFrame | None, sessions: pd.DataFrame, patterns: pd.DataFrame
) -> CheckOutcome:
    """The view's counts agree with ``sessions`` (one row per stored session: session_id, learner_id,
    state, analysed, recorded_at) and ``patterns`` (session_id, pattern_id, frequency): every learner
    and week with a pattern is there, with as many sessions as are stored."""
    if frame is None:
        return CheckOutcome(False, "ERROR", "the view has not been written yet")
    analysed = sessions[sessions["analysed"]]
    showing = analysed[analysed["session_id"].isin(set(patterns["session_id"]))]
    metadata: dict = {
        "rows": len(frame),
        "stored_sessions": len(sessions),
        "analysed_sessions": len(analysed),
    }
    if view == "learner_progress":
        per_learner = frame.groupby("learner_id")["learner_sessions"].max()
        bad = _mismatches(
            per_learner,
            analysed.groupby("learner_id")["session_id"].nunique(),
            set(showing["learner_id"].astype(str)),
        )
        bad.update(_over(frame, "learner_id", "sessions_seen", "learner_sessions"))
        what = "learners whose learner_sessions differ from their analysed sessions (or rows over them)"
    elif view == "cohort_patterns":
        per_week = frame.groupby("week")["week_sessions"].max()
        stored = analysed.groupby(_iso_weeks(analysed["recorded_at"]))["session_id"].nunique()
        bad = _mismatches(per_week, stored, set(_iso_weeks(showing["recorded_at"])))
        bad.update(_over(frame, "week", "sessions", "week_sessions"))
        what = "weeks whose week_sessions differ from their analysed sessions (or rows over them)"
    elif view == "pipeline_health":
        totals = {
            "sessions": (int(frame["sessions"].sum()), len(sessions)),
            "sessions_done": (int(frame["sessions_done"].sum()), int((sessions["state"] == "DONE").sum())),
            "sessions_failed": (
                int(frame["sessions_failed"].sum()),
                int((sessions["state"] == "FAILED").sum()),
            ),
        }
        bad = {k: {"view": v, "stored": s} for k, (v, s) in totals.items() if v != s}
        what = "totals that differ from the status store's sessions"
    else:
        raise ValueError(f"no row check for view {view!r}")
    if bad:
        metadata["mismatches"] = bad
        shown = ", ".join(
            f"{k} ({c['view']} in the view, {c['stored']} stored)" for k, c in list(bad.items())[:_SHOWN]
        )
        return CheckOutcome(False, "ERROR", f"{len(bad)} {what}: {shown}", metadata)
    return CheckOutcome(True, "ERROR", f"counts agree with the {len(sessions)} stored sessions", metadata)
