"""bptt's pipeline against the notebook baseline (bench/notebook_torch.py), timed in the same run.

    python bench/bench_notebook.py [ROUNDS] [--full]

The grid is the default config's reduced to its plain settings (gate_bias 0, recurrent_init orthogonal:
the settings a plain script would try first), or the whole default grid with --full. Each of ROUNDS rounds
(default 3) times, one right after the other so that both see the same load on a shared machine:
(a) bptt: `snakemake --cores 2` from an empty results/ to results/gradients.parquet and
    results/summary.parquet in a fresh scratch copy of this checkout (Snakemake's start-up included);
(b) the notebook: `python bench/notebook_torch.py config.yaml --processes 2` in the same copy, the whole
    process (interpreter start, the torch and pandas imports, the pool, writing its Parquet).
Prints each round's wall times and ratio bptt / notebook, the medians, and the median of the rounds' ratios
against the target (<= 1.0, aim 0.5); the fixed cost that bounds bptt's time (Snakemake's start-up and
planning, a dry run, plus one interpreter start-up and import of the job module per job, spread over the
cores); then the agreement of the first round's two outputs (notebook_torch.py --compare).

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
from common import BIN, COLLECTED, CORES, ROOT, fresh_copy, timed, torch_python, workflow_helpers

NOTEBOOK = pathlib.Path(__file__).with_name("notebook_torch.py")
OUTPUT = "notebook_gradients.parquet"
TARGET, AIM = 1.0, 0.5
PLAIN = {"gate_bias": [0.0], "recurrent_init": ["orthogonal"]}


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


def config(full: bool) -> dict:
    """The default config, or its grid reduced to the plain settings."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    if not full:
        cfg["grid"].update(PLAIN)
    return cfg


def start_up(copy: pathlib.Path) -> tuple[float, float, int]:
    """(Snakemake's start-up and planning: a dry run, s; one job's interpreter start-up and import of its module, s;
    the number of experiment jobs), measured in the copy."""
    dry = timed([str(BIN / "snakemake"), "--cores", str(CORES), "--dry-run", *COLLECTED], copy)
    job = min(timed([sys.executable, "-c", "import bptt.pipeline.experiment"], copy) for _ in range(3))
    grid = yaml.safe_load((copy / "config.yaml").read_text())["grid"]
    return dry, job, len(grid["cell"]) * len(grid["activation"]) * len(grid["seq_len"])


def main(rounds: int, full: bool) -> None:
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
            copy = fresh_copy(pathlib.Path(tmp), config(full))
            bptt_seconds = timed([str(BIN / "snakemake"), "--cores", str(CORES), *COLLECTED], copy)
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
        dry, job, jobs = start_up(copies[0])
        floor = dry + jobs * job / CORES
        print(
            f"  fixed cost of bptt's run: Snakemake start-up and planning {dry:.1f} s (a dry run) + {jobs} jobs x "
            f"{job:.2f} s (interpreter start-up and imports) / {CORES} cores = {floor:.1f} s, "
            f"{floor / statistics.median(n for _, n in times):.2f} of the notebook's time"
        )
        grid = "the whole default grid" if full else "the default grid's plain settings"
        print(
            f"RATIO grid: {ratio:.2f} (bptt / notebook on {grid}; target <= {TARGET}; fixed cost alone "
            f"{floor / statistics.median(n for _, n in times):.2f})"
        )
        print("agreement of round 1's outputs (notebook_torch.py --compare):", flush=True)
        subprocess.run(
            [python, str(NOTEBOOK), "--output", OUTPUT, "--compare", "results/gradients.parquet"],
            cwd=copies[0],
            env=workflow_helpers.local_env(copies[0]),
            check=True,
        )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--full"]
    main(int(args[0]) if args else 3, "--full" in sys.argv[1:])
