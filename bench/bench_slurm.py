"""The default grid through profiles/slurm against a local run on the same machine (run by `make bench`).

Each of ROUNDS rounds (argument 1, default 2) times, one after the other, `snakemake --cores 2` and
`snakemake --workflow-profile profiles/slurm` from an empty results/ to the collected Parquet, each
in a fresh scratch copy of this checkout. Prints the times, the medians and the median ratio
slurm / local beside the target (<= 3). Needs a running SLURM (scripts/slurm-cluster up); without
one it says so and exits 0.
"""

import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from common import BIN, COLLECTED, fresh_copy, pipeline_run, workflow_helpers

TARGET = 3.0


def slurm_run(parent: pathlib.Path) -> float:
    """Wall seconds of the profile's run from an empty results/ to the collected Parquet."""
    path = fresh_copy(parent)
    env = workflow_helpers.local_env(path)
    env.pop("SLURM_CONF")  # the real cluster's configuration, this time
    start = time.perf_counter()
    subprocess.run(
        [str(BIN / "snakemake"), "--workflow-profile", "profiles/slurm", *COLLECTED],
        cwd=path,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main(rounds: int) -> int:
    if not workflow_helpers.cluster_is_up():
        print("SKIPPED: no running SLURM cluster (scripts/slurm-cluster up)")
        return 0
    local, cluster = [], []
    with tempfile.TemporaryDirectory() as tmp:
        parent = pathlib.Path(tmp)
        for i in range(rounds):
            local.append(pipeline_run(parent)[0])
            cluster.append(slurm_run(parent))
            print(
                f"  round {i + 1}: local {local[-1]:.1f} s, slurm {cluster[-1]:.1f} s,"
                f" ratio {cluster[-1] / local[-1]:.2f}"
            )
    ratio = statistics.median(c / l for c, l in zip(cluster, local))
    print(
        f"default grid to the collected Parquet: local median {statistics.median(local):.1f} s, slurm median "
        f"{statistics.median(cluster):.1f} s; ratio {ratio:.2f}"
        f" (target <= {TARGET:g}: {'met' if ratio <= TARGET else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2))
