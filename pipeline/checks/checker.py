"""Running the session checks against stored documents, reading each document at most once per step.

A step checks many sessions (a backfill); the profile check needs every analysed session of the
learner, so those insights are cached per learner for the step instead of re-read per session.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.checks.evaluations import (
    CheckOutcome,
    insights_grounded,
    profile_consistent,
    transcript_quality,
)
from pipeline.domain.documents import insights_key, profile_key, transcript_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.models import PatternProfile, SessionInsights
from pipeline.status.store import StatusStore
from pipeline.storage import Storage


def _missing(what: str, session_id: str) -> CheckOutcome:
    return CheckOutcome(
        False, "ERROR", f"no stored {what} for session {session_id}: materialize it first", {}
    )


class SessionChecker:
    """The three checks of a session, over one step's sessions."""

    def __init__(self, results: Storage, status: StatusStore) -> None:
        self.results = results
        self.status = status
        self._insights: dict[str, SessionInsights | None] = {}

    def _json(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.results.read_bytes(key))
        except FileNotFoundError:
            return None

    def transcript(self, session_id: str, doc: dict[str, Any] | None = None) -> CheckOutcome:
        doc = doc if doc is not None else self._json(transcript_key(session_id))
        return transcript_quality(doc) if doc is not None else _missing("transcript", session_id)

    def insights(self, session_id: str, doc: dict[str, Any] | None = None) -> CheckOutcome:
        doc = doc if doc is not None else self._json(insights_key(session_id))
        if doc is None:
            return _missing("insights", session_id)
        transcript = self._json(transcript_key(session_id))
        if transcript is None:
            return _missing("transcript", session_id)
        return insights_grounded(doc, str(transcript.get("text", "")))

    def _learner_insights(self, learner_id: str) -> list[SessionInsights]:
        for row in self.status.profiles.rows(learner_id):
            if row.session_id not in self._insights:
                try:
                    self._insights[row.session_id] = self.results.read_model(
                        insights_key(row.session_id), SessionInsights
                    )
                except (FileNotFoundError, PermanentError):
                    self._insights[row.session_id] = None  # not analysed: not in any snapshot either
        return [doc for doc in self._insights.values() if doc is not None and doc.learner_id == learner_id]

    def profile(self, session_id: str) -> CheckOutcome:
        try:
            stored = self.results.read_model(profile_key(session_id), PatternProfile)
        except FileNotFoundError:
            return _missing("pattern_profile", session_id)
        except PermanentError as exc:
            return CheckOutcome(False, "ERROR", exc.message, {})
        return profile_consistent(stored, self._learner_insights(stored.learner_id))
