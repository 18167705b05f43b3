"""The check-in report in a real browser: Debian's headless Chromium opens the file from disk.

The charts must render (SVG elements with drawn marks), the page must log no error, and it
must not try to fetch anything: every request the browser makes is recorded, and only the
file itself (file://) and inline data (data:) are allowed. A screenshot is kept in
test-artifacts/report.png for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Route
from report_helpers import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No background traffic of the browser's own (updates, sync, field trials): any request seen
# must come from the page.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report_file(demo_report: Path) -> Path:
    return demo_report


def _local_only(route: Route) -> None:
    if route.request.url.startswith(("file://", "data:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="module")
def browser_page(report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    seen: dict = {"requests": [], "console": [], "errors": []}
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.on("request", lambda request: seen["requests"].append(request.url))
            # recorded above, then stopped here: a regression must not reach the network
            context.route("**/*", _local_only)
            page = context.new_page()
            page.on("console", lambda m: seen["console"].append((m.type, m.text)))
            page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
            page.goto(report_file.as_uri(), wait_until="load")
            page.wait_for_load_state("networkidle")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            seen["page"] = page
            seen["charts"] = page.eval_on_selector_all(
                "figure svg",
                """svgs => svgs.map(svg => {
                    const box = svg.getBoundingClientRect();
                    const drawn = [...svg.querySelectorAll('path')]
                        .filter(p => (p.getAttribute('d') || '').length > 10);
                    return {
                        width: box.width, height: box.height,
                        paths: drawn.length,
                        texts: svg.querySelectorAll('text').length,
                        kr: svg.closest('.kr') ? svg.closest('.kr').dataset.kr : null,
                    };
                })""",
            )
            seen["cards"] = page.eval_on_selector_all(".kr", "els => els.map(e => e.dataset.kr)")
            yield seen
        finally:
            context.close()


def test_charts_render_in_chromium(browser_page: dict) -> None:
    charts, cards = browser_page["charts"], browser_page["cards"]
    assert cards, "no key-result cards on the page"
    # the overview chart plus one chart per key result
    assert len(charts) == len(cards) + 1
    assert sorted(c["kr"] for c in charts if c["kr"]) == sorted(cards)
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["paths"] > 0 and chart["texts"] > 0, chart


def test_no_console_errors(browser_page: dict) -> None:
    assert browser_page["errors"] == []
    assert [m for m in browser_page["console"] if m[0] in ("error", "warning")] == []


def test_no_request_leaves_the_machine(browser_page: dict, report_file: Path) -> None:
    requests = browser_page["requests"]
    assert report_file.as_uri() in requests  # the logging works: the file itself was seen
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []


def test_screenshot_is_kept(browser_page: dict) -> None:
    shot = ARTIFACTS / "report.png"
    assert shot.exists() and shot.stat().st_size > 50_000  # a page of charts, not a blank
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
