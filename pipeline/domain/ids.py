"""Valid learner and session ids: the one rule, shared by the upload contract, the stages and the status store.

Ids become folder names, result keys, partition keys and database keys, so they are kept to a
portable alphabet and length.
"""

from __future__ import annotations

import re

from pipeline.domain.errors import PermanentError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def shown(value: str, limit: int = 120) -> str:
    """``value`` safe to log, store and print: control characters, lone surrogates (a name that is
    not valid UTF-8, as ``os.fsdecode`` gives it) and other unprintables escaped, long names cut.

    Folder names come from uploaders: a Latin-1 name must not crash a database driver's encoder,
    a newline must not forge a log line.
    """
    out = []
    for ch in value[:limit]:
        if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out) + ("..." if len(value) > limit else "")


def is_valid_id(value: str | None) -> bool:
    return value is not None and ID_RE.fullmatch(value) is not None


def validate_id(value: str, kind: str = "session id") -> str:
    """Return ``value`` if it is a valid learner or session id, else raise a PermanentError saying why."""
    if not ID_RE.fullmatch(value):
        raise PermanentError(
            f"invalid {kind} '{shown(value, 80)}': ids must be 1-64 characters of letters, digits, '_' or '-', "
            "starting with a letter or digit; rename the upload folder"
        )
    return value
