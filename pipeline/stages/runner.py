"""Running a run's sessions through its selected stages, each session ending on its own.

A run holds one session (a lone upload) or many (a backfill, a burst, a re-analysis). In production
a session's time is the provider's latency, so up to ``Services.concurrency`` sessions go through
their stages at once, each in its own thread, in order (transcript, then insights). As soon as every
session of a learner in the run is through them, that learner's profile pass follows
(``pipeline.stages.pattern_profile``), one pass per learner, so profiles keep the learner's order and
each session ends DONE or FAILED on its own. A failure stops only its own session. The caller gets
one ``StageEvent`` per session and stage as it happens, in its own thread, to record it at once;
closing the iterator (a cancelled run) starts no new stage and waits for the calls in flight; an
interrupted run (terminate) hangs up its calls in flight and fails its unfinished sessions.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from pipeline.domain import progress
from pipeline.domain.documents import profile_key
from pipeline.domain.errors import PermanentError
from pipeline.domain.models import PatternProfile, SessionInsights, SessionState, Transcript
from pipeline.intake.contract import split_key
from pipeline.providers.gate import bound, hang_up
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


@dataclass(frozen=True)
class _Finished:
    """A task ended: a session through its per-session stages (``profile``: it goes on), or a profile pass."""

    session_id: str | None
    profile: bool = False


def _session_stages(
    services: Services,
    session_id: str,
    todo: Sequence[Stage],
    stop: threading.Event,
    out: queue.Queue[object],
    position: tuple[int, int] = (1, 1),
) -> bool:
    """One session through its per-session stages, in order; True when its profile should follow."""
    progress.session_started(position[0], position[1], session_id)
    for stage in (s for s in todo if s in _PER_SESSION):
        if stop.is_set():
            return False
        services.checkpoint()  # a stale attempt (a fenced Celery worker) stops here, writing nothing
        try:
            document = _PER_SESSION[stage](services, session_id)
        except Exception as exc:  # classified where raised; recorded on the session by `tracked`
            out.put(StageEvent(session_id, stage, error=exc))
            return False
        out.put(StageEvent(session_id, stage, document))
    if Stage.PROFILE in todo:
        return True
    lifecycle.pause(
        services.status,
        session_id,
        profiled=services.results.exists(profile_key(session_id)),
        run_id=services.run_id,
    )
    return False


def _profile_pass(services: Services, session_ids: Sequence[str], out: queue.Queue[object]) -> None:
    services.checkpoint()
    for outcome in profile_sessions(services, session_ids):
        out.put(
            StageEvent(
                outcome.session_id,
                Stage.PROFILE,
                outcome.profile,
                outcome.error,
                tuple((later, outcome.digests[later]) for later in outcome.refreshed),
            )
        )


def _learners(services: Services, session_ids: Sequence[str]) -> dict[str, str]:
    """Each session's learner, so that a learner's sessions get one profile pass.

    A session the sensor never registered (a backfill of ids, ``dg.materialize``) is grouped by the
    learner folder its upload is in, from one listing; were each its own group, the sessions would be
    profiled in the order they finish, and a later one finishing first has its snapshot written
    twice. A session found under no learner, or under several, is its own group: its stages say why.
    """
    rows = services.status.get_many(session_ids)
    missing = {s for s in session_ids if s not in rows or not rows[s].learner_id}
    folders: dict[str, set[str]] = {}
    if missing:
        for info in services.uploads.list():
            parts = split_key(info.key)
            if parts and parts[1] in missing:
                folders.setdefault(parts[1], set()).add(parts[0])
    learners: dict[str, str] = {}
    for s in session_ids:
        if s not in missing:
            learners[s] = rows[s].learner_id
        elif len(found := folders.get(s, set())) == 1:
            learners[s] = next(iter(found))
        else:
            learners[s] = f"?{s}"
    return learners


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
    plan: dict[str, list[Stage]] = {}
    for session_id in session_ids:
        todo = [stage for stage in selected if stage not in done.get(session_id, ())]
        if not todo:
            continue
        if session_id in failed_earlier:
            yield StageEvent(session_id, todo[0], error=PermanentError(failed_earlier[session_id]))
            continue
        plan[session_id] = todo
    if not plan:
        return
    learner_of = _learners(services, list(plan))
    waiting = Counter(learner_of.values())  # sessions of each learner still in their per-session stages
    to_profile: dict[str, list[str]] = {}
    out: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    pool = ThreadPoolExecutor(
        max_workers=max(1, min(services.concurrency, len(plan))), thread_name_prefix="session"
    )
    running = 0
    finished: set[str] = set()

    def task(session_id: str | None, fn: Callable[[], bool | None]) -> None:
        profile = False
        try:
            with bound(services.budget, services.priority, services.calls):
                profile = bool(fn())
        except Exception as exc:  # never expected: the stages catch their own; keep the run going
            if session_id is not None:
                out.put(StageEvent(session_id, plan[session_id][0], error=exc))
        finally:
            out.put(_Finished(session_id, profile))

    def submit(session_id: str | None, fn: Callable[[], bool | None]) -> None:
        nonlocal running
        running += 1
        pool.submit(task, session_id, fn)

    try:
        for index, (session_id, todo) in enumerate(plan.items(), start=1):
            where = (index, len(plan))
            submit(session_id, partial(_session_stages, services, session_id, todo, stop, out, where))
        while running:
            try:
                item = out.get(timeout=0.5)  # a timeout keeps the run's thread interruptible
            except queue.Empty:
                continue
            if isinstance(item, StageEvent):
                yield item
                continue
            assert isinstance(item, _Finished)
            running -= 1
            if item.session_id is None:
                continue
            finished.add(item.session_id)
            learner = learner_of[item.session_id]
            if item.profile:
                to_profile.setdefault(learner, []).append(item.session_id)
            waiting[learner] -= 1
            if waiting[learner] == 0 and learner in to_profile and not stop.is_set():
                ordered = [s for s in plan if s in set(to_profile[learner])]
                submit(None, partial(_profile_pass, services, ordered, out))
    except BaseException as exc:
        if isinstance(exc, (Exception, GeneratorExit)):
            raise
        # Interrupted (terminate): the sessions still in their stages run in pool threads, where the
        # interruption never reaches their `tracked` block, so they are failed here, as "interrupted".
        # Their provider calls are hung up first (unpaid, not retried); the threads then end with a
        # broken call, which they record: wait briefly for that, so "interrupted" is what stays.
        unfinished = [s for s in plan if s not in finished]
        stop.set()
        hang_up(services.calls)
        left, deadline = running, time.monotonic() + 2.0
        while left and time.monotonic() < deadline:
            try:
                left -= isinstance(out.get(timeout=0.1), _Finished)
            except queue.Empty:
                continue
        for session_id in unfinished:
            lifecycle.fail(services.status, session_id, exc, services.run_id)
        raise
    finally:
        # An interrupted run (terminate, cancel) must not wait for provider calls in flight: their
        # sessions are failed as interrupted by the step, and no new stage starts (``stop``).
        stop.set()
        pool.shutdown(wait=not running, cancel_futures=True)
