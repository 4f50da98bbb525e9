"""Safe words for alerts: a stored failure message or check description reduced to a classified reason.

A FAILED session's stored ``error`` is written for the operator who reads the status store, and it
may quote what it failed on: a provider's answer (which can echo transcript text), an exception's
text, a path. An alert goes to a chat room or a mailbox, so it never carries that text. Each rule
below recognises one message the core writes and yields either a fixed label or the message's
leading words when those are made only of fixed words, ids and numbers; anything unrecognised
becomes a label of its kind (permanent or transient). The full message stays one command away
(``python -m pipeline.status --state FAILED``).
"""

from __future__ import annotations

import re

#: A learner or session id as ``pipeline.domain.ids`` accepts it: safe to show.
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"

#: (pattern, label): label None shows the pattern's whole match, which is then made only of fixed
#: words, ids and numbers. Searched in order; the first that matches wins.
_SESSION_RULES: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (r"^interrupted\b", "interrupted: its run was terminated or its worker stopped"),
        (r"^run [0-9a-f]{8} failed before this session finished", "its run failed before the session finished"),
        (rf"^(transcript\.txt|audio\.[a-z0-9]{{1,5}}) of session {_ID} is empty( \(0 bytes\))?", None),
        (rf"^transcript\.txt of session {_ID} is not UTF-8 text", None),
        (r"^transcript is empty", "the transcript is empty: nothing to analyze"),
        (rf"^no speech was recognised in the audio of session {_ID}", None),
        (rf"^no audio\.<wav\|flac\|ogg\|webm\|mp3\|m4a> or transcript\.txt found for session {_ID}", None),
        (r"\b(could not be decoded|contains no audio track|decoded to no audio samples)\b", "the audio file could not be decoded"),
        (r"is longer than the limit of", "the recording is longer than the configured limit"),
        (rf"^session\.json of session {_ID} (is invalid|is not valid JSON|is nested too deeply|is \d+ bytes)", None),
        (r"^invalid (learner id|session id)", None),
        (r"only recognises English|supports English only", "the session's language is not supported by the configured provider"),
        (r"^(OPENAI|ANTHROPIC)_API_KEY (is not set|rejected \(401\))", None),
        (r"quota exhausted", "the provider's quota is exhausted: add credits or raise the spend limit"),
        (r"refused access \(403\)", "the provider refused access to the configured model (403)"),
        (r"not found \(404\)", "the configured model was not found (404)"),
        (r"context window|too long to analyse|too large \(413\)", "the transcript is too long for the model"),
        (r"does not match the SessionAnalysis schema", "the analysis model's output did not match the schema"),
        (r"returned no transcription text", "speech-to-text returned no text"),
        (r"rate limited|overloaded|unavailable|timed out|connection failed|cannot reach|malformed response", "a provider or the storage was unavailable, slow or rate limited"),
        (r"denied access|rejected the credentials|no usable AWS credentials", "the storage refused access or no credentials were found"),
        (r"refusing to load|model file .{0,200} is missing|could not be loaded|language model is not installed", "a local model is missing or damaged"),
        (r"document .{0,300} is unreadable", "a stored result document is unreadable"),
        (rf"^no stored (transcript|insights) for session {_ID}", None),
        (r"^audio was deleted after transcription", "the audio was deleted after transcription and the transcript cannot be recomputed"),
        (r"^unexpected error \([A-Za-z_][A-Za-z0-9_.]{0,80}\)", None),
        (r"^transient failure", "a transient failure (retried with backoff)"),
    )
)  # fmt: skip

_FALLBACK = {
    "permanent": "failed permanently (bad input or configuration)",
    "transient": "failed transiently",
}


def session_reason(error: str | None, kind: str | None) -> str:
    """A FAILED session's reason, classified: never the stored message's free text."""
    text = error or ""
    for pattern, label in _SESSION_RULES:
        if match := pattern.search(text):
            return label or match.group(0)
    return _FALLBACK.get(kind or "", "failed (reason not recorded)")


def retry_helps(kind: str | None) -> bool:
    """Whether running the session again may succeed (``pipeline.domain.errors.failure_kind``)."""
    return kind != "permanent"


#: One problem of a check's description (``pipeline.checks.evaluations``; joined by "; ").
_CHECK_RULES: tuple[tuple[re.Pattern[str], str | None], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (r"^no speech found \(\d+ words, speech ratio ([0-9.]+|None)\)", None),
        (r"^truncated: decoded ([0-9.]+|None) s of a declared ([0-9.]+|None) s", None),
        (r"^implausible pace: \d+ words per minute", None),
        (r"^low recognizer confidence: mean log-probability -?[0-9.]+", None),
        (r"^likely no speech: no-speech probability [0-9.]+", None),
        (r"^\d+ of \d+ example\(s\) are not verbatim in the transcript", None),
        (r"^pattern id\(s\) outside the taxonomy", "pattern ids outside the taxonomy"),
        (r"^stored snapshot differs from the recomputation from stored insights", None),
        (r"^cannot recompute", "the profile cannot be recomputed from the stored insights"),
    )
)  # fmt: skip


def check_reason(description: str | None) -> str:
    """Why a check failed, from its description's recognised problems (numbers and fixed words only)."""
    found: list[str] = []
    for part in (description or "").split("; "):
        for pattern, label in _CHECK_RULES:
            if match := pattern.search(part):
                found.append(label or match.group(0))
                break
    return "; ".join(dict.fromkeys(found)) or "the check failed (its description is in the UI)"


#: Dagster's ``RunFailureReason`` values, in words (an unknown value reads as the last).
_RUN_CAUSES = {
    "STEP_FAILURE": "a step failed",
    "UNEXPECTED_TERMINATION": "its worker stopped unexpectedly (killed, out of memory or timed out)",
    "RUN_EXCEPTION": "the run raised an error outside its steps",
    "JOB_INITIALIZATION_FAILURE": "the run could not start its resources",
    "START_TIMEOUT": "the run did not start in time",
    "RUN_WORKER_RESTART": "its run worker restarted",
}


def run_cause(reason: str | None) -> str:
    """Dagster's failure reason for a run, as a fixed phrase (never the error text)."""
    return _RUN_CAUSES.get(reason or "", "the run failed")
