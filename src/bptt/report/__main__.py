"""Command line: render results/report.html and results/figures/*.svg from the collected Parquet.

    python -m bptt.report --gradients results/gradients.parquet --summary results/summary.parquet \\
        --eigenvalues results/eigenvalues.parquet --config-json '{...}' --benchmarks benchmarks/*/*.tsv \\
        --report-dir report --figures results/figures --output results/report.html
"""

import argparse
import json
import pathlib
import sys

from bptt.report import render


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.report", description=__doc__.splitlines()[0])
    parser.add_argument("--gradients", type=pathlib.Path, required=True, help="collected per-step table")
    parser.add_argument("--summary", type=pathlib.Path, required=True, help="collected per-run table")
    parser.add_argument("--eigenvalues", type=pathlib.Path, required=True, help="rule spectrum's table")
    parser.add_argument("--config-json", required=True, help="the pipeline's config as JSON")
    parser.add_argument("--benchmarks", type=pathlib.Path, nargs="*", default=[], help="benchmark files")
    parser.add_argument("--benchmark-root", type=pathlib.Path, default=pathlib.Path("benchmarks"),
                        help="the folder holding them (benchmarks/<rule>/...)")
    parser.add_argument("--report-dir", type=pathlib.Path, required=True, help="templates, CSS, equations")
    parser.add_argument("--figures", type=pathlib.Path, required=True, help="folder for the SVG files")
    parser.add_argument("--output", type=pathlib.Path, required=True, help="the HTML file to write")
    parser.add_argument("--repo", type=pathlib.Path, default=pathlib.Path("."), help="git checkout")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--config-json is not valid JSON ({error}); pass the config as a JSON object")
    gradients = render.read_table(args.gradients, render.GRADIENT_COLUMNS)
    summary = render.read_table(args.summary, render.SUMMARY_COLUMNS)
    eigenvalues = render.read_table(args.eigenvalues, render.EIGENVALUE_COLUMNS)
    svgs = render.make_figures(gradients, summary, eigenvalues)
    html = render.render(
        gradients, summary, eigenvalues, config=config, report_dir=args.report_dir,
        benchmarks=args.benchmarks, benchmark_root=args.benchmark_root, repo_root=args.repo, svgs=svgs,
    )
    args.figures.mkdir(parents=True, exist_ok=True)
    for letter, svg in svgs.items():
        (args.figures / f"figure_{letter}.svg").write_text(svg)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(html)
    print(f"wrote {args.output} ({len(html.encode()) / 1e6:.2f} MB) and {len(svgs)} figures in {args.figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
