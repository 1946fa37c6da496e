"""The pages in a real browser: headless Chromium driven by Playwright. The system's Chromium is
used (``chromium`` on the PATH, or $DURABLE_CHROMIUM); no browser is downloaded. Without
Playwright or a Chromium the tests skip, saying which is missing. Screenshots are saved under
tests/ui/artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import APPROVAL, ORDER, RISKY, Site, wait_status

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _chromium() -> str | None:
    for candidate in (os.environ.get("DURABLE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need Playwright: pip install playwright (the test extra has it)")
    executable = _chromium()
    if executable is None:
        pytest.skip("browser tests need a Chromium: apt-get install chromium, or set $DURABLE_CHROMIUM")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield opened
        assert not errors, f"the page's script failed: {errors}"
    finally:
        context.close()


def _statuses(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.eval_on_selector_all(
        "#graph g.state",
        "gs => Object.fromEntries(gs.map(g => [g.getAttribute('data-name'), g.getAttribute('data-status')]))",
    )
    return found


def _click_state(page: Any, name: str) -> None:
    page.locator(f'#graph g.state[data-name="{name}"] rect').first.click()


def test_a_succeeded_execution(site: Site, page: Any) -> None:
    page.goto(site.ui + "/")
    page.get_by_role("link", name="orders").click()
    assert page.locator("#graph svg").count() == 1
    page.screenshot(path=str(ARTIFACTS / "machine.png"), full_page=True)
    page.get_by_role("link", name="order-ok").first.click()
    assert page.locator("#execution-status").inner_text() == "SUCCEEDED"
    assert _statuses(page) == {name: "succeeded" for name in ORDER["States"] if name != "Reject"} | {
        "Reject": "not-reached"
    }
    _click_state(page, "Pack")
    assert page.locator("#sel-name").inner_text() == "Pack"
    assert '"order": 1' in page.locator("#sel-input").inner_text()
    assert '"packed": true' in page.locator("#sel-output").inner_text()
    assert page.locator("#history tr.selected").count() == 1
    page.screenshot(path=str(ARTIFACTS / "execution-succeeded.png"), full_page=True)


def test_a_failed_execution_with_its_catch_path(site: Site, page: Any) -> None:
    page.goto(site.ui + "/executions?status=FAILED")
    page.get_by_role("link", name="charge-declined").click()
    assert page.locator("#execution-status").inner_text() == "FAILED"
    assert _statuses(page) == {
        "Charge": "caught",
        "Refund": "succeeded",
        "GiveUp": "failed",
        "Receipt": "not-reached",
    }
    assert set(_statuses(page)) == set(RISKY["States"])
    _click_state(page, "Charge")
    assert page.locator("#sel-status").inner_text() == "caught"
    assert "Card.Declined" in page.locator("#sel-error").inner_text()
    assert '"Error": "Card.Declined"' in page.locator("#sel-output").inner_text()
    # a row of the history selects its state's visit
    page.locator("#history tr[data-state='Refund']").first.click()
    assert page.locator("#sel-name").inner_text() == "Refund"
    assert page.locator('#graph g.state.selected[data-name="Refund"]').count() == 1
    page.screenshot(path=str(ARTIFACTS / "execution-failed.png"), full_page=True)


def test_a_running_execution_follows_live(site: Site, page: Any) -> None:
    arn = site.executions["running"]
    page.goto(site.ui + "/executions?name=approval")
    page.get_by_role("link", name="needs-approval").click()
    assert page.locator("#execution-status").inner_text() == "RUNNING"
    assert _statuses(page) == {"Prepare": "succeeded", "Approve": "running", "Ship": "not-reached"}
    assert set(_statuses(page)) == set(APPROVAL["States"])
    _click_state(page, "Approve")
    assert page.locator("#sel-output").inner_text() == "(not exited yet)"
    page.screenshot(path=str(ARTIFACTS / "execution-running.png"), full_page=True)
    site.sfn.send_task_success(taskToken=site.tokens[0], output='{"approved": true}')
    wait_status(site.sfn, arn, ("SUCCEEDED",))
    # the page polls and reloads by itself, keeping the selected state
    page.wait_for_selector('#graph g.state[data-name="Ship"][data-status="succeeded"]', timeout=15000)
    assert page.locator("#execution-status").inner_text() == "SUCCEEDED"
    assert page.locator("#sel-name").inner_text() == "Approve"
    assert '"approved": true' in page.locator("#sel-output").inner_text()
    page.screenshot(path=str(ARTIFACTS / "execution-running-then-succeeded.png"), full_page=True)


def test_executions_list_filters_and_map_runs(site: Site, page: Any) -> None:
    page.goto(site.ui + "/executions")
    page.select_option("#status-filter", "SUCCEEDED")
    page.get_by_role("button", name="Show").click()
    statuses = set(
        page.eval_on_selector_all("#executions tbody tr", "rows => rows.map(r => r.dataset.status)")
    )
    assert statuses == {"SUCCEEDED"}
    page.screenshot(path=str(ARTIFACTS / "executions.png"), full_page=True)
    page.goto(site.ui + "/executions?name=fan-out")
    page.get_by_role("link", name="fan-out").click()
    assert page.locator("#map-runs tbody tr").count() == 1
    page.locator("#map-runs a").click()
    assert page.locator("#executions tbody tr").count() == 4
    page.screenshot(path=str(ARTIFACTS / "map-run-children.png"), full_page=True)
