"""Pydantic models of everything the pipeline stores or exchanges.

They are the result JSON documents users read (``$RESULTS_URI/...``) and the schema the LLM
providers must fill, so field names here are a public contract.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.domain.taxonomy import Category, PatternId, Severity

SCHEMA_VERSION = "1"


def utcnow() -> datetime:
    return datetime.now(UTC)


class SessionManifest(BaseModel):
    """The optional ``session.json`` a learner's client uploads beside the media."""

    model_config = ConfigDict(extra="ignore")

    recorded_at: datetime | None = None
    language: Annotated[
        str, Field(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]+)*$")
    ] = "en"
    topic: Annotated[str, Field(max_length=500)] | None = None

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # A naive timestamp is read as UTC so that sessions of one learner always order the same way.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class UsageCost(BaseModel):
    """What one provider call cost; all zero for offline providers."""

    input_tokens: int = 0
    output_tokens: int = 0
    audio_seconds: float = 0.0
    #: Estimated USD; None when no price is known for the model (unknown, which 0 would hide).
    cost_usd: float | None = 0.0
    latency_seconds: float = 0.0
    calls: int = 0


class TranscriptSegment(BaseModel):
    """A stretch of recognised speech, with its times in the recording and the recognizer's confidence."""

    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


class TranscriptQuality(BaseModel):
    """How far a transcript can be trusted: speech share, confidence, and decoded vs declared length."""

    speech_ratio: float | None = None  # share of the decoded recording that voice activity detection kept
    mean_logprob: float | None = None  # the segments' average token log-probability, weighted by duration
    no_speech_prob: float | None = None  # the segments' mean probability of holding no speech
    decoded_seconds: float | None = None
    declared_seconds: float | None = None  # the duration the container's header declares
    truncated: bool = False  # decoded far shorter than declared: a cut-off upload


class Transcript(BaseModel):
    """``$RESULTS_URI/transcripts/<session_id>.json``."""

    schema_version: str = SCHEMA_VERSION
    session_id: str
    learner_id: str
    text: str
    source: Literal["audio", "text"]
    language: str = "en"
    topic: str | None = None
    recorded_at: datetime
    duration_seconds: float | None = None
    word_count: int
    words_per_minute: float | None = None
    provider: str
    model: str
    input_sha256: str
    #: The media object's storage version when transcribed (ETag, or size and mtime): a re-execution
    #: that finds the same version reuses this transcript without reading (or needing) the media.
    input_version: str | None = None
    usage: UsageCost = Field(default_factory=UsageCost)
    audio_deleted_at: datetime | None = None
    #: Recognised segments with times (empty for uploaded text and providers that give none).
    segments: list[TranscriptSegment] = Field(default_factory=list)
    quality: TranscriptQuality | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Insight(BaseModel):
    """One recurring pattern in a session, with verbatim evidence."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    pattern_id: PatternId
    pattern: Annotated[str, Field(min_length=1, max_length=120)]
    detail: Annotated[str, Field(min_length=1, max_length=1000)]
    frequency: Annotated[int, Field(ge=1, le=10_000)]
    severity: Severity
    examples: Annotated[list[Annotated[str, Field(min_length=1, max_length=400)]], Field(max_length=5)]
    suggestion: Annotated[str, Field(min_length=1, max_length=1000)]


class PatternCount(BaseModel):
    """How often one pattern occurred in a session, whether or not it made the top insights."""

    model_config = ConfigDict(extra="forbid")

    pattern_id: PatternId
    count: Annotated[int, Field(ge=1, le=10_000)]


class SessionAnalysis(BaseModel):
    """Exactly the shape an analyzer must return: 1-5 insights, one focus, a short summary.

    ``pattern_counts`` lists every pattern found (not only the five insights shown), so a learner's
    profile counts what was dropped from the list too; empty in documents written before it existed.
    """

    model_config = ConfigDict(extra="forbid")

    insights: Annotated[list[Insight], Field(min_length=1, max_length=5)]
    focus_next: Annotated[str, Field(min_length=1, max_length=600)]
    summary: Annotated[str, Field(min_length=1, max_length=1500)]
    pattern_counts: Annotated[list[PatternCount], Field(max_length=100)] = Field(default_factory=list)


class SessionInsights(BaseModel):
    """``$RESULTS_URI/insights/<session_id>.json``: the analysis plus its provenance."""

    schema_version: str = SCHEMA_VERSION
    session_id: str
    learner_id: str
    recorded_at: datetime
    analysis: SessionAnalysis
    provider: str
    model: str
    prompt_version: str
    input_sha256: str
    #: sha256 of the transcript text analysed: a re-execution on the same text reuses this document.
    transcript_sha256: str | None = None
    usage: UsageCost = Field(default_factory=UsageCost)
    dropped_examples: int = 0
    created_at: datetime = Field(default_factory=utcnow)


Trend = Literal["new", "worsening", "improving", "steady"]


class PatternStat(BaseModel):
    """One pattern's history for a learner up to a snapshot.

    ``trend`` is the count in this session against the previous session (raw counts, one step): the
    UI shows it as ``vs_previous_session`` (new / more / fewer / same). It is not the learner's
    trend: ``learner_progress.trend`` compares rates per 100 words over windows of sessions, and is
    the one to read for progress.
    """

    pattern_id: str
    category: str
    label: str
    sessions: int
    total_frequency: int
    frequency_this_session: int
    first_seen: datetime
    last_seen: datetime
    first_seen_session: str
    last_seen_session: str
    trend: Trend


class PatternProfile(BaseModel):
    """``$RESULTS_URI/pattern_profiles/<session_id>.json``: a learner's profile as of one session."""

    schema_version: str = SCHEMA_VERSION
    learner_id: str
    session_id: str
    as_of: datetime
    sessions_count: int
    session_ids: list[str]
    previous_session_id: str | None
    patterns: list[PatternStat]
    created_at: datetime = Field(default_factory=utcnow)


class SessionState(StrEnum):
    UPLOADED = "UPLOADED"
    TRANSCRIBING = "TRANSCRIBING"
    ANALYZING = "ANALYZING"
    DONE = "DONE"
    FAILED = "FAILED"


class SessionStatus(BaseModel):
    """A row of the status store: where a session is in its lifecycle, and why it failed."""

    session_id: str
    learner_id: str
    state: SessionState
    error: str | None = None
    media_key: str | None = None
    recorded_at: datetime | None = None
    uploaded_at: datetime | None = None  # when the sensor first saw this version of the upload
    upload_completed_at: datetime | None = None  # when the upload was complete (upload -> DONE starts)
    word_count: int | None = None  # the stored transcript's words
    updated_at: datetime = Field(default_factory=utcnow)
    run_id: str | None = None  # the Dagster run that last changed the state
    upload_version: str | None = None  # the upload's content version the sensor last requested a run for
    result_version: str | None = None  # the content version the stored results were computed from
    error_kind: Literal["permanent", "transient"] | None = None
