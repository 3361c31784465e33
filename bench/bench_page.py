"""Benchmark: the default run's report as a reader meets it in Chromium (targets: at most 12 screens of
1280 x 800 and at most 3 MB; text in the figures at least 9 px).

Usage: python bench/bench_page.py [REPORT]   (default: results/report.html, which `snakemake --cores 2`
builds from config.yaml in about 7 minutes; too slow for the test suite, whose browser test checks the same
limits on the test config)

Prints the file's size, the page's height in px and in screens, and the smallest text of each figure in px.
"""

import importlib.util
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).parents[1]
MAX_SCREENS = 12
MAX_MB = 3.0
MIN_TEXT_PX = 9.0

_spec = importlib.util.spec_from_file_location("page_metrics", ROOT / "tests" / "report" / "page_metrics.py")
page_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page_metrics)


def main(argv: list[str]) -> int:
    report = pathlib.Path(argv[0]) if argv else ROOT / "results" / "report.html"
    if not report.exists():
        print(f"SKIPPED: {report} does not exist; build it with `snakemake --cores 2` (the default config)")
        return 0
    if importlib.util.find_spec("playwright") is None or not page_metrics.CHROMIUM.exists():
        print(f"SKIPPED: needs playwright and {page_metrics.CHROMIUM}")
        return 0
    with tempfile.TemporaryDirectory() as profile:
        found = page_metrics.measure_file(report, pathlib.Path(profile))
    megabytes = found["bytes"] / 1e6
    print(f"report page {report}: {megabytes:.2f} MB (target <= {MAX_MB:g} MB)")
    print(
        f"  height at {page_metrics.SCREEN['width']} x {page_metrics.SCREEN['height']}: {found['height_px']} px, "
        f"{found['screens']:.1f} screens (target <= {MAX_SCREENS})"
    )
    for name, px in found["figures"].items():
        flag = "" if px >= MIN_TEXT_PX else f"  below {MIN_TEXT_PX:g} px"
        print(f"  {name}: smallest text {px:.1f} px{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
