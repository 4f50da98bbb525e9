"""The UI's column descriptions are the docs' tables, and rounding is for display only."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from pipeline.views.columns import DESCRIPTIONS, for_display
from pipeline.views.frames import COHORT_COLUMNS, HEALTH_COLUMNS, PROGRESS_COLUMNS

DOC = Path(__file__).resolve().parents[3] / "docs" / "analysts.md"
ROW = re.compile(r"^\| (`[^|]+`) \| (.+) \|$")


def doc_tables() -> dict[str, dict[str, str]]:
    """column -> meaning for each view's table in docs/analysts.md (the table after its heading)."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^(?:## |\*\*`)(learner_progress|cohort_patterns|pipeline_health)\b", line)
        if heading:
            current = heading.group(1)
            tables.setdefault(current, {})
        match = ROW.match(line)
        if current and match:
            for name in re.findall(r"`([^`]+)`", match.group(1)):
                tables[current][name] = match.group(2)
    return tables


@pytest.mark.parametrize(
    ("view", "columns"),
    [
        ("learner_progress", PROGRESS_COLUMNS),
        ("cohort_patterns", COHORT_COLUMNS),
        ("pipeline_health", HEALTH_COLUMNS),
    ],
)
def test_every_view_column_has_the_docs_description(view: str, columns: dict[str, str]) -> None:
    assert set(DESCRIPTIONS[view]) == set(columns)
    assert DESCRIPTIONS[view] == {name: doc_tables()[view][name] for name in columns}


def test_display_rounds_floats_and_leaves_the_frame_alone() -> None:
    frame = pd.DataFrame(
        {"latest_rate_per_100_words": [4.232804232804233], "cost_usd": [0.000123456], "n": [3]}
    )
    shown = for_display(frame)
    assert shown.loc[0, "latest_rate_per_100_words"] == 4.23 and shown.loc[0, "cost_usd"] == 0.0001
    assert frame.loc[0, "latest_rate_per_100_words"] == 4.232804232804233  # full precision kept
