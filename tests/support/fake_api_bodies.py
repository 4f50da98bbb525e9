"""Response bodies of the fake OpenAI / Anthropic API, shaped like the real ones the SDKs parse."""

from __future__ import annotations

import json
import re
import time
from typing import Any

TRANSCRIBE, CHAT, MESSAGES = "/v1/audio/transcriptions", "/v1/chat/completions", "/v1/messages"
RETRY_AFTER_SECONDS = "0.1"
NEVER_SAID = "this sentence was never spoken by the learner"

# mode -> (status, OpenAI error type, OpenAI code, Anthropic error type, message)
ERRORS: dict[str, tuple[int, str, str | None, str, str]] = {
    "429": (429, "requests", "rate_limit_exceeded", "rate_limit_error", "Rate limit reached; retry shortly."),
    "500": (500, "server_error", None, "api_error", "The server had an error processing your request."),
    "529": (529, "server_error", None, "overloaded_error", "Overloaded"),
    "401": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "authentication_error",
        "Incorrect API key provided",
    ),
    "400": (
        400,
        "invalid_request_error",
        None,
        "invalid_request_error",
        "Invalid file format or parameters.",
    ),
    "413": (413, "invalid_request_error", None, "request_too_large", "Request exceeds the maximum size."),
}


def error_response(mode: str, path: str, api_key: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, headers, body) of an error mode, in the vendor's error shape.

    401 echoes the key the client sent, as careless servers do, so tests can check it never leaks.
    """
    headers = {"retry-after": RETRY_AFTER_SECONDS} if mode == "429" else {}
    if mode == "quota":
        if path == MESSAGES:  # Anthropic reports an empty balance as a 400
            message = (
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing."
            )
            return (
                400,
                headers,
                {"type": "error", "error": {"type": "invalid_request_error", "message": message}},
            )
        message = "You exceeded your current quota, please check your plan and billing details."
        body = {"message": message, "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}
        return 429, headers, {"error": body}
    status, oa_type, oa_code, an_type, message = ERRORS[mode]
    if mode == "401":
        message = f"{message}: {api_key}."
    if path == MESSAGES:
        return status, headers, {"type": "error", "error": {"type": an_type, "message": message}}
    return status, headers, {"error": {"message": message, "type": oa_type, "param": None, "code": oa_code}}


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def transcript_of(request: object) -> str:
    """The text between the transcript delimiters anywhere in a JSON request ('' when absent)."""
    for text in _strings(request):
        match = re.search(r"<transcript>\n(.*?)\n</transcript>", text, re.DOTALL)
        if match:
            return match.group(1)
    return ""


def _quote(text: str, last: bool = False) -> list[str]:
    """A run of up to six words copied exactly from ``text``: a valid verbatim example."""
    runs = re.findall(r"\S+(?: \S+){0,5}", text)
    return [runs[-1 if last else 0]] if runs else []


def analysis_for(transcript: str, mode: str = "ok") -> dict[str, Any]:
    """A SessionAnalysis for ``transcript``: valid, or broken the way ``mode`` asks."""
    insight = {
        "category": "grammar",
        "pattern_id": "grammar.verb_tense",
        "pattern": "Present tense for past events",
        "detail": "Past events are told in the present tense.",
        "frequency": 2,
        "severity": "high",
        "examples": _quote(transcript),
        "suggestion": "Use the past simple for finished events.",
    }
    second = {**insight, "category": "structure", "pattern_id": "structure.short_simple_sentences"}
    second.update(
        pattern="Short sentences", severity="low", frequency=1, examples=_quote(transcript, last=True)
    )
    insights = [insight, second]
    if mode == "not_verbatim":
        insight["examples"] = [*insight["examples"], NEVER_SAID]
    if mode == "schema_violation":
        bad = {**insight, "category": "pronunciation", "examples": [NEVER_SAID]}
        insights = [bad] * 6
    return {
        "insights": insights,
        "focus_next": "Past simple for finished events.",
        "summary": "Clear speech.",
    }


def transcription(text: str, payload_bytes: int) -> dict[str, Any]:
    tokens_in, tokens_out = max(1, payload_bytes // 2000), max(1, len(text.split()))
    usage = {"type": "tokens", "input_tokens": tokens_in, "output_tokens": tokens_out}
    return {"text": text, "usage": {**usage, "total_tokens": tokens_in + tokens_out}}


def chat_completion(request: dict[str, Any], mode: str, request_bytes: int) -> dict[str, Any]:
    if mode == "invalid_json":
        content = '{"insights": [{"category": "grammar", '
    else:
        content = json.dumps(analysis_for(transcript_of(request), mode))
    prompt_tokens, completion_tokens = request_bytes // 4, len(content) // 4
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def message(request: dict[str, Any], mode: str, request_bytes: int) -> dict[str, Any]:
    if mode == "invalid_json":
        content: list[dict[str, Any]] = [{"type": "text", "text": "Sure! Here is the analysis: {not json"}]
        stop_reason = "end_turn"
    else:
        name = (request.get("tool_choice") or {}).get("name") or request["tools"][0]["name"]
        analysis = analysis_for(transcript_of(request), mode)
        content = [{"type": "tool_use", "id": "toolu_fake", "name": name, "input": analysis}]
        stop_reason = "tool_use"
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": request.get("model", "fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": request_bytes // 4, "output_tokens": len(json.dumps(content)) // 4},
    }


_TOKEN = re.compile(r"\w+|[^\w\s]")


def _content_tokens(node: object) -> int:
    """A plausible tokenizer's count: each word and each punctuation mark of every key and value."""
    if isinstance(node, str):
        return len(_TOKEN.findall(node))
    if isinstance(node, dict):
        return sum(1 + _content_tokens(k) + _content_tokens(v) for k, v in node.items())
    if isinstance(node, list):
        return sum(1 + _content_tokens(item) for item in node)
    return 1


def request_tokens(request: object) -> int:
    """What a chat/messages request takes of the context window: its content and the output it reserves."""
    if not isinstance(request, dict):
        return 0
    reserved = request.get("max_tokens") or request.get("max_completion_tokens") or 0
    content = {k: v for k, v in request.items() if k not in ("max_tokens", "max_completion_tokens")}
    return _content_tokens(content) + int(reserved)


def context_exceeded(path: str, tokens: int, window: int) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The 400 each vendor answers to a request over the model's context window."""
    if path == MESSAGES:
        message = f"prompt is too long: {tokens} tokens > {window} maximum"
        return 400, {}, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    message = (
        f"This model's maximum context length is {window} tokens. However, you requested {tokens} tokens. "
        "Please reduce the length of the messages or completion."
    )
    body = {
        "message": message,
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    return 400, {}, {"error": body}
