"""Small stored fixtures for the views: sessions written as the pipeline stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.domain.documents import insights_key, transcript_key
from pipeline.domain.models import (
    Insight,
    SessionAnalysis,
    SessionInsights,
    SessionState,
    Transcript,
    UsageCost,
)
from pipeline.domain.taxonomy import category_of
from pipeline.stages.services import Services

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday (ISO week 2026-W02)


def insight(pattern_id: str, frequency: int, example: str = "") -> Insight:
    return Insight(
        category=category_of(pattern_id),  # type: ignore[arg-type]
        pattern_id=pattern_id,  # type: ignore[arg-type]
        pattern=pattern_id,
        detail="detail",
        frequency=frequency,
        severity="medium",
        examples=[example] if example else [],
        suggestion="practise",
    )


def store_session(
    services: Services,
    learner: str,
    session: str,
    recorded_at: datetime,
    counts: dict[str, int],
    *,
    words: int = 100,
    text: str | None = None,
    cost: float | None = 0.0,
    state: SessionState = SessionState.DONE,
    uploaded_after: timedelta = timedelta(minutes=1),
    done_after: timedelta | None = timedelta(seconds=30),
) -> None:
    """Register ``session`` and store its transcript and insights (``counts``: pattern_id -> frequency).

    ``cost`` is split between the two documents; None stores the analysis's as unknown (no price).
    """
    body = text if text is not None else " ".join(["word"] * words)
    services.status.register(session, learner, media_key=None, uploaded_at=recorded_at + uploaded_after)
    transcript = Transcript(
        session_id=session,
        learner_id=learner,
        text=body,
        source="text",
        recorded_at=recorded_at,
        word_count=len(body.split()),
        provider="text",
        model="none",
        input_sha256="0" * 64,
        usage=UsageCost(cost_usd=0.0 if cost is None else cost / 2),
    )
    services.results.write_model(transcript_key(session), transcript)
    if counts:
        analysis = SessionAnalysis(
            insights=[insight(p, f) for p, f in counts.items()], focus_next="focus", summary="summary"
        )
        doc = SessionInsights(
            session_id=session,
            learner_id=learner,
            recorded_at=recorded_at,
            analysis=analysis,
            provider="rules",
            model="rules",
            prompt_version="v",
            input_sha256="0" * 64,
            usage=UsageCost(cost_usd=None if cost is None else cost / 2),
        )
        services.results.write_model(insights_key(session), doc)
    services.status.set_state(session, state, recorded_at=recorded_at)
    if done_after is not None:
        with services.status.engine.begin() as conn:
            from pipeline.status.store import sessions_table

            conn.execute(
                sessions_table.update()
                .where(sessions_table.c.session_id == session)
                .values(updated_at=recorded_at + uploaded_after + done_after)
            )
