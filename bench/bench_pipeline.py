"""Pipeline benchmark: the default grid from an empty results/ to the collected Parquet.

Prints, for runs in a temporary copy of this checkout on 2 cores:
- wall time of `snakemake --cores 2 results/gradients.parquet results/summary.parquet`
  (Snakemake start-up included), the sum of the job times in the benchmark
  files, and the overhead share 1 - sum(job s) / (2 * wall): the part of the
  two cores' time that is not spent inside a job (Snakemake, scheduling,
  waiting); the jobs' own process start-up counts as job time, so it is
  measured separately below;
- the planning time of a 10 080-point grid (`snakemake -n`);
- the start-up of the job entry: `python -X importtime -m bptt.pipeline.experiment --help`
  (total import time) and the wall time of `python -m bptt.pipeline.experiment --help`.
Medians over REPEATS runs (argument 1, default 3). Targets (issue 3): wall < 30 s,
overhead < 25 %, planning < 15 s.
"""

import csv
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

import yaml
from common import BIN, CORES, ROOT, fresh_copy, pipeline_run, timed


def job_seconds(path: pathlib.Path) -> list[float]:
    """Wall seconds (column s) of every benchmark file under benchmarks/experiment/."""
    seconds = []
    for tsv in (path / "benchmarks" / "experiment").rglob("*.tsv"):
        with tsv.open() as file:
            seconds += [float(row["s"]) for row in csv.DictReader(file, delimiter="\t")]
    return seconds


def full_run(parent: pathlib.Path) -> tuple[float, list[float]]:
    wall, path = pipeline_run(parent)
    return wall, job_seconds(path)


def planning_time(parent: pathlib.Path) -> tuple[float, int]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["grid"]["radius"] = [round(0.5 + 0.025 * i, 3) for i in range(42)]
    config["grid"]["seq_len"] = [10 * (i + 1) for i in range(20)]
    grid = config["grid"]
    points = len(grid["cell"]) * len(grid["activation"]) * len(grid["radius"]) * len(grid["seq_len"])
    path = fresh_copy(parent, config)
    return timed([str(BIN / "snakemake"), "-n", "--quiet", "rules"], path), points


def import_time_ms() -> float:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bptt.pipeline.experiment", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    # Top-level imports only (two spaces after the bar), cumulative microseconds.
    totals = re.findall(r"^import time:\s+\d+ \|\s+(\d+) \| {1,2}\S", result.stderr, flags=re.M)
    return sum(map(int, totals)) / 1000


def main(repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parent = pathlib.Path(tmp)
        runs = [full_run(parent) for _ in range(repeats)]
        walls = [wall for wall, _ in runs]
        sums = [sum(jobs) for _, jobs in runs]
        overheads = [1 - s / (CORES * w) for w, s in zip(walls, sums)]
        jobs = len(runs[0][1])
        print(f"default grid, {jobs} experiment jobs, --cores {CORES}, {repeats} runs")
        print(
            f"  wall time to the collected Parquet: median {statistics.median(walls):.1f} s"
            f"  (runs: {', '.join(f'{w:.1f}' for w in walls)})"
        )
        print(
            f"  sum of job times (benchmark files): median {statistics.median(sums):.1f} s;"
            f" median job {statistics.median(runs[0][1]) * 1000:.0f} ms"
        )
        print(
            f"  overhead share 1 - sum/(cores*wall): median {100 * statistics.median(overheads):.1f} %  (target < 25 %)"
        )
        plans = [planning_time(parent) for _ in range(repeats)]
        print(
            f"  planning a {plans[0][1]}-point grid (snakemake -n):"
            f" median {statistics.median(p for p, _ in plans):.1f} s  (target < 15 s)"
        )
    starts = [timed([sys.executable, "-m", "bptt.pipeline.experiment", "--help"], ROOT) for _ in range(5)]
    bare = [timed([sys.executable, "-c", "pass"], ROOT) for _ in range(5)]
    print(
        f"  job entry start-up: python -m bptt.pipeline.experiment --help"
        f" median {1000 * statistics.median(starts):.0f} ms (bare python {1000 * statistics.median(bare):.0f} ms);"
        f" imports {import_time_ms():.0f} ms (python -X importtime)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
