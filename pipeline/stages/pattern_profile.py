"""The pattern_profile stage: the learner's analysed sessions -> the snapshot as of each session.

One pass per learner and run: the learner's index rows (pattern counts and snapshot digests, in the
status store) are read in one query, every snapshot from the run's earliest session on is computed
in one ordered pass, and a snapshot is written only if it belongs to the run or its content
changed. Backfilling N profiles of a learner therefore costs O(N) work and at most one write per
snapshot, instead of N(N+1)/2 writes; the learner lock is held for that pass only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.domain.documents import insights_key, profile_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import validate_id
from pipeline.domain.models import PatternProfile, SessionInsights
from pipeline.domain.snapshots import ProfileEntry, entry_of, iter_snapshots, pattern_counts, snapshot_digest
from pipeline.stages import lifecycle
from pipeline.stages.services import Services
from pipeline.status.profile_index import ProfileRow

log = logging.getLogger(__name__)


@dataclass
class ProfileOutcome:
    """One requested session's result: its snapshot and the later snapshots it rewrote, or an error."""

    session_id: str
    profile: PatternProfile | None = None
    refreshed: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)  # of the refreshed snapshots
    error: BaseException | None = None


def _own_insights(services: Services, session_id: str) -> SessionInsights:
    validate_id(session_id)
    try:
        return services.results.read_model(insights_key(session_id), SessionInsights)
    except FileNotFoundError as exc:
        raise PermanentError(
            f"no stored insights for session {session_id}: materialize insights first", session_id=session_id
        ) from exc


def _indexed_entry(services: Services, row: ProfileRow) -> ProfileEntry | None:
    """A session outside the run, from the index; sessions indexed by no release yet are read once."""
    if row.pattern_counts is not None and row.recorded_at is not None:
        return ProfileEntry(row.session_id, row.recorded_at, row.pattern_counts)
    try:
        doc = services.results.read_model(insights_key(row.session_id), SessionInsights)
    except FileNotFoundError:
        return None  # not analysed (yet): its own run will refresh the snapshots after it
    services.status.profiles.save_counts(row.session_id, pattern_counts(doc), doc.recorded_at)
    return entry_of(doc)


def _learner_pass(
    services: Services, learner_id: str, own: dict[str, SessionInsights]
) -> dict[str, ProfileOutcome]:
    """Compute and store the snapshots of ``own`` (one learner's sessions) and refresh the later ones."""
    entries: dict[str, ProfileEntry] = {}
    digests: dict[str, str | None] = {}
    indexed: dict[str, dict[str, int] | None] = {}
    starts: list[tuple[datetime, str]] = []  # where the run's sessions were and are in the learner's order
    with services.status.locks.hold(learner_id):
        for row in services.status.profiles.rows(learner_id):
            digests[row.session_id] = row.profile_digest
            indexed[row.session_id] = row.pattern_counts
            if row.session_id in own:
                if row.recorded_at is not None:  # its old position: later snapshots counted that version
                    starts.append((row.recorded_at, row.session_id))
                continue
            entry = _indexed_entry(services, row)
            if entry is not None:
                entries[row.session_id] = entry
        for session_id, doc in own.items():
            entries[session_id] = entry_of(doc)  # the run's own, as just stored (registered or not)
            if indexed.get(session_id) != entries[session_id].counts:
                services.status.profiles.save_counts(
                    session_id, dict(entries[session_id].counts), doc.recorded_at
                )
        # A re-upload may move a session later (a new recorded_at): the snapshots between its old
        # and new positions counted the old version, so the pass starts at the earlier of the two.
        first = min([*starts, *((entries[s].recorded_at, s) for s in own)])
        outcomes = {s: ProfileOutcome(s) for s in own}
        written: dict[str, str] = {}
        latest_own = None
        for snapshot in iter_snapshots(learner_id, list(entries.values())):
            session_id = snapshot.session_id
            if (snapshot.as_of, session_id) < first:
                continue  # before every session of the run: unchanged by it
            digest = snapshot_digest(snapshot)
            if session_id in own:
                latest_own = session_id
                outcomes[session_id].profile = snapshot
                services.results.write_model(profile_key(session_id), snapshot)
                written[session_id] = digest
            elif digest != digests.get(session_id) and _has_snapshot(services, session_id, digests):
                services.results.write_model(profile_key(session_id), snapshot)
                written[session_id] = digest
                outcome = outcomes[latest_own or min(own)]
                outcome.refreshed.append(session_id)
                outcome.digests[session_id] = digest
        services.status.profiles.save_digests(written)
    return outcomes


def _has_snapshot(services: Services, session_id: str, digests: dict[str, str | None]) -> bool:
    """Only snapshots that exist are refreshed; one still to come is written by its own run."""
    if digests.get(session_id) is not None:
        return True
    return services.results.exists(profile_key(session_id))  # stored before digests were indexed


def profile_sessions(services: Services, session_ids: Sequence[str]) -> list[ProfileOutcome]:
    """Store the profile as of each of ``session_ids`` and refresh their learners' later snapshots.

    Every session ends DONE or FAILED with its reason; one session's failure never stops another's.
    """
    outcomes: dict[str, ProfileOutcome] = {}
    by_learner: dict[str, dict[str, SessionInsights]] = {}
    for session_id in session_ids:
        try:
            doc = _own_insights(services, session_id)
            by_learner.setdefault(doc.learner_id, {})[session_id] = doc
        except Exception as exc:  # classified by describe_failure/failure_kind, recorded per session
            outcomes[session_id] = ProfileOutcome(session_id, error=exc)
    for learner_id, own in by_learner.items():
        try:
            outcomes.update(_learner_pass(services, learner_id, own))
        except Exception as exc:
            outcomes.update({s: ProfileOutcome(s, error=exc) for s in own})
    for outcome in outcomes.values():
        if outcome.error is None:
            lifecycle.finish(services.status, outcome.session_id, services.run_id)
            if outcome.refreshed:
                log.info(
                    "session %s: refreshed %d later snapshot(s)", outcome.session_id, len(outcome.refreshed)
                )
        else:
            lifecycle.fail(services.status, outcome.session_id, outcome.error, services.run_id)
    return [outcomes[s] for s in session_ids if s in outcomes]


def profile_session(services: Services, session_id: str) -> tuple[PatternProfile, list[str]]:
    """One session's snapshot and the later snapshots it rewrote; raises its failure."""
    [outcome] = profile_sessions(services, [session_id])
    if outcome.error is not None:
        raise outcome.error
    assert outcome.profile is not None
    return outcome.profile, outcome.refreshed
