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

#: About 1,000 px wide: the width of an asset page's metadata column at 1600 px, so text reads at
#: full size (each chart rides in event metadata, so not wider).
WIDTH, HEIGHT, DPI = 10.0, 3.2, 100
FONT = 9
MAX_LEARNERS, MAX_PATTERNS, MAX_SESSIONS, MAX_WEEKS = 4, 4, 12, 8
#: A week's share of sessions is drawn only over at least this many sessions (1 of 1 is not 100 %).
MIN_WEEK_SESSIONS = 5


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
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")  # keeps the outside legends
    plt.close(figure)
    return buffer.getvalue()


def _legend_outside(ax: Axes) -> None:
    """Labels, not ids, in a legend right of the data, never over it."""
    from pipeline.domain.taxonomy import LABELS

    handles, names = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        [LABELS.get(n, n) for n in names],
        fontsize=FONT,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )


def _top(frame: pd.DataFrame, by: str, value: str, limit: int) -> list[str]:
    return frame.groupby(by)[value].sum().sort_values(ascending=False).head(limit).index.tolist()


def session_labels(stamps: list[pd.Timestamp]) -> list[str]:
    """Each session's date (month-day) as its tick, with the time where one day holds two sessions."""
    days = [pd.Timestamp(stamp).strftime("%m-%d") for stamp in stamps]
    return [
        pd.Timestamp(stamp).strftime("%m-%d %H:%M") if days.count(day) > 1 else day
        for stamp, day in zip(stamps, days, strict=True)
    ]


def learner_rates_chart(rates: pd.DataFrame) -> bytes | None:
    """Per learner (most sessions first): top patterns' occurrences per 100 words, session by session."""
    if rates.empty:
        return None
    by_sessions = rates.groupby("learner_id")["session_id"].nunique().sort_values(ascending=False)
    learners = by_sessions.head(MAX_LEARNERS).index.tolist()
    rest = by_sessions.index.tolist()[MAX_LEARNERS:]
    figure, axes = _figure(len(learners))
    if rest:  # the top N by sessions, and the rest named so nobody is silently missing
        figure.suptitle(
            f"{len(learners)} learners with the most sessions; not drawn: "
            + ", ".join(map(str, rest[:20]))
            + (f" and {len(rest) - 20} more" if len(rest) > 20 else ""),
            fontsize=FONT,
        )
    for ax, learner in zip(axes, learners, strict=True):
        mine = rates[rates["learner_id"] == learner]
        mine = mine[mine["order"] >= mine["order"].max() - MAX_SESSIONS + 1]
        top = _top(mine, "pattern_id", "frequency", MAX_PATTERNS)
        table = mine[mine["pattern_id"].isin(top)].pivot_table(
            index="recorded_at", columns="pattern_id", values="rate_per_100_words", aggfunc="sum"
        )
        table = table.reindex(sorted(mine["recorded_at"].unique())).fillna(0.0)
        table.index = session_labels(list(table.index))
        table.plot(ax=ax, marker="o", title=f"{learner}: occurrences per 100 words", fontsize=FONT)
        # One tick per session: left to matplotlib, a line over text labels is ticked at fractional
        # positions and only some sessions get their date.
        ax.set_xticks(range(len(table.index)), list(table.index))
        ax.set_ylabel("per 100 words", fontsize=FONT)
        _legend_outside(ax)
    return _png(figure)


def profile_counts_chart(learner_id: str, counts: pd.DataFrame) -> bytes | None:
    """One learner's patterns across sessions per 100 words, so sessions of different lengths compare.

    Columns: recorded_at, pattern_id, frequency and rate_per_100_words (frequency when it is absent).
    """
    if counts.empty:
        return None
    sessions = sorted(counts["recorded_at"].unique())[-MAX_SESSIONS:]
    counts = counts[counts["recorded_at"].isin(sessions)]
    top = _top(counts, "pattern_id", "frequency", MAX_PATTERNS)
    value = "rate_per_100_words" if "rate_per_100_words" in counts else "frequency"
    table = counts[counts["pattern_id"].isin(top)].pivot_table(
        index="recorded_at", columns="pattern_id", values=value, aggfunc="sum"
    )
    table = table.reindex(sessions).fillna(0)
    table.index = session_labels(list(table.index))
    figure, [ax] = _figure()
    unit = "per 100 words" if value == "rate_per_100_words" else "count"
    table.plot(ax=ax, kind="bar", title=f"{learner_id}: patterns per session ({unit})", fontsize=FONT, rot=0)
    ax.set_ylabel(unit, fontsize=FONT)
    _legend_outside(ax)
    return _png(figure)


def week_label(week: str, sessions: int) -> str:
    """A week's tick: the week, its session count, and whether it has too few to draw shares."""
    count = f"{sessions} session{'' if sessions == 1 else 's'}"
    return f"{week}\n{count}" + ("" if sessions >= MIN_WEEK_SESSIONS else " (too few)")


def cohort_chart(cohort: pd.DataFrame) -> bytes | None:
    """Share of each week's sessions showing the cohort's top patterns (latest weeks).

    A week with fewer than MIN_WEEK_SESSIONS sessions is left empty (its tick says so): one session
    of one would read as 100 %.
    """
    if cohort.empty:
        return None
    weeks = sorted(cohort["week"].unique())[-MAX_WEEKS:]
    recent = cohort[cohort["week"].isin(weeks)]
    top = _top(recent, "pattern_id", "sessions", MAX_PATTERNS + 2)
    table = recent[recent["pattern_id"].isin(top)].pivot_table(
        index="week", columns="pattern_id", values="share_of_sessions", aggfunc="sum"
    )
    totals = recent.groupby("week")["week_sessions"].max().reindex(weeks).fillna(0).astype(int)
    table = table.reindex(weeks).fillna(0.0)
    table.loc[totals < MIN_WEEK_SESSIONS] = float("nan")
    table.index = [week_label(str(week), int(n)) for week, n in totals.items()]
    figure, [ax] = _figure()
    table.plot(ax=ax, kind="bar", title="Top patterns: share of each week's sessions", fontsize=FONT, rot=0)
    ax.set_ylim(0, 1)
    if bool((totals < MIN_WEEK_SESSIONS).all()):  # an empty frame would read as "no pattern anywhere"
        ax.text(
            0.5,
            0.5,
            f"no week has {MIN_WEEK_SESSIONS} sessions yet: shares are drawn from {MIN_WEEK_SESSIONS} a week",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=FONT,
        )
    ax.set_ylabel("share of sessions", fontsize=FONT)
    _legend_outside(ax)
    return _png(figure)


def health_chart(health: pd.DataFrame) -> bytes | None:
    """Per week of upload (latest weeks): sessions DONE, FAILED and pending, and the median upload -> DONE."""
    if health.empty:
        return None
    recent = health.sort_values("week").tail(MAX_WEEKS).set_index("week")
    figure, (counts, speed) = _figure(2)
    states = recent[["sessions_done", "sessions_failed", "sessions_pending"]].rename(
        columns={"sessions_done": "DONE", "sessions_failed": "FAILED", "sessions_pending": "pending"}
    )
    states.plot(
        ax=counts,
        kind="bar",
        stacked=True,
        color=["#2e7d32", "#c62828", "#9e9e9e"],
        title="Sessions per week of upload",
        fontsize=FONT,
        rot=0,
    )
    counts.set_ylabel("sessions", fontsize=FONT)
    counts.set_xlabel("")
    counts.legend(fontsize=FONT, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    recent["median_upload_to_done_seconds"].plot(
        ax=speed,
        kind="bar",
        color="#1565c0",
        title="Median seconds from upload complete to DONE",
        fontsize=FONT,
        rot=0,
    )
    speed.set_ylabel("seconds", fontsize=FONT)
    speed.set_xlabel("")
    return _png(figure)
