"""Translate OpenAI and Anthropic SDK exceptions into the core's PermanentError or TransientError.

The SDKs have already made their own bounded retries (honouring ``retry-after``) by the time an
exception reaches us, so a transient result here means "the provider is struggling right now" and
is left to the orchestrator's RetryPolicy. Classification reads exception attributes
(``status_code``, ``body``, class names) so this module never imports an SDK: the offline path
must not need them.

Messages are written for the person who must act and never contain an API key: server messages
are included only after redaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.domain.errors import PermanentError, PipelineError, TransientError, is_transient_status

_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*.]{4,}|[A-Za-z0-9_\-]{32,})")
_TOO_LONG = re.compile(r"prompt is too long|context (length|limit|window)", re.IGNORECASE)


@dataclass(frozen=True)
class Vendor:
    """Who was called: names used in messages, and the variable that holds the key."""

    label: str  # "OpenAI" / "Anthropic"
    key_env: str  # "OPENAI_API_KEY" / "ANTHROPIC_API_KEY"


OPENAI = Vendor("OpenAI", "OPENAI_API_KEY")
ANTHROPIC = Vendor("Anthropic", "ANTHROPIC_API_KEY")


def redact(text: str, secret: str | None = None) -> str:
    """``text`` without ``secret`` and without anything shaped like an API key."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _error_fields(body: object) -> tuple[str, str, str]:
    """(type, code, message) from either SDK's error body, whichever nesting it uses."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]  # Anthropic keeps the envelope; OpenAI has already unwrapped it
    if not isinstance(body, dict):
        return "", "", str(body or "")[:300]
    return str(body.get("type") or ""), str(body.get("code") or ""), str(body.get("message") or "")[:300]


def classify(
    exc: BaseException, vendor: Vendor, *, model: str, secret: str | None = None, attempts: int | None = None
) -> PipelineError | None:
    """The classified error for an SDK exception, or None when ``exc`` did not come from an SDK call.

    ``attempts`` is how many HTTP attempts the SDK made (max_retries + 1); it only enriches messages.
    """
    names = _class_names(exc)
    tried = f" after {attempts} attempts" if attempts else ""
    status = getattr(exc, "status_code", None)
    if "APITimeoutError" in names:
        return TransientError(f"{vendor.label} request timed out{tried}; the provider is slow or unreachable")
    if "APIConnectionError" in names:
        return TransientError(f"{vendor.label} connection failed{tried}: {redact(str(exc), secret)}")
    if "APIResponseValidationError" in names:
        return TransientError(f"{vendor.label} returned a malformed response (HTTP {status}){tried}")
    if isinstance(status, int) and "APIStatusError" in names:
        error = _classify_status(
            status, getattr(exc, "body", None), vendor, model=model, secret=secret, tried=tried
        )
        request_id = getattr(exc, "request_id", None)
        # The request id is what the provider's support asks for; it is not a secret.
        return type(error)(f"{error.message} [request id {request_id}]") if request_id else error
    text = str(exc)
    if "Missing credentials" in text or "Could not resolve authentication method" in text:
        return PermanentError(f"{vendor.key_env} is not set: export it or configure the key for the resource")
    if "CredentialsError" in names:  # Anthropic found no key and failed to load a credentials profile
        return PermanentError(
            f"{vendor.key_env} is not set and no other {vendor.label} credentials could be loaded: "
            f"{redact(text, secret)}"
        )
    if "OpenAIError" in names or "AnthropicError" in names:
        return PermanentError(f"{vendor.label} client error: {redact(text, secret)}")
    return None


def _classify_status(
    status: int, body: object, vendor: Vendor, *, model: str, secret: str | None, tried: str
) -> PipelineError:
    err_type, code, message = _error_fields(body)
    detail = redact(message, secret) or err_type or "no detail"
    quota = "insufficient_quota" in (err_type, code) or "credit balance" in message.lower()
    if quota or status == 402 or err_type == "billing_error":
        tag = f"{status} {code or err_type}".strip()
        return PermanentError(
            f"{vendor.label} quota exhausted ({tag}): add credits or raise the spend limit of the account "
            f"behind {vendor.key_env}; retrying will not help. Provider said: {detail}"
        )
    if status == 401:
        return PermanentError(f"{vendor.key_env} rejected (401): check the key")
    if status == 403:
        return PermanentError(
            f"{vendor.label} refused access (403) to model {model!r}: check the permissions and region of the "
            f"key in {vendor.key_env}. Provider said: {detail}"
        )
    if status == 404:
        return PermanentError(
            f"{vendor.label} model {model!r} not found (404): check the configured model name"
        )
    if status == 400 and (code == "context_length_exceeded" or _TOO_LONG.search(message)):
        # The size is checked before sending, so the configured window is larger than the real one.
        return PermanentError(
            f"{vendor.label} model {model!r} rejected the request as longer than its context window (400): "
            f"{detail}. Set the model's real window in CONTEXT_WINDOWS_JSON so long transcripts are split to fit"
        )
    if status == 413:
        return PermanentError(f"{vendor.label} rejected the request as too large (413): {detail}")
    if is_transient_status(status):
        kind = "overloaded" if status == 529 or err_type == "overloaded_error" else "unavailable"
        if status == 429:
            kind = "rate limited"
        return TransientError(f"{vendor.label} {kind} ({status}){tried}: {detail}")
    return PermanentError(f"{vendor.label} rejected the request ({status}, model {model!r}): {detail}")
