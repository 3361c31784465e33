"""Run every benchmark in bench/ (bench_*.py) in turn; each prints its own figures, and the ratios at the end.

Usage: python bench/run.py [NAME ...]
  (NAME: audit, core, estimate, jacobian, notebook, page, pipeline, report, slurm, train)

The PyTorch parts (bench_core's and bench_train's comparisons, bench_notebook entirely) run where torch
is importable, here or in the interpreter $BPTT_TORCH_PYTHON names; otherwise each prints a SKIPPED line
saying so. bench_slurm needs a running SLURM (scripts/slurm-cluster up) and says so otherwise.

numpy is timed on the processor's own BLAS kernels, as on a user's machine: where OPENBLAS_CORETYPE or
OPENBLAS_L2_SIZE are set (they pin OpenBLAS to another processor's kernels), the benchmarks run without
them (this command alone: tests and CI keep them). The kernel that runs is printed (threadpoolctl).
A benchmark that measures one of the issue's targets prints a line "RATIO name: value (...)"; those
lines are printed again together at the end, so that all three come from one run.
"""

import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).parent
PINNED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
KERNEL = (
    "import numpy, threadpoolctl\n"
    "for i in threadpoolctl.threadpool_info():\n"
    "    print(f\"  {i['internal_api']} {i['version']}, kernel {i.get('architecture')}, {i['filepath']}\")"
)


def environment() -> dict[str, str]:
    """This process's environment without the OpenBLAS pins, saying which were dropped."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED}
    dropped = [f"{k}={os.environ[k]}" for k in PINNED if k in os.environ]
    print(f"unset for the benchmarks: {', '.join(dropped)}" if dropped else "OpenBLAS kernel pins: none set")
    print("BLAS (threadpoolctl, in the benchmarks' environment):", flush=True)
    subprocess.run([sys.executable, "-c", KERNEL], env=env, check=False)
    return env


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    env = environment()
    failed, ratios = 0, []
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        child = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
        for line in child.stdout:
            print(line, end="", flush=True)
            if line.startswith("RATIO "):
                ratios.append(line.rstrip())
        failed += child.wait() != 0
    if ratios:
        print("== the ratios of this run ==")
        print("\n".join(ratios))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
