"""A real browser (Debian's chromium driven by Playwright) uploads a file, watches progress, sees the results."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.data import DATA, FILES
from tests.fixtures.require import unavailable

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling out, which this machine's closed network refuses.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        unavailable("chromium is not installed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def test_upload_progress_results_in_a_browser(stack, browser, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{stack.base_url}/nta/")
    page.fill("input[name=project_name]", "Browser run")
    page.set_input_files("input[name=pos]", str(DATA / FILES["pos"]))
    page.set_input_files("input[name=tracers]", str(DATA / FILES["tracers"]))
    page.set_input_files("input[name=run_sequence_pos]", str(DATA / FILES["run_sequence_pos"]))
    page.screenshot(path=str(artifacts / "upload-form.png"), full_page=True)
    page.click("form[enctype*=multipart] [type=submit]")
    page.wait_for_url("**/nta/jobs/*/")
    # The job page updates itself; it must reach the results without a reload by the test.
    page.wait_for_selector("text=/completed/i", timeout=120_000)
    page.screenshot(path=str(artifacts / "job-page.png"), full_page=True)
    page.goto(page.url + "results/")
    page.wait_for_selector("table")
    assert page.locator("img").count() >= 2
    page.screenshot(path=str(artifacts / "results-page.png"), full_page=True)
    assert "Browser run" in page.content()
