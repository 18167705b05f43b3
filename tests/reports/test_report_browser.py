"""The check-in report in a real browser: Debian's headless Chromium opens the file from disk.

The charts must render (SVG elements with drawn marks), the page must log no error, and it
must not try to fetch anything: every request the browser makes is recorded, and only the
file itself (file://) and inline data (data:) are allowed. The page fits a desktop (1280 px)
and a phone (390 px): no sideways scrolling, no text below MIN_FONT_PX (SVG chart labels at
the size they are drawn), tables as stacked cards below 600 px. Screenshots are kept in
test-artifacts/report.png, report-1280.png and report-390.png for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Route
from report_helpers import ARTIFACTS

MIN_FONT_PX = 11
# Layout facts measured in the page: its width against the window's, the smallest text shown
# (an SVG's text at its font size times the SVG's scale on screen), how the data tables and
# the two overview charts are displayed.
LAYOUT = """() => {
  const visible = el => {
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !visible(el)) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest('svg');
    if (svg) {
      const drawn = svg.viewBox.baseVal && svg.viewBox.baseVal.width
        ? svg.viewBox.baseVal.width : svg.width.baseVal.value;
      size *= svg.getBoundingClientRect().width / drawn;
    }
    sizes.push({size, text: walker.currentNode.textContent.trim().slice(0, 40), svg: !!svg});
  }
  sizes.sort((a, b) => a.size - b.size);
  const tables = [...document.querySelectorAll('table.rows')];
  const rows = [...document.querySelectorAll('table.rows tbody tr')];
  const overview = [...document.querySelectorAll('figure.overview')].filter(visible);
  return {
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    smallest: sizes.slice(0, 5),
    svgTexts: sizes.filter(s => s.svg).length,
    tableDisplays: [...new Set(tables.map(t => getComputedStyle(t).display))],
    headsShown: tables.filter(t => visible(t.querySelector('thead'))).length,
    // a card: the row is a block as wide as its table, each cell under the one before
    cards: rows.map(tr => {
      const cells = [...tr.children].map(td => td.getBoundingClientRect());
      return {
        display: getComputedStyle(tr).display,
        stacked: cells.every((c, i) => i === 0 || c.top >= cells[i - 1].bottom - 1),
        labels: [...tr.children].map(td => getComputedStyle(td, '::before').content),
      };
    }),
    overview: overview.map(f => ({
      cls: f.className,
      width: f.querySelector('svg').getBoundingClientRect().width,
      card: f.clientWidth - parseFloat(getComputedStyle(f).paddingLeft)
        - parseFloat(getComputedStyle(f).paddingRight),
      texts: [...f.querySelectorAll('text')].map(t => t.textContent),
    })),
  };
}"""
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
            seen["layout"] = {1280: page.evaluate(LAYOUT)}
            page.screenshot(path=str(ARTIFACTS / "report-1280.png"), full_page=True)
            phone = context.new_page()
            phone.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
            phone.set_viewport_size({"width": 390, "height": 844})
            phone.goto(report_file.as_uri(), wait_until="load")
            seen["layout"][390] = phone.evaluate(LAYOUT)
            phone.screenshot(path=str(ARTIFACTS / "report-390.png"), full_page=True)
            yield seen
        finally:
            context.close()


def test_charts_render_in_chromium(browser_page: dict) -> None:
    charts, cards = browser_page["charts"], browser_page["cards"]
    assert cards, "no key-result cards on the page"
    # the overview chart plus one chart per key result (the overview's phone version hidden)
    charts = [c for c in charts if c["width"] > 0]
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


@pytest.mark.parametrize("width", [1280, 390])
def test_no_sideways_scrolling_and_readable_text(browser_page: dict, width: int) -> None:
    layout = browser_page["layout"][width]
    assert layout["innerWidth"] == width
    assert layout["scrollWidth"] <= layout["innerWidth"], layout["smallest"]
    assert layout["svgTexts"] > 50  # the chart labels are measured too
    assert layout["smallest"][0]["size"] >= MIN_FONT_PX, layout["smallest"]


def test_tables_are_tables_on_a_desktop(browser_page: dict) -> None:
    layout = browser_page["layout"][1280]
    assert layout["tableDisplays"] == ["table"]
    assert layout["headsShown"] >= 3  # needs attention, biggest moves, trust flags
    assert all(card["display"] == "table-row" for card in layout["cards"])


def test_tables_become_stacked_cards_on_a_phone(browser_page: dict) -> None:
    layout = browser_page["layout"][390]
    assert layout["tableDisplays"] == ["block"] and layout["headsShown"] == 0
    assert len(layout["cards"]) >= 3
    for card in layout["cards"]:
        assert card["display"] == "block" and card["stacked"], card
        # each value under its column's name
        assert all(label not in ("none", "normal", '""') for label in card["labels"]), card


def test_the_overview_uses_the_card_and_names_key_results_by_title(
    browser_page: dict, demo_warehouse: Path
) -> None:
    import duckdb

    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        titles = {t for (t,) in con.execute("SELECT title FROM okr.key_results").fetchall()}
        ids = {k for (k,) in con.execute("SELECT kr_id FROM okr.key_results").fetchall()}
    finally:
        con.close()
    for width, cls in ((1280, "overview wide"), (390, "overview narrow")):
        (overview,) = browser_page["layout"][width]["overview"]
        assert overview["cls"] == cls
        # the chart spans the card's content box, drawn at the size it is shown at
        assert overview["card"] - 20 <= overview["width"] <= overview["card"], overview
        shown = set(overview["texts"])
        assert titles <= shown, titles - shown
        assert not ids & shown
