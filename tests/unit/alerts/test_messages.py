"""Alert messages: one per failed run with its sessions, grouped beyond a few, checks and freshness."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.alerts.events import CheckFailed, FailedSession, FreshnessFailed, RunEnded
from pipeline.alerts.messages import compose


def sessions(n: int) -> tuple[FailedSession, ...]:
    return tuple(FailedSession(f"s{i:02d}", "ana", "failed transiently", i % 2 == 0) for i in range(n))


def test_a_failed_run_is_one_message_naming_its_sessions_and_what_to_do() -> None:
    run = RunEnded("2413519a" + "0" * 28, "session_job", False, "a step failed", False, sessions(1))
    [alert] = compose([run], ui_url="http://dagster.example:3000/")
    assert alert.subject == "[speaking-pipeline] Run 2413519a of session_job failed: 1 session FAILED"
    assert "- s00 (learner ana): failed transiently [a retry may help]" in alert.body
    assert "http://dagster.example:3000/runs/2413519a" in alert.body
    assert "What to do:" in alert.body


def test_many_sessions_of_a_run_list_the_first_five_and_the_command_for_the_rest() -> None:
    [alert] = compose([RunEnded("r" * 32, "session_job", False, "a step failed", True, sessions(37))])
    assert alert.subject.endswith("37 sessions FAILED")
    assert "37 sessions failed in run rrrrrrrr, first 5:" in alert.body
    assert "- and 32 more: python -m pipeline.status --state FAILED" in alert.body
    assert "s05" not in alert.body and "Dagster retries the run" in alert.body
    assert "18 of them a retry cannot help, 19 a retry may help." in alert.body


def test_many_runs_or_checks_at_once_become_one_message_each_kind() -> None:
    runs = [
        RunEnded(f"{i:08d}" + "0" * 24, "session_job", False, "a step failed", False, sessions(2))
        for i in range(6)
    ]
    checks = [
        CheckFailed("transcript", "transcript_quality", f"s{i}", "no speech found", "r1") for i in range(4)
    ]
    alerts = compose([*runs, *checks])
    assert [a.subject for a in alerts] == [
        "[speaking-pipeline] 6 runs failed: 12 sessions FAILED",
        "[speaking-pipeline] 4 ERROR checks failed",
    ]
    assert "- and 1 more" in alerts[0].body and "4 ERROR checks failed on 4 sessions" in alerts[1].body


def test_a_few_checks_are_one_message_each_and_freshness_says_since_when() -> None:
    check = CheckFailed(
        "insights", "insights_grounded", "s1", "1 of 3 example(s) are not verbatim", "abcdef12" * 4
    )
    fresh = FreshnessFailed("pattern_profile", "WARN", datetime(2026, 12, 5, 13, 0, tzinfo=UTC), None)
    alerts = compose([check, fresh])
    assert (
        alerts[0].subject
        == "[speaking-pipeline] ERROR check failed: insights_grounded on insights, session s1"
    )
    assert "Why: 1 of 3 example(s) are not verbatim." in alerts[0].body
    assert alerts[1].subject == "[speaking-pipeline] Freshness FAIL: pattern_profile"
    assert "became FAIL at 2026-12-05 13:00 UTC (was WARN); last updated never" in alerts[1].body


def test_nothing_happened_nothing_sent() -> None:
    assert compose([]) == []
