"""Running a run's sessions through its selected stages, each session ending on its own.

A run holds one session (a lone upload) or many (a backfill, a burst, a re-analysis). Each session
goes through transcript and insights before the next one starts, so a crash keeps every session
finished so far; profiles follow in one pass per learner (``pipeline.stages.pattern_profile``). A failure stops
only its own session: its later stages are not attempted, the other sessions go on. The caller
gets one ``StageEvent`` per session and stage as it happens, to record it at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pipeline.domain.documents import profile_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.models import PatternProfile, SessionInsights, SessionState, Transcript
from pipeline.stages import lifecycle
from pipeline.stages.insights import analyze_session
from pipeline.stages.pattern_profile import profile_sessions
from pipeline.stages.services import Services
from pipeline.stages.transcript import transcribe_session


class Stage(StrEnum):
    """The stages, named as the assets they materialize, in order."""

    TRANSCRIPT = "transcript"
    INSIGHTS = "insights"
    PROFILE = "pattern_profile"


STAGES = (Stage.TRANSCRIPT, Stage.INSIGHTS, Stage.PROFILE)
_PER_SESSION: dict[Stage, Callable[[Services, str], Transcript | SessionInsights]] = {
    Stage.TRANSCRIPT: transcribe_session,
    Stage.INSIGHTS: analyze_session,
}

Document = Transcript | SessionInsights | PatternProfile


@dataclass(frozen=True)
class StageEvent:
    """One stage of one session: its stored document, or the error that failed the session."""

    session_id: str
    stage: Stage
    document: Document | None = None
    error: BaseException | None = None
    refreshed: tuple[
        tuple[str, str], ...
    ] = ()  # (session id, digest) of later snapshots a profile pass rewrote

    @property
    def ok(self) -> bool:
        return self.error is None


def _failed_earlier(services: Services, session_ids: Sequence[str]) -> dict[str, str]:
    """Sessions that failed permanently in an earlier attempt of this run: retrying them cannot help."""
    if not services.run_id:
        return {}
    rows = services.status.get_many(session_ids)
    return {
        s: row.error or "failed permanently"
        for s, row in rows.items()
        if row.run_id == services.run_id
        and row.state is SessionState.FAILED
        and row.error_kind == "permanent"
    }


def run_sessions(
    services: Services,
    session_ids: Sequence[str],
    stages: Collection[Stage],
    *,
    done: Mapping[str, Collection[Stage]] | None = None,
) -> Iterator[StageEvent]:
    """Run ``stages`` for every session; ``done`` lists what an earlier attempt of the run stored."""
    done = done or {}
    selected = [stage for stage in STAGES if stage in stages]
    failed_earlier = _failed_earlier(services, session_ids)
    to_profile: list[str] = []
    for session_id in session_ids:
        todo = [stage for stage in selected if stage not in done.get(session_id, ())]
        if not todo:
            continue
        if session_id in failed_earlier:
            yield StageEvent(session_id, todo[0], error=PermanentError(failed_earlier[session_id]))
            continue
        failed = False
        for stage in (s for s in todo if s in _PER_SESSION):
            services.checkpoint()
            try:
                document = _PER_SESSION[stage](services, session_id)
            except Exception as exc:  # classified where raised; recorded on the session by `tracked`
                yield StageEvent(session_id, stage, error=exc)
                failed = True
                break
            yield StageEvent(session_id, stage, document)
        if failed:
            continue
        if Stage.PROFILE in todo:
            to_profile.append(session_id)
        else:
            lifecycle.pause(
                services.status,
                session_id,
                profiled=services.results.exists(profile_key(session_id)),
                run_id=services.run_id,
            )
    if to_profile:
        services.checkpoint()
    for outcome in profile_sessions(services, to_profile):
        yield StageEvent(
            outcome.session_id,
            Stage.PROFILE,
            outcome.profile,
            outcome.error,
            tuple((later, outcome.digests[later]) for later in outcome.refreshed),
        )
