"""Pure aggregation: a learner's per-session pattern counts -> cumulative pattern profile snapshots.

Snapshots are always recomputed from the stored analyses (never incremented), so a retried run or
a backfill cannot double-count. All of a learner's snapshots are computed in one ordered pass, so
maintaining them costs O(sessions) per learner, not O(sessions²).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pipeline.domain.models import PatternProfile, PatternStat, SessionInsights, Trend
from pipeline.domain.taxonomy import LABELS, category_of


@dataclass(frozen=True)
class ProfileEntry:
    """One analysed session as the profile sees it: when, and how often each pattern occurred."""

    session_id: str
    recorded_at: datetime
    counts: Mapping[str, int]


def pattern_counts(doc: SessionInsights) -> dict[str, int]:
    """pattern_id -> how often it occurred in one session: every pattern found, not only the insights.

    The analysis' full ``pattern_counts`` when it has them; an insight whose pattern they miss (and
    documents written before they existed) count by the insight's frequency.
    """
    counts: dict[str, int] = {}
    for found in doc.analysis.pattern_counts:
        counts[found.pattern_id] = counts.get(found.pattern_id, 0) + found.count
    listed = set(counts)
    for insight in doc.analysis.insights:
        if insight.pattern_id not in listed:
            counts[insight.pattern_id] = counts.get(insight.pattern_id, 0) + insight.frequency
    return counts


def entry_of(doc: SessionInsights) -> ProfileEntry:
    return ProfileEntry(doc.session_id, doc.recorded_at, pattern_counts(doc))


def _ordered(entries: Sequence[ProfileEntry]) -> list[ProfileEntry]:
    return sorted(entries, key=lambda e: (e.recorded_at, e.session_id))


def _trend(now: int, before: int | None, sessions: int) -> Trend:
    if now and sessions == 1:
        return "new"
    if before is None or now == before:
        return "steady"
    return "worsening" if now > before else "improving"


def iter_snapshots(learner_id: str, entries: Sequence[ProfileEntry]) -> Iterator[PatternProfile]:
    """Every snapshot of ``learner_id``, oldest first, in one pass over the ordered entries."""
    history: list[ProfileEntry] = []
    stats: dict[str, dict] = {}
    for entry in _ordered(entries):
        previous = history[-1] if history else None
        history.append(entry)
        for pattern_id, frequency in entry.counts.items():
            stat = stats.setdefault(pattern_id, {"sessions": 0, "total": 0, "first": entry, "last": entry})
            stat["sessions"] += 1
            stat["total"] += frequency
            stat["last"] = entry
        patterns = [
            PatternStat(
                pattern_id=pattern_id,
                category=category_of(pattern_id),
                label=LABELS.get(pattern_id, pattern_id),
                sessions=stat["sessions"],
                total_frequency=stat["total"],
                frequency_this_session=entry.counts.get(pattern_id, 0),
                first_seen=stat["first"].recorded_at,
                last_seen=stat["last"].recorded_at,
                first_seen_session=stat["first"].session_id,
                last_seen_session=stat["last"].session_id,
                trend=_trend(
                    entry.counts.get(pattern_id, 0),
                    None if previous is None else previous.counts.get(pattern_id, 0),
                    stat["sessions"],
                ),
            )
            for pattern_id, stat in stats.items()
        ]
        patterns.sort(key=lambda p: (-p.sessions, -p.total_frequency, p.pattern_id))
        yield PatternProfile(
            learner_id=learner_id,
            session_id=entry.session_id,
            as_of=entry.recorded_at,
            sessions_count=len(history),
            session_ids=[e.session_id for e in history],
            previous_session_id=previous.session_id if previous else None,
            patterns=patterns,
        )


def build_profile(learner_id: str, session_id: str, analyses: Sequence[SessionInsights]) -> PatternProfile:
    """The profile of ``learner_id`` as of ``session_id``: every analysis recorded at or before it."""
    entries = [entry_of(a) for a in analyses if a.learner_id == learner_id]
    if not any(e.session_id == session_id for e in entries):
        raise KeyError(f"no stored insights for session {session_id} of learner {learner_id}")
    for snapshot in iter_snapshots(learner_id, entries):
        if snapshot.session_id == session_id:
            return snapshot
    raise AssertionError("unreachable: the session is among the entries")


def snapshot_digest(profile: PatternProfile) -> str:
    """Identifies a snapshot's content (not when it was written), to skip rewriting an unchanged one."""
    content = profile.model_dump(mode="json", exclude={"created_at"})
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def sessions_from(session_id: str, analyses: Sequence[SessionInsights]) -> list[str]:
    """``session_id`` and every later session of the same learner, in recorded order."""
    ids = [e.session_id for e in _ordered([entry_of(a) for a in analyses])]
    return ids[ids.index(session_id) :] if session_id in ids else []
