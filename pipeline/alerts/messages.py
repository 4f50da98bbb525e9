"""The words of each alert: one message per event, grouped when many arrive at once.

A failed run is one message listing its FAILED sessions (the first ``FIRST``, then a count and the
command that lists them all); more than ``GROUP_ABOVE`` failed runs, or ERROR checks, in one tick
become one message each kind. Text is built from ids, classified reasons (``reasons``) and counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pipeline.alerts.events import Alert, AlertEvent, CheckFailed, FailedSession, FreshnessFailed, RunEnded

PREFIX = "[speaking-pipeline]"
FIRST = 5  # sessions, runs or checks listed by name in one message
GROUP_ABOVE = 3  # more events of a kind than this in one tick make one grouped message
STATUS_COMMAND = "python -m pipeline.status --state FAILED"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else "never"


def _session_line(s: FailedSession) -> str:
    retry = "a retry may help" if s.retry_helps else "a retry cannot help"
    return f"- {s.session_id} (learner {s.learner_id}): {s.reason} [{retry}]"


def _sessions_block(sessions: Sequence[FailedSession], where: str) -> list[str]:
    if not sessions:
        return []
    n = len(sessions)
    head = f"{_plural(n, 'session')} failed {where}" + (f", first {FIRST}:" if n > FIRST else ":")
    lines = [head, *(_session_line(s) for s in sessions[:FIRST])]
    if n > FIRST:
        lines.append(f"- and {n - FIRST} more: {STATUS_COMMAND}")
    permanent = sum(not s.retry_helps for s in sessions)
    if n > 1:
        lines.append(f"{permanent} of them a retry cannot help, {n - permanent} a retry may help.")
    return lines


def _run_advice(run: RunEnded) -> str:
    if not run.sessions:
        return "What to do: open the run in the Dagster UI (Runs) and read its log."
    parts = []
    if any(not s.retry_helps for s in run.sessions):
        parts.append("fix or re-upload the sessions a retry cannot help (a new upload version is picked up)")
    if any(s.retry_helps for s in run.sessions):
        parts.append(
            "the others are retried by Dagster"
            if run.retried
            else "backfill the ones a retry may help (Dagster UI: session_stages > Materialize selected partitions)"
        )
    return f"What to do: {'; '.join(parts)}. Full reasons: {STATUS_COMMAND}"


def _run_subject(run: RunEnded) -> str:
    what = "was canceled" if run.canceled else "failed"
    tail = f": {_plural(len(run.sessions), 'session')} FAILED" if run.sessions else ""
    return f"{PREFIX} Run {run.run_id[:8]} of {run.job} {what}{tail}"


def run_alert(run: RunEnded, ui_url: str | None = None) -> Alert:
    lines = [f"Cause: {'canceled by a user or the run monitor' if run.canceled else run.cause}."]
    if run.retried:
        lines.append("Dagster retries the run (run_retries).")
    lines += _sessions_block(run.sessions, f"in run {run.run_id[:8]}")
    lines.append(_run_advice(run))
    if ui_url:
        lines.append(f"Run: {ui_url.rstrip('/')}/runs/{run.run_id}")
    return Alert(_run_subject(run), "\n".join(lines))


def runs_alert(runs: Sequence[RunEnded], ui_url: str | None = None) -> Alert:
    sessions = [s for run in runs for s in run.sessions]
    subject = f"{PREFIX} {_plural(len(runs), 'run')} failed" + (
        f": {_plural(len(sessions), 'session')} FAILED" if sessions else ""
    )
    lines = [f"{_plural(len(runs), 'run')} ended badly, first {min(FIRST, len(runs))}:"]
    for run in runs[:FIRST]:
        what = "canceled" if run.canceled else run.cause
        lines.append(
            f"- {run.run_id[:8]} of {run.job}: {what}, {_plural(len(run.sessions), 'session')} FAILED"
        )
    if len(runs) > FIRST:
        lines.append(f"- and {len(runs) - FIRST} more (Dagster UI: Runs, status Failure)")
    lines += _sessions_block(sessions, f"in these {len(runs)} runs")
    lines.append(f"What to do: read the runs' logs in the Dagster UI; full session reasons: {STATUS_COMMAND}")
    if ui_url:
        lines.append(f"Runs: {ui_url.rstrip('/')}/runs?q[0]=status%3AFAILURE")
    return Alert(subject, "\n".join(lines), events=len(runs))


_CHECK_ADVICE = (
    "What to do: open the asset's Checks tab in the Dagster UI; re-materialize the session (or "
    "re-upload it) once the cause is fixed (docs/operations.md#alerts)."
)


def _check_target(c: CheckFailed) -> str:
    return f"{c.check} on {c.asset}" + (f", session {c.session_id}" if c.session_id else "")


def check_alert(c: CheckFailed) -> Alert:
    lines = [f"Why: {c.why}."]
    if c.run_id:
        lines.append(f"Run: {c.run_id[:8]}")
    lines.append(_CHECK_ADVICE)
    return Alert(f"{PREFIX} ERROR check failed: {_check_target(c)}", "\n".join(lines))


def checks_alert(checks: Sequence[CheckFailed]) -> Alert:
    n = len(checks)
    sessions = {c.session_id for c in checks if c.session_id}
    lines = [f"{_plural(n, 'ERROR check')} failed on {_plural(len(sessions), 'session')}, first {FIRST}:"]
    lines += [f"- {_check_target(c)}: {c.why}" for c in checks[:FIRST]]
    if n > FIRST:
        lines.append(f"- and {n - FIRST} more (Dagster UI: Catalog > the asset > Checks)")
    lines.append(_CHECK_ADVICE)
    return Alert(f"{PREFIX} {_plural(n, 'ERROR check')} failed", "\n".join(lines), events=n)


def freshness_alert(f: FreshnessFailed) -> Alert:
    body = (
        f"{f.asset} is past its freshness policy's fail window: its state became FAIL at {_when(f.at)} "
        f"(was {f.previous_state}); last updated {_when(f.last_update)}.\n"
        "What to do: processing has fallen behind the uploads. Check that the uploads sensor is running "
        "and ticking, that runs are not queued or failing (Dagster UI: Runs), and that uploads arrive "
        "(docs/operations.md#alerts)."
    )
    return Alert(f"{PREFIX} Freshness FAIL: {f.asset}", body)


def compose(events: Sequence[AlertEvent], ui_url: str | None = None) -> list[Alert]:
    """The messages for one tick's events, in order: runs, checks, freshness."""
    runs = [e for e in events if isinstance(e, RunEnded)]
    checks = [e for e in events if isinstance(e, CheckFailed)]
    fresh = [e for e in events if isinstance(e, FreshnessFailed)]
    alerts: list[Alert] = []
    if len(runs) > GROUP_ABOVE:
        alerts.append(runs_alert(runs, ui_url))
    else:
        alerts += [run_alert(run, ui_url) for run in runs]
    if len(checks) > GROUP_ABOVE:
        alerts.append(checks_alert(checks))
    else:
        alerts += [check_alert(c) for c in checks]
    alerts += [freshness_alert(f) for f in fresh]
    return alerts
