"""Command line: render results/report.html and results/figures/*.svg from the collected Parquet.

    python -m bptt.report --gradients results/gradients.parquet --summary results/summary.parquet \\
        --eigenvalues results/eigenvalues.parquet --theory results/theory.parquet --config-json '{...}' \\
        --benchmarks benchmarks/*/*.tsv --report-dir report --figures results/figures \\
        --output results/report.html

The page and the figure folder are written under temporary names and renamed into place, so a
killed or failed run never leaves a half-written report (the previous one stays until then).
"""

import argparse
import json
import os
import pathlib
import shutil
import sys

from bptt.pipeline import atomic, report_inputs
from bptt.report import render


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.report", description=__doc__.splitlines()[0])
    for name, entry in report_inputs.INPUTS.items():
        parser.add_argument(
            report_inputs.flag(name),
            type=pathlib.Path,
            required=not entry.optional,
            help=f"the collected {name} table" + (" (optional)" if entry.optional else ""),
        )
    parser.add_argument("--config-json", required=True, help="the pipeline's config as JSON")
    parser.add_argument("--benchmarks", type=pathlib.Path, nargs="*", default=[], help="benchmark files")
    parser.add_argument(
        "--benchmark-root", type=pathlib.Path, default=pathlib.Path("benchmarks"), help="the folder holding them"
    )
    parser.add_argument("--report-dir", type=pathlib.Path, required=True, help="templates, CSS, equations")
    parser.add_argument("--figures", type=pathlib.Path, required=True, help="folder for the SVG files")
    parser.add_argument("--output", type=pathlib.Path, required=True, help="the HTML file to write")
    parser.add_argument("--workers", type=int, default=1, help="processes drawing the figures (the rule's threads)")
    parser.add_argument("--repo", type=pathlib.Path, default=pathlib.Path("."), help="git checkout")
    return parser.parse_args(argv)


def write_figures(svgs: dict[str, str], folder: pathlib.Path) -> None:
    """figure_<letter>.svg for every figure (svgs keyed by id, `render.LETTERS`), into `folder` as a
    whole (a sibling renamed into place)."""
    fresh = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    for name, svg in svgs.items():
        (fresh / f"figure_{render.LETTERS.get(name, name)}.svg").write_text(svg)
    old = folder.with_name(f"{folder.name}.{os.getpid()}.old")
    if folder.exists():
        folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        config = json.loads(args.config_json)
    except json.JSONDecodeError as error:
        raise SystemExit(f"--config-json is not valid JSON ({error}); pass the config as a JSON object") from None
    t = render.read_tables({name: getattr(args, name) for name in report_inputs.INPUTS})
    svgs = render.make_figures(t, config, workers=args.workers)
    html = render.render(
        t,
        config=config,
        report_dir=args.report_dir,
        benchmarks=args.benchmarks,
        benchmark_root=args.benchmark_root,
        repo_root=args.repo,
        svgs=svgs,
    )
    write_figures(svgs, args.figures)
    with atomic.replacing(args.output) as tmp:
        pathlib.Path(tmp).write_text(html)
    print(f"wrote {args.output} ({len(html.encode()) / 1e6:.2f} MB) and {len(svgs)} figures in {args.figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
