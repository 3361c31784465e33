"""bptt's pipeline against the notebook baseline (bench/notebook_torch.py), timed in the same run.

Each of ROUNDS rounds (argument 1, default 3) times, one right after the other so that both see the same
load on a shared machine:
(a) bptt: `snakemake --cores 2` from an empty results/ to results/gradients.parquet and
    results/summary.parquet in a fresh scratch copy of this checkout (common.pipeline_run, the same run as
    bench_pipeline.py's; Snakemake's start-up included);
(b) the notebook: `python bench/notebook_torch.py config.yaml --processes 2` in the same copy, the whole
    process (interpreter start, the torch and pandas imports, the pool, writing its Parquet).
Prints each round's wall times and ratio bptt / notebook, the medians, and the median of the rounds' ratios
against the target (<= 1.0, aim 0.5); then the agreement of the first round's two outputs
(notebook_torch.py --compare).

torch runs in the interpreter common.torch_python() names: this one if it imports torch, else
$BPTT_TORCH_PYTHON (which then needs numpy, pandas, pyarrow and pyyaml as well). Without either, the
benchmark says so and exits 0.
"""

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

import yaml
from common import CORES, pipeline_run, timed, torch_python, workflow_helpers

NOTEBOOK = pathlib.Path(__file__).with_name("notebook_torch.py")
OUTPUT = "notebook_gradients.parquet"
TARGET, AIM = 1.0, 0.5


def notebook_command(python: str) -> list[str]:
    return [python, str(NOTEBOOK), "config.yaml", "--processes", str(CORES), "--output", OUTPUT]


def torch_version(python: str) -> str:
    command = [python, "-c", "import torch; print(torch.__version__)"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def grid_size(copy: pathlib.Path) -> str:
    """'P points x S seeds' of the copy's config."""
    config = yaml.safe_load((copy / "config.yaml").read_text())
    points = 1
    for values in config["grid"].values():
        points *= len(values)
    return f"{points} points x {config['seeds']} seeds"


def main(rounds: int) -> None:
    python = torch_python()
    if python is None:
        print(
            "notebook comparison: SKIPPED (torch is not importable here; set BPTT_TORCH_PYTHON to an interpreter "
            "that has torch, numpy, pandas, pyarrow and pyyaml to run it)"
        )
        return
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        times, copies = [], []
        for _ in range(rounds):
            bptt_seconds, copy = pipeline_run(pathlib.Path(tmp))
            times.append((bptt_seconds, timed(notebook_command(python), copy)))
            copies.append(copy)
        load_end = os.getloadavg()[0]
        print(
            f"bptt pipeline (snakemake --cores {CORES}) against the notebook baseline (PyTorch "
            f"{torch_version(python)}, pool of {CORES}, 1 thread per worker), {grid_size(copies[0])}, "
            f"{rounds} rounds, wall times from an empty results/:"
        )
        for i, (bptt_seconds, notebook_seconds) in enumerate(times):
            print(
                f"  round {i + 1}: bptt {bptt_seconds:.1f} s, notebook {notebook_seconds:.1f} s, "
                f"ratio bptt / notebook {bptt_seconds / notebook_seconds:.2f}"
            )
        ratio = statistics.median(b / n for b, n in times)
        print(
            f"  median: bptt {statistics.median(b for b, _ in times):.1f} s, notebook "
            f"{statistics.median(n for _, n in times):.1f} s; ratio bptt / notebook {ratio:.2f} (median of the "
            f"rounds' ratios; target <= {TARGET} (aim {AIM}): {'met' if ratio <= TARGET else 'missed'})"
        )
        print(f"  1-minute load average {load_start:.1f} at the start, {load_end:.1f} at the end")
        print("agreement of round 1's outputs (notebook_torch.py --compare):", flush=True)
        subprocess.run(
            [python, str(NOTEBOOK), "--output", OUTPUT, "--compare", "results/gradients.parquet"],
            cwd=copies[0],
            env=workflow_helpers.local_env(copies[0]),
            check=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
