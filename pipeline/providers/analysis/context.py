"""How much text an analysis model can take in one request, estimated before paying for it.

A request that does not fit the model's context window fails with a 400 after the provider has
read it, so the size is checked here first. There is no tokenizer offline (tiktoken downloads its
encodings), so tokens are estimated from characters and err high: a run of ASCII letters or
digits counts one token per three characters (English averages about four), every other ASCII
symbol one token, and every non-ASCII character one token per UTF-8 byte beyond the first (two
for a CJK character, which real tokenizers encode in one or two). English prose comes out at
about 1.8 tokens per word, against about 1.3 for the providers' tokenizers: a transcript may be split
where it would just have fitted, never sent where it cannot.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping

from pipeline.providers import model_catalog

logger = logging.getLogger(__name__)

#: Input caps the maintained table (``model_catalog``) does not record, by model prefix: its windows
#: are the largest a request may take, these the input part of it where that is smaller.
INPUT_CAPS: dict[str, int] = {
    "gpt-5": 272_000,  # a 400k window in all, but at most 272k of input (gpt-5, -mini, -nano, 5.x)
}
#: For a model no table knows: small enough for most models served today, so it fails safe.
DEFAULT_CONTEXT_TOKENS = 32_000

_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")
_ASCII_SYMBOL = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation and symbols, "_" included
_SPACING = re.compile(r"[\t\n\r\f\v]| {2,}")  # a newline, a tab, a run of spaces: a token each
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|[。！？]+\s*|\n\s*")
_WORD = re.compile(r"\S+\s*")


def context_table(overrides: Mapping[str, object] | None = None) -> dict[str, int]:
    """The overrides (``{"model": tokens}``, from ``CONTEXT_WINDOWS_JSON``), checked.

    Raises ValueError on a value that is not a positive integer, so a typo fails loudly.
    """
    table: dict[str, int] = {}
    for model, tokens in (overrides or {}).items():
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise ValueError(
                f"context window of {model!r} must be a positive number of tokens, got {tokens!r}"
            )
        table[model] = tokens
    return table


def context_window(model: str, overrides: Mapping[str, int], provider: str | None = None) -> int:
    """Tokens a request to ``model`` may use: its override (or its dated snapshot's), else the
    maintained table's window (at ``provider`` when given) within ``INPUT_CAPS``, else the default."""
    overridden = model_catalog.entry_for(model, overrides)
    if overridden is not None:
        return overridden
    window = model_catalog.context_window(model, provider)
    if window is None:
        logger.warning(
            "no context window known for model %r: assuming %d tokens; set it in CONTEXT_WINDOWS_JSON",
            model,
            DEFAULT_CONTEXT_TOKENS,
        )
        return DEFAULT_CONTEXT_TOKENS
    caps = [cap for prefix, cap in INPUT_CAPS.items() if model.startswith(prefix)]
    return min([window, *caps])


def estimate_tokens(text: str) -> int:
    """An estimate of the tokens of ``text`` that errs high (see the module docstring)."""
    words = sum((len(run) + 2) // 3 for run in _ASCII_RUN.findall(text))
    non_ascii = len(text.encode()) - len(text)  # UTF-8 bytes beyond the first of each character
    return words + len(_ASCII_SYMBOL.findall(text)) + len(_SPACING.findall(text)) + non_ascii


def _slices(text: str, pattern: re.Pattern[str]) -> list[str]:
    """``text`` cut after each match of ``pattern``: the pieces join back to exactly ``text``."""
    cuts = [m.end() for m in pattern.finditer(text)]
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True) if b > a]


def _units(text: str, limit: int) -> list[tuple[str, int]]:
    """Sentences with their estimates; one over ``limit`` is cut at words, a word at characters."""
    units: list[tuple[str, int]] = []
    for sentence in _slices(text, _SENTENCE_END):
        size = estimate_tokens(sentence)
        if size <= limit:
            units.append((sentence, size))
            continue
        for word in _slices(sentence, _WORD):
            size = estimate_tokens(word)
            if size <= limit:
                units.append((word, size))
                continue
            step = max(1, limit // 3)  # no character estimates above 3 tokens
            units.extend(
                (word[i : i + step], estimate_tokens(word[i : i + step])) for i in range(0, len(word), step)
            )
    return units


def _pack(units: list[tuple[str, int]], cap: int) -> list[list[str]]:
    """Consecutive units in parts of at most ``cap`` estimated tokens, greedily."""
    parts: list[list[str]] = []
    size = cap + 1
    for text, tokens in units:
        if size + tokens > cap:
            parts.append([])
            size = 0
        parts[-1].append(text)
        size += tokens
    return parts


def split_to_fit(text: str, limit: int) -> list[str]:
    """``text`` in as few parts as fit ``limit`` estimated tokens each, as even as possible.

    Parts are cut at sentence ends (else at spaces, else anywhere) and are exact slices of ``text``
    with their edge whitespace stripped, so whatever quotes a part also quotes ``text``.
    """
    if limit < 1:
        raise ValueError("limit must be at least one token")
    units = _units(text, limit)
    fewest = len(_pack(units, limit))
    # The smallest cap that still needs only ``fewest`` parts (packing count falls as the cap rises).
    low, high = max(math.ceil(sum(t for _, t in units) / max(fewest, 1)), 1), limit
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if len(_pack(units, middle)) <= fewest else (middle + 1, high)
    parts = ("".join(part).strip() for part in _pack(units, low))
    return [part for part in parts if part]
