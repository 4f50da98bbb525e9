"""The views' checks on frames: schema_unchanged and rows_match_sessions, passing and failing with reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.checks.views import rows_match_sessions, schema_unchanged
from pipeline.domain.models import SessionState
from pipeline.stages.services import Services
from pipeline.views.frames import (
    COHORT_COLUMNS,
    HEALTH_COLUMNS,
    PROGRESS_COLUMNS,
    cohort_patterns,
    learner_progress,
    pipeline_health,
)
from pipeline.views.io import ViewInputs, load_inputs
from tests.support.documents import T0, store_session

TENSE, FILLER = "grammar.verb_tense", "vocabulary.filler_words"


@pytest.fixture
def inputs(services: Services) -> ViewInputs:
    store_session(services, "ana", "a1", T0, {TENSE: 2})
    store_session(services, "ana", "a2", T0 + timedelta(days=8), {TENSE: 1, FILLER: 1})
    store_session(services, "ben", "b1", T0, {FILLER: 3})
    store_session(services, "ben", "b2", T0, {}, state=SessionState.FAILED)
    return load_inputs(services.results, services.status)


def test_schema_unchanged_names_what_changed(inputs: ViewInputs) -> None:
    frame = learner_progress(inputs.sessions, inputs.patterns)
    assert schema_unchanged(frame, PROGRESS_COLUMNS).passed
    assert not schema_unchanged(None, PROGRESS_COLUMNS).passed
    changed = frame.drop(columns=["trend"]).assign(sessions_seen=frame["sessions_seen"].astype("float64"))
    outcome = schema_unchanged(changed.assign(extra=1), PROGRESS_COLUMNS)
    assert not outcome.passed and outcome.severity == "ERROR"
    assert "missing trend" in outcome.description and "unexpected extra" in outcome.description
    assert outcome.metadata["retyped_columns"] == {
        "sessions_seen": {"expected": "int64", "actual": "float64"}
    }
    reordered = frame[list(reversed(frame.columns))]
    assert "reordered" in schema_unchanged(reordered, PROGRESS_COLUMNS).description


def test_rows_match_the_stored_sessions(inputs: ViewInputs) -> None:
    sessions = inputs.sessions
    views = {
        "learner_progress": (learner_progress(sessions, inputs.patterns), PROGRESS_COLUMNS),
        "cohort_patterns": (cohort_patterns(sessions, inputs.patterns), COHORT_COLUMNS),
        "pipeline_health": (pipeline_health(sessions), HEALTH_COLUMNS),
    }
    for name, (frame, columns) in views.items():
        assert schema_unchanged(frame, columns).passed, name
        outcome = rows_match_sessions(name, frame, sessions, inputs.patterns)
        assert outcome.passed and outcome.metadata["stored_sessions"] == 4, (name, outcome.description)
    progress = views["learner_progress"][0]
    lost = rows_match_sessions(
        "learner_progress", progress.assign(learner_sessions=1), sessions, inputs.patterns
    )
    assert not lost.passed and "ana (1 in the view, 2 stored)" in lost.description
    missing = rows_match_sessions(
        "learner_progress", progress[progress["learner_id"] != "ben"], sessions, inputs.patterns
    )
    assert not missing.passed and "ben (0 in the view, 1 stored)" in missing.description
    cohort = views["cohort_patterns"][0]
    doubled = rows_match_sessions(
        "cohort_patterns", cohort.assign(week_sessions=cohort["week_sessions"] * 2), sessions, inputs.patterns
    )
    assert not doubled.passed and "2026-W02" in doubled.description
    health = views["pipeline_health"][0]
    short = rows_match_sessions("pipeline_health", health.iloc[1:], sessions, inputs.patterns)
    assert not short.passed and "sessions" in short.metadata["mismatches"]
    # Built before a session arrived: the stored sessions now disagree.
    later = sessions.iloc[:-1]
    assert not rows_match_sessions(
        "pipeline_health", pipeline_health(later), sessions, inputs.patterns
    ).passed
