"""What the benchmarks share: scratch copies of this checkout, timed commands in them, and where torch is.

A scratch copy is the workflow tests' pristine copy (Snakefile, workflow/, profiles/, report/, src/ and a
config, nothing run), made under a temporary parent; commands run in it with the tests' local environment
(PYTHONPATH = the copy's src/, SLURM_CONF=/dev/null against the idle-SLURM probe).
"""

import importlib.util
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).parents[1]
# The tests' way of copying the workflow and running it locally, reused as is.
sys.path.insert(0, str(ROOT / "tests" / "workflow"))
import workflow_helpers  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
COLLECTED = workflow_helpers.COLLECTED
CORES = 2


def fresh_copy(parent: pathlib.Path, config: dict | None = None) -> pathlib.Path:
    """A pristine copy of this checkout in a new directory under `parent`, with `config` (default config.yaml)."""
    path = pathlib.Path(tempfile.mkdtemp(dir=parent)) / "copy"
    return workflow_helpers.pristine_copy(path, config or yaml.safe_load((ROOT / "config.yaml").read_text()))


def timed(command: list[str], cwd: pathlib.Path) -> float:
    """Wall seconds of `command` run to completion in the copy at `cwd` (output discarded; failure raises)."""
    start = time.perf_counter()
    subprocess.run(
        command,
        cwd=cwd,
        env=workflow_helpers.local_env(cwd),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def pipeline_run(parent: pathlib.Path) -> tuple[float, pathlib.Path]:
    """Wall seconds of `snakemake --cores CORES` from an empty results/ to the collected Parquet, and the copy.

    Snakemake's start-up and planning are included; the copy is made before the clock starts.
    """
    path = fresh_copy(parent)
    return timed([str(BIN / "snakemake"), "--cores", str(CORES), *COLLECTED], path), path


def torch_python() -> str | None:
    """An interpreter that has torch: this one if torch is importable here, else $BPTT_TORCH_PYTHON, else None.

    Looked up without importing torch, which takes seconds and is not needed in the benchmark's own process.
    """
    if importlib.util.find_spec("torch") is not None:
        return sys.executable
    return os.environ.get("BPTT_TORCH_PYTHON") or None
