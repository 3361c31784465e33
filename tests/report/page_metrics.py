"""The report as a reader meets it in Chromium: how tall it is in screens, how large the file is, and how
small the text inside each figure is drawn. Shared by the browser test (tests/report/test_browser.py, on
the test config) and the benchmark of the default run's page (bench/bench_page.py).

A screen is the 1280 x 800 viewport; closed <details> count as their summary line, as a reader meets them.
"""

import base64
import pathlib
import re

SCREEN = {"width": 1280, "height": 800}
CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# An SVG's text elements, and the font-sizes set in one (matplotlib writes svg.fonttype none text as styles;
# mathtext as one <text> of <tspan>s, its sub- and superscripts at 0.7 of the base size).
TEXT = re.compile(r"<text\b.*?</text>", re.S)
FONT_SIZE = re.compile(r"font-size:\s*([0-9.]+)px")
# A figure <img>'s id, shown and natural width, and its data URI.
FIGURE_IMAGES = """els => els.map(e => [e.closest('figure') ? e.closest('figure').id : e.alt,
    e.getBoundingClientRect().width, e.naturalWidth, e.getAttribute('src')])"""


def smallest_text_px(src: str, shown: float, natural: float) -> float:
    """The smallest text of an SVG data URI in CSS px as drawn at `shown` of its `natural` width: each text's
    base size (the largest font-size in it, so a subscript is read as part of its label, as typeset), the
    smallest over the texts (inf when the image has no text: a raster has none to measure)."""
    if not src.startswith("data:image/svg+xml;base64,"):
        return float("inf")
    svg = base64.b64decode(src.split(",", 1)[1]).decode()
    sizes = [max(map(float, found)) for text in TEXT.findall(svg) if (found := FONT_SIZE.findall(text))]
    # matplotlib sizes its SVG in pt (1 pt = 4/3 CSS px) with font sizes in the same user units.
    return min(sizes) * 4 / 3 * shown / natural if sizes else float("inf")


def measure(page, url: str) -> dict:
    """Load `url` in a playwright `page` at the 1280 x 800 screen and measure it: {height_px, screens,
    figures: {id: smallest text px}}. The height is the page as loaded (every <details> closed); the figures
    are measured with every <details> opened, as a reader who opens them sees them (the page stays so)."""
    page.set_viewport_size(SCREEN)
    page.goto(url, wait_until="load")
    height = page.evaluate("document.documentElement.scrollHeight")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    figures = {
        name: smallest_text_px(src, shown, natural)
        for name, shown, natural, src in page.eval_on_selector_all("figure img", FIGURE_IMAGES)
    }
    return {"height_px": height, "screens": height / SCREEN["height"], "figures": figures}


def measure_file(path: pathlib.Path, profile: pathlib.Path) -> dict:
    """`measure` of the HTML file at `path` in Debian's Chromium (offline, a fresh profile in `profile`),
    with its size in bytes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS, offline=True
        )
        try:
            found = measure(context.new_page(), pathlib.Path(path).resolve().as_uri())
        finally:
            context.close()
    return found | {"bytes": pathlib.Path(path).stat().st_size}
