"""Valid learner and session ids: the one rule, shared by the upload contract, the stages and the status store.

Ids become folder names, result keys, partition keys and database keys, so they are kept to a
portable alphabet and length.
"""

from __future__ import annotations

import re

from pipeline.domain.errors import PermanentError

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def is_valid_id(value: str | None) -> bool:
    return value is not None and ID_RE.fullmatch(value) is not None


def validate_id(value: str, kind: str = "session id") -> str:
    """Return ``value`` if it is a valid learner or session id, else raise a PermanentError saying why."""
    if not ID_RE.fullmatch(value):
        raise PermanentError(
            f"invalid {kind} {value[:80]!r}: ids must be 1-64 characters of letters, digits, '_' or '-', "
            "starting with a letter or digit; rename the upload folder"
        )
    return value
