"""The Dagster UI in headless Chromium: view tables, charts and check results render; hostile text stays text."""

from __future__ import annotations

import pytest

from tests.browser.cdp import Page, headless_page
from tests.browser.conftest import ARTIFACTS, Server

pytestmark = pytest.mark.browser

CHART = "[Show Markdown]"
LOADED_PNG = (
    "[...document.querySelectorAll('img')].filter(i => i.src.startsWith('data:image/png') && i.complete"
    " && i.naturalWidth > 100).length"
)


def text_present(text: str) -> str:
    return f"document.body && document.body.innerText.includes({text!r})"


def table_with_header(header: str) -> str:
    return f"[...document.querySelectorAll('table th')].some(th => th.innerText.trim() === {header!r})"


def open_chart(page: Page) -> None:
    """Charts are large markdown values: the UI shows them behind a "[Show Markdown]" link."""
    page.wait_for(text_present(CHART))
    page.evaluate(
        "[...document.querySelectorAll('*')].filter(e => e.childElementCount === 0"
        f" && e.textContent.trim() === {CHART!r})[0].click()"
    )
    assert page.wait_for(LOADED_PNG) >= 1


@pytest.fixture(scope="module")
def page(server: Server, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with headless_page(tmp_path_factory.mktemp("chromium")) as page:
        yield page


def test_learner_progress_page_shows_table_and_chart(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/assets/learner_progress")
    page.wait_for(table_with_header("latest_rate_per_100_words"))
    assert page.evaluate(text_present("persistent")) and page.evaluate(text_present("new"))
    page.screenshot(ARTIFACTS / "learner_progress.png")
    open_chart(page)
    page.screenshot(ARTIFACTS / "learner_progress_chart.png")


def test_pattern_profile_partition_shows_the_learners_chart(server: Server, page: Page) -> None:
    page.goto(f"{server.url}/assets/pattern_profile?view=partitions&partition=ana-2")
    page.wait_for(table_with_header("total_frequency"))
    page.wait_for(text_present("pattern_counts_chart"))
    open_chart(page)
    page.screenshot(ARTIFACTS / "pattern_profile_chart.png")


@pytest.mark.parametrize(
    ("asset", "check"),
    [
        ("pattern_profile", "profile_consistent"),
        ("insights", "insights_grounded"),
        ("transcript", "transcript_quality"),
    ],
)
def test_checks_tab_shows_results(server: Server, page: Page, asset: str, check: str) -> None:
    page.goto(f"{server.url}/assets/{asset}?view=checks")
    page.wait_for(text_present(check))
    page.wait_for(text_present("Passed"))
    assert page.evaluate(text_present("Partition"))
    page.screenshot(ARTIFACTS / f"{asset}_checks.png")


@pytest.mark.parametrize("asset", ["transcript", "insights"])
def test_hostile_transcript_renders_as_text(server: Server, page: Page, asset: str) -> None:
    page.goto(f"{server.url}/assets/{asset}?view=partitions&partition=ben-1")
    page.wait_for(text_present("learner_id"))
    if asset == "transcript":
        page.wait_for(text_present("![x](http://evil/)"))  # shown as the characters it is
        assert page.evaluate(text_present("<img src=x>"))
    injected = page.evaluate(
        '[...document.querySelectorAll(\'img[src*="evil"], a[href*="evil"], img[src="x"]\')].length'
    )
    assert injected == 0
    page.screenshot(ARTIFACTS / f"{asset}_hostile.png")
