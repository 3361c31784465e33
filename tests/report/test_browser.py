"""The rendered report in Debian's real Chromium, headless and with networking off.

Checks what a reader would notice: console errors, any request beyond the file itself, figures
that fail to decode, equations missing, an incomplete reference list, a page taller than 12 screens
or larger than 3 MB, text in a figure below 9 px. A full-page screenshot is kept in test-artifacts/
for a human to look at.
"""

import datetime
import importlib.util
import pathlib
import re
import shutil
import string

import page_metrics
import pytest
import synthetic

from bptt.report import figures, render

pytestmark = pytest.mark.browser
ROOT = pathlib.Path(__file__).parents[2]
# tests/conftest.py's require(); imported by path since this folder's conftest shadows the name.
_spec = importlib.util.spec_from_file_location("tests_root_conftest", ROOT / "tests" / "conftest.py")
_root_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_root_conftest)
require = _root_conftest.require
CHROMIUM = page_metrics.CHROMIUM
ARGS = page_metrics.ARGS
MAX_SCREENS = 12  # of 1280 x 800, with every <details> closed, as the page loads
MAX_BYTES = 3_000_000
MIN_TEXT_PX = 9.0


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, tables, config):
    html = render.render(
        tables,
        config=config,
        report_dir=ROOT / "report",
        benchmarks=[],
        benchmark_root=ROOT,
        repo_root=ROOT,
        now=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html)
    return path


def test_report_in_headless_chromium(report_file, tmp_path):
    require(CHROMIUM.exists() and shutil.which("chromium") is not None, "Debian's /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    url = report_file.as_uri()
    console_errors, requests = [], []
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            offline=True,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
            page.on("pageerror", lambda e: console_errors.append(str(e)))
            page.on("request", lambda r: r.url != url and requests.append(r.url))
            page.goto(url, wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight, e.alt])"
            )
            math_count = page.locator("math").count()
            math_height = page.eval_on_selector("math[display=block]", "e => e.getBoundingClientRect().height")
            references = page.eval_on_selector_all("#references li", "els => els.map(e => e.id)")
            cited = page.eval_on_selector_all("a[href^='#ref-']", "els => els.map(e => e.getAttribute('href'))")
            artifacts = ROOT / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
            # A citation whose reference list is folded away: following it opens the list.
            cited_closed = page.evaluate("!document.querySelector('#references details').open")
            page.evaluate(
                """[...document.querySelectorAll("a[href^='#ref-']")].find(a => a.offsetParent !== null).click()"""
            )
            page.wait_for_function("document.querySelector('#references details').open")
            metrics = page_metrics.measure(page, url)  # from here on every <details> is open
            page.set_viewport_size({"width": 1280, "height": 900})  # a laptop: the summary table fits whole
            table_hidden = page.eval_on_selector("#summary .table-scroll", "e => e.scrollWidth - e.clientWidth")
            figures_drawn = page.eval_on_selector_all(
                "figure",
                """els => els.map(e => [e.id, e.getBoundingClientRect().top + window.scrollY,
                    e.querySelector('figcaption').textContent.trim(),
                    e.querySelector('img').getBoundingClientRect().width, e.querySelector('img').naturalWidth])""",
            )
            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            page.screenshot(path=str(artifacts / "report-phone.png"))
        finally:
            context.close()
    assert console_errors == []
    assert requests == []
    assert len(images) == 15
    assert all(done and width > 0 and height > 0 for done, width, height, _ in images), images
    assert math_count > 20 and math_height > 0
    assert sorted(references) == sorted({c.replace("#", "") for c in cited})
    for key in synthetic.ALWAYS_CITED:
        assert f"ref-{key}" in references
    assert overflow <= 1, "the page scrolls sideways on a phone"
    assert table_hidden <= 1, f"at 1280 px the summary table hides {table_hidden} px of its columns"
    # The letters run a, b, c, ... down the page, one per figure of render.FIGURES, each figure's id its own.
    lettered = [
        (top, match.group(1), name)
        for name, top, caption, _, _ in figures_drawn
        if (match := re.match(r"Figure \(([a-z])\)\.", caption))
    ]
    letters = [letter for _, letter, _ in sorted(lettered)]
    assert letters == list(string.ascii_lowercase[: len(render.FIGURES)])
    assert all(name == f"figure-{letter}" for _, letter, name in lettered)
    # At 1280 px a figure keeps its natural size up to the text width and is scaled down beyond it, as
    # figures.page_px assumes; so the phase diagram's numbers are as large as that model says.
    for name, _, _, shown, natural in figures_drawn:
        assert shown == pytest.approx(min(natural, figures.PAGE_WIDTH_IN * 96), abs=1), name
    phase = next(f for f in figures_drawn if f[0] == f"figure-{render.LETTERS['phase_diagram']}")
    assert figures.SMALL_TEXT_PT * 96 / 72 * phase[3] / phase[4] >= 9
    # The page a reader meets: the story, with the rest one click away.
    assert cited_closed
    assert metrics["screens"] <= MAX_SCREENS, f"{metrics['height_px']} px tall at 1280 x 800"
    assert report_file.stat().st_size <= MAX_BYTES
    small = {name: px for name, px in metrics["figures"].items() if px < MIN_TEXT_PX}
    assert small == {}, f"text below {MIN_TEXT_PX:g} px at 1280 px: {small}"
    assert sorted(metrics["figures"]) == sorted(f"figure-{letter}" for letter in render.LETTERS.values())
