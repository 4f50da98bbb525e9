"""The memo entries a session's inputs produced: by key where the key can be rebuilt, else by content.

A memo entry is keyed by a hash of what was sent (``pipeline.providers.memo``), never by session, so
the whole-stage entries are found by rebuilding their keys from the stored transcript and insights,
and the per-request entries (speech-to-text chunks, analysis parts) by their content: an entry
holding any piece of a session's transcript text (a chunk's text, a verbatim example) is that
session's. Every memo entry is read once. Another session with the same words shares the entry and
simply pays for it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.domain.documents import insights_key, transcript_key
from pipeline.providers.memo import Memo, sha256_hex
from pipeline.storage import Storage

#: Shorter strings (a pattern id, "en") say nothing about whose words they are; a piece this long does.
MIN_PIECE = 12


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _read(storage: Storage, key: str) -> Any:
    try:
        return json.loads(storage.read_bytes(key))
    except (FileNotFoundError, ValueError):
        return None


def _exact_keys(results: Storage, memo: Memo, session_id: str) -> tuple[list[str], str | None]:
    """The whole-stage entries' keys rebuilt from the session's documents, and its transcript text."""
    keys: list[str] = []
    transcript = _read(results, transcript_key(session_id)) or {}
    insights = _read(results, insights_key(session_id)) or {}
    text = transcript.get("text")
    language = transcript.get("language", "en")
    if transcript.get("source") == "audio":
        parts = (
            transcript.get("input_sha256"),
            transcript.get("provider"),
            transcript.get("model"),
            language,
        )
        keys.append(memo.path("transcript", memo.key(*map(str, parts))))
    if isinstance(text, str) and insights:
        read = (
            sha256_hex(text.encode()),
            insights.get("provider"),
            insights.get("model"),
            insights.get("prompt_version"),
            language,
        )
        keys.append(memo.path("insights", memo.key(*map(str, read))))
    return keys, text if isinstance(text, str) else None


def holds_text(entry: Any, texts: Sequence[str]) -> bool:
    """Whether a memo entry carries a piece of one of ``texts`` (normalised: case and whitespace)."""
    for value in _strings(entry):
        piece = _normal(value)
        if not piece:
            continue
        for text in texts:
            if piece == text or (len(piece) >= MIN_PIECE and piece in text):
                return True
    return False


def memo_keys(results: Storage, session_ids: Sequence[str]) -> list[str]:
    """The storage keys of every memo entry the sessions' inputs produced (that exists now)."""
    memo = Memo(results)
    found: set[str] = set()
    texts: list[str] = []
    for session_id in session_ids:
        keys, text = _exact_keys(results, memo, session_id)
        found.update(key for key in keys if results.exists(key))
        if text and _normal(text):
            texts.append(_normal(text))
    if texts:
        for key in results.tree(memo.prefix):
            if key not in found and key.endswith(".json") and holds_text(_read(results, key), texts):
                found.add(key)
    return sorted(found)
