"""Benchmark: render the default grid's report (target: under 15 s on 2 cores).

Usage: python bench/bench_report.py [RESULTS_DIR]   (default: results/)

Uses the pipeline's collected Parquet in RESULTS_DIR when all three tables exist (says `real`),
otherwise synthetic tables of the default grid's size from tests/report/synthetic.py (say
`synthetic`). Prints the median of 3 full renders (figures + HTML) and the page size.
"""

import importlib.util
import pathlib
import statistics
import sys
import time

import yaml

from bptt.pipeline.spectrum import eigenvalue_table, few_radii
from bptt.report import render

ROOT = pathlib.Path(__file__).parents[1]


def tables(config, results: pathlib.Path):
    """(gradients, summary, eigenvalues, source) for the default grid."""
    paths = [results / "gradients.parquet", results / "summary.parquet", results / "eigenvalues.parquet"]
    if all(p.exists() for p in paths):
        gradients = render.read_table(paths[0], render.GRADIENT_COLUMNS)
        summary = render.read_table(paths[1], render.SUMMARY_COLUMNS)
        return gradients, summary, render.read_table(paths[2], render.EIGENVALUE_COLUMNS), "real"
    spec = importlib.util.spec_from_file_location("synthetic", ROOT / "tests" / "report" / "synthetic.py")
    synthetic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synthetic)
    grid = config["grid"]
    gradients, summary = synthetic.tables(
        cells=grid["cell"],
        activations=grid["activation"],
        radii=grid["radius"],
        seq_lens=grid["seq_len"],
        seeds=range(config["seeds"]),
        jitter=0.05,
    )
    eigenvalues = eigenvalue_table(
        few_radii(grid["radius"]), config["seeds"], config["hidden_size"], config["input_size"]
    )
    return gradients, summary, eigenvalues, "synthetic"


def main(argv: list[str]) -> int:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    results = pathlib.Path(argv[0]) if argv else ROOT / "results"
    gradients, summary, eigenvalues, source = tables(config, results)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        html = render.render(
            gradients,
            summary,
            eigenvalues,
            config=config,
            report_dir=ROOT / "report",
            benchmarks=[],
            benchmark_root=ROOT,
            repo_root=ROOT,
        )
        times.append(time.perf_counter() - start)
    print(
        f"report render, default grid ({source} data: {len(gradients)} gradient rows, "
        f"{len(summary)} runs): median {statistics.median(times):.2f} s over 3 "
        f"(min {min(times):.2f}, max {max(times):.2f}); page {len(html.encode()) / 1e6:.2f} MB; target < 15 s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
