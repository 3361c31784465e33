"""Run every benchmark in bench/ (bench_*.py) in turn; each prints its own figures.

Usage: python bench/run.py [NAME ...]
  (NAME: audit, core, estimate, jacobian, notebook, pipeline, report, slurm, train)

The PyTorch parts (bench_core's and bench_train's comparisons, bench_notebook entirely) run where torch
is importable, here or in the interpreter $BPTT_TORCH_PYTHON names; otherwise each prints a SKIPPED line
saying so. bench_slurm needs a running SLURM (scripts/slurm-cluster up) and says so otherwise.
"""

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    failed = 0
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        failed += subprocess.call([sys.executable, str(script)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
