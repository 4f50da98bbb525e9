"""Exact id matching: an erased id is found as a whole token, never as part of a longer id.

Ids are letters, digits, '_' and '-' (``pipeline.domain.ids``), so a token ends wherever another
character (a quote, '/', a space, a dot) or the text ends: erasing ``s1`` never touches ``s10``,
``s1-old`` or ``as1``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

_EDGE = "A-Za-z0-9_-"


def id_pattern(ids: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any of ``ids`` as a whole token (None when there are none)."""
    names = sorted(set(ids), key=len, reverse=True)
    if not names:
        return None
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?<![{_EDGE}])(?:{alternatives})(?![{_EDGE}])")


def mentions(text: str | bytes | None, pattern: re.Pattern[str] | None) -> bool:
    if text is None or pattern is None:
        return False
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return pattern.search(text) is not None


def reference(value: str) -> str:
    """What logs say instead of an erased id: a short digest an operator can match to their request."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]
