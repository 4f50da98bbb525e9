"""The pattern_profile stage: a learner's stored insights -> the snapshot as of one session."""

from __future__ import annotations

import logging

from pipeline.errors import PermanentError
from pipeline.models import PatternProfile, SessionInsights, SessionState
from pipeline.profile import build_profile, sessions_from
from pipeline.services import Services, insights_key, profile_key
from pipeline.tracking import tracked
from pipeline.uploads import validate_id

log = logging.getLogger(__name__)


def _stored_insights(services: Services, learner_id: str) -> list[SessionInsights]:
    documents = []
    for status in services.status.list(learner_id=learner_id):
        try:
            documents.append(services.results.read_model(insights_key(status.session_id), SessionInsights))
        except FileNotFoundError:
            continue  # not analysed yet: its own run will refresh the snapshots after it
    return documents


def profile_session(services: Services, session_id: str) -> tuple[PatternProfile, list[str]]:
    """Store the profile as of ``session_id`` and refresh the learner's existing later snapshots.

    Returns the snapshot and the ids of later snapshots rewritten, so that after a backfill of an
    earlier session's insights every later snapshot ends consistent.
    """
    validate_id(session_id)
    with tracked(services.status, session_id, SessionState.ANALYZING):
        try:
            own = services.results.read_model(insights_key(session_id), SessionInsights)
        except FileNotFoundError as exc:
            raise PermanentError(
                f"no stored insights for session {session_id}: materialize insights first", session_id=session_id
            ) from exc
        with services.status.learner_lock(own.learner_id):
            analyses = _stored_insights(services, own.learner_id)
            if not any(a.session_id == session_id for a in analyses):
                analyses.append(own)  # registered under another learner id, or not registered at all
            profile = build_profile(own.learner_id, session_id, analyses)
            services.results.write_model(profile_key(session_id), profile)
            refreshed = []
            for later in sessions_from(session_id, analyses)[1:]:
                if services.results.exists(profile_key(later)):
                    services.results.write_model(profile_key(later), build_profile(own.learner_id, later, analyses))
                    refreshed.append(later)
        services.status.set_state(session_id, SessionState.DONE)
    if refreshed:
        log.info("session %s: refreshed %d later snapshot(s) of its learner", session_id, len(refreshed))
    return profile, refreshed
