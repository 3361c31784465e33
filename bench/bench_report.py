"""Benchmark: render the default grid's report, figures and HTML (target: under 15 s on 2 cores).

Usage: python bench/bench_report.py [RESULTS_DIR]   (default: results/)

Uses the pipeline's collected Parquet in RESULTS_DIR when every table the report reads exists (says
`real`), otherwise synthetic tables of the default grid's size from tests/report/synthetic.py (says
`synthetic`). Prints the median of 3 full renders (figures, drawn by WORKERS processes as the rule
does, and the HTML) and the page size.
"""

import importlib.util
import pathlib
import statistics
import sys
import time

import yaml

from bptt.pipeline import report_inputs
from bptt.report import render

ROOT = pathlib.Path(__file__).parents[1]
TARGET = 15.0
WORKERS = 2  # as rule report draws them: threads 2


def tables(config: dict, results: pathlib.Path) -> tuple[render.Tables, str]:
    """The report's tables for the default grid, and where they came from."""
    paths = {
        name: results / pathlib.Path(entry.path).relative_to("results") for name, entry in report_inputs.INPUTS.items()
    }
    if all(p.exists() for name, p in paths.items() if not report_inputs.INPUTS[name].optional):
        return render.read_tables({name: p for name, p in paths.items() if p.exists()}), "real"
    sys.path.insert(0, str(ROOT / "tests" / "report"))  # synthetic.py imports its neighbour
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "tests" / "report" / "synthetic.py")
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    grid = config["grid"]
    return synthetic.tables(
        cells=grid["cell"],
        activations=grid["activation"],
        radii=grid["radius"],
        seq_lens=grid["seq_len"],
        seeds=range(config["seeds"]),
        jitter=0.05,
    ), "synthetic"


def main(argv: list[str]) -> int:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    results = pathlib.Path(argv[0]) if argv else ROOT / "results"
    t, source = tables(config, results)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        html = render.render(
            t,
            config=config,
            report_dir=ROOT / "report",
            benchmarks=[],
            benchmark_root=ROOT,
            repo_root=ROOT,
            svgs=render.make_figures(t, config, workers=WORKERS),
        )
        times.append(time.perf_counter() - start)
    print(
        f"report render, default grid ({source} data: {len(t.gradients)} gradient rows, "
        f"{len(t.summary)} runs): median {statistics.median(times):.2f} s over 3 "
        f"(min {min(times):.2f}, max {max(times):.2f}); page {len(html.encode()) / 1e6:.2f} MB; target < {TARGET:g} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
