"""PNG charts of the views, drawn by pandas' plotting on matplotlib's Agg backend.

matplotlib is imported inside each function: importing this module costs nothing, so a run that
draws no chart (and the code location's load) never pays matplotlib's import.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 6.0, 2.6, 72  # small on purpose: every chart rides in event metadata
MAX_LEARNERS, MAX_PATTERNS, MAX_SESSIONS, MAX_WEEKS = 4, 4, 12, 8


def _figure(rows: int = 1) -> tuple[Figure, list[Axes]]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(rows, 1, figsize=(WIDTH, HEIGHT * rows), dpi=DPI, squeeze=False)
    return figure, [row[0] for row in axes]


def _png(figure: Figure) -> bytes:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def _top(frame: pd.DataFrame, by: str, value: str, limit: int) -> list[str]:
    return frame.groupby(by)[value].sum().sort_values(ascending=False).head(limit).index.tolist()


def learner_rates_chart(rates: pd.DataFrame) -> bytes | None:
    """Per learner (most sessions first): top patterns' occurrences per 100 words, session by session."""
    if rates.empty:
        return None
    by_sessions = rates.groupby("learner_id")["session_id"].nunique().sort_values(ascending=False)
    learners = by_sessions.head(MAX_LEARNERS).index.tolist()
    figure, axes = _figure(len(learners))
    for ax, learner in zip(axes, learners, strict=True):
        mine = rates[rates["learner_id"] == learner]
        mine = mine[mine["order"] >= mine["order"].max() - MAX_SESSIONS + 1]
        top = _top(mine, "pattern_id", "frequency", MAX_PATTERNS)
        table = mine[mine["pattern_id"].isin(top)].pivot_table(
            index="recorded_at", columns="pattern_id", values="rate_per_100_words", aggfunc="sum"
        )
        table = table.reindex(sorted(mine["recorded_at"].unique())).fillna(0.0)
        table.index = [stamp.strftime("%m-%d") for stamp in table.index]
        table.plot(ax=ax, marker="o", title=f"{learner}: per 100 words", fontsize=7)
        ax.legend(fontsize=6, loc="upper right")
    return _png(figure)


def profile_counts_chart(learner_id: str, counts: pd.DataFrame) -> bytes | None:
    """One learner's pattern counts across sessions (columns: recorded_at, pattern_id, frequency)."""
    if counts.empty:
        return None
    sessions = sorted(counts["recorded_at"].unique())[-MAX_SESSIONS:]
    counts = counts[counts["recorded_at"].isin(sessions)]
    top = _top(counts, "pattern_id", "frequency", MAX_PATTERNS)
    table = counts[counts["pattern_id"].isin(top)].pivot_table(
        index="recorded_at", columns="pattern_id", values="frequency", aggfunc="sum"
    )
    table = table.reindex(sessions).fillna(0)
    table.index = [pd.Timestamp(stamp).strftime("%m-%d") for stamp in table.index]
    figure, [ax] = _figure()
    table.plot(ax=ax, kind="bar", title=f"{learner_id}: pattern counts per session", fontsize=7, rot=0)
    ax.legend(fontsize=6, loc="upper left")
    return _png(figure)


def cohort_chart(cohort: pd.DataFrame) -> bytes | None:
    """Share of each week's sessions showing the cohort's top patterns (latest weeks)."""
    if cohort.empty:
        return None
    weeks = sorted(cohort["week"].unique())[-MAX_WEEKS:]
    recent = cohort[cohort["week"].isin(weeks)]
    top = _top(recent, "pattern_id", "sessions", MAX_PATTERNS + 2)
    table = recent[recent["pattern_id"].isin(top)].pivot_table(
        index="week", columns="pattern_id", values="share_of_sessions", aggfunc="sum"
    )
    figure, [ax] = _figure()
    table.reindex(weeks).fillna(0.0).plot(
        ax=ax, kind="bar", title="Top patterns: share of sessions", fontsize=7, rot=0
    )
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="upper left")
    return _png(figure)
