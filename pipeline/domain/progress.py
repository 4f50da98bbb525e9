"""Progress lines a person can read in a run's log: ``window 7/40 (15 %, 9:00 of 60:00)``, ``chunk 3/6``.

Long stages (offline recognition of an hour of audio, sequential cloud chunks, analysis in parts,
a batch of sessions) log one INFO line per step through the ``pipeline`` loggers, which the
instance's ``python_logs`` puts on the run page. The lines carry counts and times only, never
transcript text (personal data).
"""

from __future__ import annotations

import logging
import math


def mmss(seconds: float) -> str:
    """``545`` -> ``"9:05"``; hours stay in minutes (``"75:00"``), as a recording's length reads."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def window_line(index: int, window_seconds: float, end_seconds: float, total_seconds: float | None) -> str:
    """``window 7/40 (15 %, 9:00 of 60:00)``; ``window 7 (9:00)`` when the length is unknown."""
    if not total_seconds or total_seconds <= 0:
        return f"window {index} ({mmss(end_seconds)})"
    count = max(index, math.ceil(total_seconds / window_seconds))
    done = min(end_seconds, total_seconds)
    return (
        f"window {index}/{count} ({100 * done / total_seconds:.0f} %, {mmss(done)} of {mmss(total_seconds)})"
    )


def count_line(kind: str, index: int, total: int) -> str:
    """``chunk 3/6``, ``part 2/4``, ``session 12/50``."""
    return f"{kind} {index}/{total}"


def log_step(logger: logging.Logger, what: str, line: str) -> None:
    """One progress line at INFO: ``<what>: <line>`` (``what`` names a session or file, never its text)."""
    logger.info("%s: %s", what, line)


_logger = logging.getLogger(__name__)


def session_started(index: int, total: int, session_id: str) -> None:
    """``run: session 12/50 (s42)`` when a run holds more than one session (a lone one needs no count)."""
    if total > 1:
        log_step(_logger, "run", f"{count_line('session', index, total)} ({session_id})")
