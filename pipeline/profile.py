"""Pure aggregation: a learner's stored analyses -> cumulative pattern profile snapshots.

Snapshots are always recomputed from every stored analysis, never incremented, so a retried run
or a backfill cannot double-count.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import PatternProfile, PatternStat, SessionInsights, Trend
from pipeline.taxonomy import LABELS, category_of


def _order_key(doc: SessionInsights) -> tuple:
    return (doc.recorded_at, doc.session_id)


def _frequencies(doc: SessionInsights | None) -> dict[str, int]:
    if doc is None:
        return {}
    counts: dict[str, int] = {}
    for insight in doc.analysis.insights:
        counts[insight.pattern_id] = counts.get(insight.pattern_id, 0) + insight.frequency
    return counts


def _trend(now: int, before: int | None, sessions: int) -> Trend:
    if now and sessions == 1:
        return "new"
    if before is None or now == before:
        return "steady"
    return "worsening" if now > before else "improving"


def build_profile(learner_id: str, session_id: str, analyses: Sequence[SessionInsights]) -> PatternProfile:
    """The profile of ``learner_id`` as of ``session_id``: every analysis recorded at or before it."""
    ordered = sorted((a for a in analyses if a.learner_id == learner_id), key=_order_key)
    position = next((i for i, a in enumerate(ordered) if a.session_id == session_id), None)
    if position is None:
        raise KeyError(f"no stored insights for session {session_id} of learner {learner_id}")
    history = ordered[: position + 1]
    current, previous = history[-1], (history[-2] if len(history) > 1 else None)
    this_session, last_session = _frequencies(current), _frequencies(previous)

    stats: dict[str, dict] = {}
    for doc in history:
        for pattern_id, frequency in _frequencies(doc).items():
            stat = stats.setdefault(
                pattern_id,
                {"sessions": 0, "total": 0, "first": doc, "last": doc},
            )
            stat["sessions"] += 1
            stat["total"] += frequency
            stat["last"] = doc

    patterns = [
        PatternStat(
            pattern_id=pattern_id,
            category=category_of(pattern_id),
            label=LABELS.get(pattern_id, pattern_id),
            sessions=stat["sessions"],
            total_frequency=stat["total"],
            frequency_this_session=this_session.get(pattern_id, 0),
            first_seen=stat["first"].recorded_at,
            last_seen=stat["last"].recorded_at,
            first_seen_session=stat["first"].session_id,
            last_seen_session=stat["last"].session_id,
            trend=_trend(
                this_session.get(pattern_id, 0),
                None if previous is None else last_session.get(pattern_id, 0),
                stat["sessions"],
            ),
        )
        for pattern_id, stat in stats.items()
    ]
    patterns.sort(key=lambda p: (-p.sessions, -p.total_frequency, p.pattern_id))
    return PatternProfile(
        learner_id=learner_id,
        session_id=session_id,
        as_of=current.recorded_at,
        sessions_count=len(history),
        session_ids=[doc.session_id for doc in history],
        previous_session_id=previous.session_id if previous else None,
        patterns=patterns,
    )


def sessions_from(session_id: str, analyses: Sequence[SessionInsights]) -> list[str]:
    """``session_id`` and every later session of the same learner, in recorded order."""
    ordered = sorted(analyses, key=_order_key)
    ids = [a.session_id for a in ordered]
    return ids[ids.index(session_id) :] if session_id in ids else []
