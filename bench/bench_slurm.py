"""Grids through profiles/slurm against a local run on the same machine (run by `make bench`).

Two grids: "realistic", the 6 jobs of 7-45 s of a user who has outgrown a laptop (rnn, lstm, gru x
tanh, relu at T = 1500, H = 256, B = 16, no Jacobian diagnostics), and "default", config.yaml's 48
jobs of about a second. Each of ROUNDS rounds (argument 1, default 2) times, interleaved, for each
grid (argument 2, comma-separated, default both): `snakemake --cores 2`, then `snakemake
--workflow-profile profiles/slurm`, from an empty results/ to the collected Parquet, each in a fresh
scratch copy of this checkout. Prints the times, the medians and the median ratio slurm / local of
each grid beside its target, and how long after each submission ended Snakemake said so (progress).
Needs a running SLURM (scripts/slurm-cluster up); without one it says so and exits 0.
"""

import datetime
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

import yaml
from common import BIN, COLLECTED, CORES, ROOT, fresh_copy, timed, workflow_helpers

DEFAULT = yaml.safe_load((ROOT / "config.yaml").read_text())
REALISTIC = {**DEFAULT, **workflow_helpers.REALISTIC}
# Grid -> (config, target ratio). The default grid's jobs are shorter than a job's start-up on
# SLURM, so its target is looser.
GRIDS = {"realistic": (REALISTIC, 1.3), "default": (DEFAULT, 3.0)}


def slurm_run(path: pathlib.Path) -> tuple[float, list[float]]:
    """Wall seconds of the profile's run in the copy at `path`, from an empty results/ to the collected
    Parquet, and for each submission the seconds from its end to Snakemake's next "Finished" line.

    A submission's end is SLURM's (squeue's end time, to the second); the first "Finished" line printed
    at or after it comes from the status check that saw it end, since every later check sees it ended.
    """
    env = workflow_helpers.local_env(path)
    env.pop("SLURM_CONF")  # the real cluster's configuration, this time
    start = time.perf_counter()
    with subprocess.Popen(
        [str(BIN / "snakemake"), "--workflow-profile", "profiles/slurm", *COLLECTED],
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as run:
        lines = [(time.time(), line) for line in run.stdout]  # (seconds since the epoch, line)
    seconds = time.perf_counter() - start
    if run.returncode:
        sys.exit("slurm run failed:\n" + "".join(line for _, line in lines))
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", "".join(line for _, line in lines))
    if not job_ids:
        return seconds, []
    listed = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%e"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ends = [datetime.datetime.fromisoformat(end).timestamp() for end in listed]
    finished = [when for when, line in lines if "Finished jobid" in line]
    return seconds, [min(when for when in finished if when >= end) - end for end in ends]


def main(rounds: int, names: list[str]) -> int:
    if not workflow_helpers.cluster_is_up():
        print("SKIPPED: no running SLURM cluster (scripts/slurm-cluster up)")
        return 0
    times = {name: ([], []) for name in names}
    delays = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        parent = pathlib.Path(tmp)
        for i in range(rounds):
            for name in names:
                config = GRIDS[name][0]
                local, cluster = times[name]
                local.append(
                    timed([str(BIN / "snakemake"), "--cores", str(CORES), *COLLECTED], fresh_copy(parent, config))
                )
                seconds, noticed = slurm_run(fresh_copy(parent, config))
                cluster.append(seconds)
                delays[name] += noticed
                print(
                    f"  round {i + 1}, {name} grid: local {local[-1]:.1f} s, slurm {cluster[-1]:.1f} s,"
                    f" ratio {cluster[-1] / local[-1]:.2f}",
                    flush=True,
                )
    for name in names:
        local, cluster = times[name]
        target = GRIDS[name][1]
        ratio = statistics.median(c / l for c, l in zip(cluster, local))
        print(
            f"{name} grid to the collected Parquet: local (--cores {CORES}) median {statistics.median(local):.1f} s,"
            f" slurm median {statistics.median(cluster):.1f} s; ratio {ratio:.2f}"
            f" (target <= {target:g}: {'met' if ratio <= target else 'missed'})"
        )
        if delays[name]:
            print(
                f"  a submission's end to its Finished line: median {statistics.median(delays[name]):.0f} s,"
                f" largest {max(delays[name]):.0f} s, over {len(delays[name])} submissions"
            )
        else:
            print("  no submission: every job ran where Snakemake runs (resources.run_here)")
    return 0


if __name__ == "__main__":
    sys.exit(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 2,
            sys.argv[2].split(",") if len(sys.argv) > 2 else list(GRIDS),
        )
    )
