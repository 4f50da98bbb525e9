"""An analyst's walk through the Dagster UI in Chromium (Playwright), with a screenshot of each stop.

Asset graph -> a session's report card -> the learner's profile and chart -> the three views' tables
and charts -> the checks -> a failed session's reason; hostile transcript text never renders as a
link, an image or HTML. Screenshots go to ``.artifacts/browser/`` (listed in docs/analysts.md).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ARTIFACTS, FAILED, Server

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
CHART = "[Show Markdown]"
LOADED_PNG = (
    "() => [...document.querySelectorAll('img')].filter(i => i.src.startsWith('data:image/png')"
    " && i.complete && i.naturalWidth > 100).length > 0"
)
INJECTED = 'img[src*="evil"], a[href*="evil"], img[src="x"]'


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Finite CSS transitions finished first: a dialog is shot open, not halfway through its fade-in.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), animations="disabled")


def see(page: Page, text: str) -> None:
    expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=TIMEOUT_MS)


def see_column(page: Page, header: str) -> None:
    expect(page.locator("table th", has_text=header).first).to_be_visible(timeout=TIMEOUT_MS)


def open_markdown(page: Page, row: str) -> None:
    """A markdown metadata value (a chart, the report card): the UI shows it behind "[Show Markdown]"."""
    page.get_by_role("row", name=re.compile(rf"^{row}\b")).get_by_text(CHART, exact=True).first.click()


def open_chart(page: Page, row: str, name: str) -> None:
    open_markdown(page, row)
    page.wait_for_function(LOADED_PNG, timeout=TIMEOUT_MS)
    shot(page, name)
    page.keyboard.press("Escape")


def no_injection(page: Page) -> None:
    assert page.locator(INJECTED).count() == 0, "transcript text rendered as a link, an image or HTML"


def test_an_analysts_walk(server: Server, page: Page) -> None:
    page.set_default_timeout(TIMEOUT_MS)
    # As if dismissed once: the local UI's "Join the Dagster community" dialog would cover the pages.
    page.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")
    # 1. The asset graph (Lineage): the session assets' group and the views' group.
    page.goto(f"{server.url}/asset-groups")
    see(page, "Global asset lineage")
    for group in ("speaking_sessions", "analyst_views"):
        see(page, group)
    shot(page, "01_asset_graph")

    # 2. A session's report card: focus, summary, each pattern by its label.
    page.goto(f"{server.url}/assets/insights?view=partitions&partition=ana-2")
    see(page, "report_card")
    open_markdown(page, "report_card")
    see(page, "Focus next:")
    shot(page, "02_report_card")
    page.keyboard.press("Escape")

    # 3. The learner's profile, and the chart of their patterns across sessions.
    page.goto(f"{server.url}/assets/pattern_profile?view=partitions&partition=ana-2")
    see_column(page, "total_frequency")
    see(page, "pattern_counts_chart")
    shot(page, "03_pattern_profile")
    open_chart(page, "pattern_counts_chart", "04_pattern_profile_chart")

    # 4. The views: each table (rounded, described columns) and its chart.
    for n, (view, column) in enumerate(
        [
            ("learner_progress", "latest_rate_per_100_words"),
            ("cohort_patterns", "share_of_sessions"),
            ("pipeline_health", "median_upload_to_done_seconds"),
        ]
    ):
        page.goto(f"{server.url}/assets/{view}")
        see_column(page, column)
        shot(page, f"{5 + 2 * n:02d}_{view}")
        open_chart(page, "chart", f"{6 + 2 * n:02d}_{view}_chart")

    # 5. The checks: a session check, the views' own checks.
    page.goto(f"{server.url}/assets/insights?view=checks")
    see(page, "insights_grounded")
    # The latest evaluation is the failed session's: failed, with its reason (not "execution failed").
    see(page, "empty (0 bytes)")
    assert page.get_by_text("Execution failed").count() == 0
    shot(page, "11_insights_checks")
    page.goto(f"{server.url}/assets/learner_progress?view=checks")
    see(page, "schema_unchanged")
    see(page, "rows_match_sessions")
    see(page, "Passed")
    shot(page, "12_view_checks")

    # 6. A failed session's partition says why.
    page.goto(f"{server.url}/assets/transcript?view=partitions&partition={FAILED[1]}")
    see(page, "did not materialize this asset")
    shot(page, "13_failed_partition")
    page.goto(f"{server.url}/assets/transcript?view=events&partition={FAILED[1]}")
    see(page, "empty (0 bytes)")
    shot(page, "14_failed_session_reason")

    # 7. Hostile text in a transcript stays text, on the transcript and on the report card.
    page.goto(f"{server.url}/assets/transcript?view=partitions&partition=ben-1")
    see(page, "![x](http://evil/)")
    see(page, "<img src=x>")
    no_injection(page)
    shot(page, "15_hostile_transcript")
    page.goto(f"{server.url}/assets/insights?view=partitions&partition=ben-1")
    open_markdown(page, "report_card")
    see(page, "Focus next:")
    no_injection(page)
    shot(page, "16_hostile_report_card")
