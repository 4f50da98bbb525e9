"""Alert reasons: stored failure messages and check descriptions reduced to ids, fixed words and numbers."""

from __future__ import annotations

import pytest

from pipeline.alerts.reasons import check_reason, retry_helps, run_cause, session_reason
from pipeline.domain.errors import PermanentError, TransientError, describe_failure, failure_kind

SECRET = "sk-live-0123456789abcdefSECRET"
TRANSCRIPT = "my sister don't like coffee and she have a cat"


@pytest.mark.parametrize(
    ("error", "kind", "expected"),
    [
        ("transcript.txt of session bad1 is empty (0 bytes)", "permanent", "transcript.txt of session bad1 is empty (0 bytes)"),
        (f"unexpected error (ValueError): {TRANSCRIPT}", "transient", "unexpected error (ValueError)"),
        (f"OpenAI rejected the request (400, model 'gpt-4o'): {TRANSCRIPT}", "permanent", "failed permanently (bad input or configuration)"),
        (f"transient failure (retried automatically with backoff): OpenAI rate limited (429): {TRANSCRIPT}", "transient", "a provider or the storage was unavailable, slow or rate limited"),
        (f"OPENAI_API_KEY rejected (401): check the key {SECRET}", "permanent", "OPENAI_API_KEY rejected (401)"),
        ("interrupted: the run was terminated or its worker stopped; re-materialize", "transient", "interrupted: its run was terminated or its worker stopped"),
        ("run 2413519a failed before this session finished: boom; re-execute", "transient", "its run failed before the session finished"),
        (f"session.json of session s9 is not valid JSON ({TRANSCRIPT}); expected", "permanent", "session.json of session s9 is not valid JSON"),
        (f"{TRANSCRIPT} {SECRET}", None, "failed (reason not recorded)"),
        (None, "transient", "failed transiently"),
    ],
)  # fmt: skip
def test_a_session_reason_shows_only_safe_words(error: str | None, kind: str | None, expected: str) -> None:
    reason = session_reason(error, kind)
    assert reason == expected
    assert SECRET not in reason and "coffee" not in reason


def test_retry_follows_the_recorded_kind() -> None:
    assert not retry_helps(failure_kind(PermanentError("bad input")))
    assert retry_helps(failure_kind(TransientError("slow")))
    assert retry_helps(None)
    assert session_reason(describe_failure(KeyboardInterrupt()), "transient").startswith("interrupted")


def test_a_check_reason_keeps_the_numbers_and_drops_quotes_and_ids_it_cannot_vouch_for() -> None:
    description = (
        f"2 of 9 example(s) are not verbatim in the transcript; pattern id(s) outside the taxonomy: "
        f"{TRANSCRIPT}, {SECRET}"
    )
    assert check_reason(description) == (
        "2 of 9 example(s) are not verbatim in the transcript; pattern ids outside the taxonomy"
    )
    assert check_reason("truncated: decoded 3.0 s of a declared 30.0 s") == (
        "truncated: decoded 3.0 s of a declared 30.0 s"
    )
    assert check_reason(f"something new: {TRANSCRIPT}") == "the check failed (its description is in the UI)"


def test_run_causes_are_fixed_phrases() -> None:
    assert run_cause("STEP_FAILURE") == "a step failed"
    assert run_cause("SOMETHING_NEW") == run_cause(None) == "the run failed"
