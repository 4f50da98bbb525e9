"""The insights stage: one stored Transcript -> stored SessionInsights."""

from __future__ import annotations

import logging

from pipeline.domain.documents import insights_key, transcript_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.ids import validate_id
from pipeline.domain.models import SessionInsights, SessionState, Transcript
from pipeline.domain.snapshots import pattern_counts
from pipeline.providers.analysis import AnalysisResult, analyze_text
from pipeline.providers.analysis.guard import enforce_verbatim
from pipeline.providers.memo import sha256_hex
from pipeline.stages import lifecycle
from pipeline.stages.services import Services

log = logging.getLogger(__name__)


def load_transcript(services: Services, session_id: str) -> Transcript:
    try:
        return services.results.read_model(transcript_key(session_id), Transcript)
    except FileNotFoundError as exc:
        raise PermanentError(
            f"no stored transcript for session {session_id} at "
            f"{services.results.describe(transcript_key(session_id))}: materialize transcript first",
            session_id=session_id,
        ) from exc


def _analyze(services: Services, transcript: Transcript) -> AnalysisResult:
    analyzer = services.analyzer
    memo_key = services.memo.key(
        sha256_hex(transcript.text.encode()),
        analyzer.name,
        analyzer.model,
        analyzer.prompt_version,
        transcript.language,
    )
    with services.memo.lock("insights", memo_key):  # a same-input session in another thread waits
        cached = AnalysisResult.from_document(services.memo.get("insights", memo_key))
        if cached is not None:
            log.info(
                "session %s: reusing the stored %s/%s analysis",
                transcript.session_id,
                analyzer.name,
                analyzer.model,
            )
            return cached
        # A transcript analysed in parts (too long for one request) reuses the parts an earlier attempt paid for.
        parts = services.memo.stage("insights_parts")
        with services.provider_slot(analyzer.name):
            result = services.breaker(analyzer.name).call(
                lambda: analyze_text(
                    analyzer, transcript.text, language=transcript.language, chunk_cache=parts
                )
            )
        # Whatever the provider, an example that is not a verbatim quote never reaches the learner.
        analysis, dropped = enforce_verbatim(result.analysis, transcript.text)
        result = AnalysisResult(analysis, result.usage, result.dropped_examples + dropped)
        services.memo.put("insights", memo_key, result.to_document())
        return result


def analyze_session(services: Services, session_id: str) -> SessionInsights:
    """Find the recurring patterns of one session's transcript and store the SessionInsights document.

    Insights already stored for the same transcript text and analyzer plan are returned as they are.
    """
    validate_id(session_id)
    with lifecycle.tracked(services.status, session_id, SessionState.ANALYZING, services.run_id):
        transcript = load_transcript(services, session_id)
        text_digest = sha256_hex(transcript.text.encode())
        analyzer = services.analyzer
        stored = services.stored_result(session_id, insights_key(session_id), SessionInsights, "insights")
        if stored is not None and (
            stored.transcript_sha256,
            stored.provider,
            stored.model,
            stored.prompt_version,
            stored.learner_id,
            stored.recorded_at,
        ) == (
            text_digest,
            analyzer.name,
            analyzer.model,
            analyzer.prompt_version,
            transcript.learner_id,
            transcript.recorded_at,
        ):
            log.info("session %s: the stored insights stand for the current transcript", session_id)
            document = stored
        else:
            result = _analyze(services, transcript)
            document = SessionInsights(
                session_id=session_id,
                learner_id=transcript.learner_id,
                recorded_at=transcript.recorded_at,
                analysis=result.analysis,
                provider=analyzer.name,
                model=analyzer.model,
                prompt_version=analyzer.prompt_version,
                input_sha256=transcript.input_sha256,
                transcript_sha256=text_digest,
                usage=result.usage,
                dropped_examples=result.dropped_examples,
            )
            services.results.write_model(insights_key(session_id), document)
        # The profile index follows every insights write, before the profile pass that reads it.
        services.status.profiles.save_counts(session_id, pattern_counts(document), document.recorded_at)
        return document
