"""Progress lines: what an operator reads in the run log during long stages."""

from __future__ import annotations

import logging

import pytest

from pipeline.domain import progress


def test_window_line_reads_as_a_person_would() -> None:
    assert progress.window_line(7, 90.0, 630.0, 3600.0) == "window 7/40 (18 %, 10:30 of 60:00)"
    assert progress.window_line(40, 90.0, 3600.0, 3600.0) == "window 40/40 (100 %, 60:00 of 60:00)"
    assert progress.window_line(3, 90.0, 270.0, None) == "window 3 (4:30)"
    assert progress.mmss(545) == "9:05" and progress.mmss(4500) == "75:00"


def test_counts_and_sessions(caplog: pytest.LogCaptureFixture) -> None:
    assert progress.count_line("chunk", 3, 6) == "chunk 3/6"
    with caplog.at_level(logging.INFO, logger="pipeline"):
        progress.session_started(1, 1, "alone")
        progress.session_started(12, 50, "s42")
    assert [r.getMessage() for r in caplog.records] == ["run: session 12/50 (s42)"]
