"""The slurm profile on a real SLURM: the same collected tables as a local run.

Needs a running cluster (`scripts/slurm-cluster up`, which .ci/run does): skips
on a machine without one, fails in CI.
"""

import importlib.util
import math
import os
import pathlib
import re
import subprocess

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

TESTS = pathlib.Path(__file__).parents[1]


def _load(name, path):
    """Import a module of tests/ by path: other folders' conftest.py shadow the name."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


require = _load("tests_root_conftest", TESTS / "conftest.py").require
_helpers = _load("workflow_helpers", TESTS / "workflow" / "workflow_helpers.py")
COLLECTED, ROOT, SNAKEMAKE, TINY = _helpers.COLLECTED, _helpers.ROOT, _helpers.SNAKEMAKE, _helpers.TINY
pristine_copy, snakemake = _helpers.pristine_copy, _helpers.snakemake

pytestmark = pytest.mark.slurm

# 2 cells x 1 activation x 1 length = 2 jobs (2 radii; the LSTM's with 2 gate biases each).
GRID = {**TINY["grid"], "cell": ["rnn", "lstm"], "activation": ["tanh"], "radius": [0.9, 1.1], "seq_len": [5]}
JOBS = len(GRID["cell"]) * len(GRID["activation"]) * len(GRID["seq_len"])
KEYS = ["cell", "activation", "radius", "recurrent_init", "gate_bias", "seq_len", "seed"]
# Upper bound for the SLURM run; SIGINT (not SIGTERM, which waits for running
# jobs) makes Snakemake cancel its SLURM jobs before it exits.
SLURM_RUN_SECONDS = 150


def _submitted_job_ids(log: str) -> list[str]:
    return re.findall(r"submitted with SLURM jobid (\d+)", log)


def _chosen_partition() -> str:
    """A partition that is not the default one if the cluster has it (scripts/slurm-cluster's has)."""
    names = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True).stdout.split()
    others = [name for name in names if not name.endswith("*")]
    return others[0] if others else names[0].rstrip("*")


def _slurm_jobs(job_ids: list[str]) -> list[str]:
    """'STATE PARTITION' of finished jobs, from squeue (they stay listed for MinJobAge)."""
    result = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%T %P"],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    return result.stdout.splitlines()


def _sorted_table(path):
    table = pq.read_table(path)
    keys = [key for key in KEYS + ["step"] if key in table.column_names]
    return table.schema, table.to_pandas().sort_values(keys).reset_index(drop=True)


def test_slurm_profile_collects_the_same_tables_as_a_local_run(tmp_path):
    require(_helpers.cluster_is_up(), "a running SLURM cluster (scripts/slurm-cluster up)")
    config = {**TINY, "grid": GRID}
    local = pristine_copy(tmp_path / "local", config)
    snakemake(local, "--cores", "2", *COLLECTED)

    cluster = pristine_copy(tmp_path / "cluster", config)
    partition = _chosen_partition()
    run = subprocess.run(
        ["timeout", "-s", "INT", str(SLURM_RUN_SECONDS), str(SNAKEMAKE)]
        + ["--workflow-profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2"]
        + list(COLLECTED),
        cwd=cluster,
        env={**os.environ, "PYTHONPATH": str(cluster / "src"), "BPTT_SLURM_PARTITION": partition},
        capture_output=True,
        text=True,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"slurm run failed (124: timed out after {SLURM_RUN_SECONDS}s):\n{log}"

    # Every experiment job went through SLURM, in the partition asked for, and
    # completed there, as groups of up to group-components per submission;
    # collect is a local rule and ran here.
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    per_submission = profile["group-components"][profile["groups"]["experiment"]]
    job_ids = _submitted_job_ids(log)
    assert len(job_ids) == math.ceil(JOBS / per_submission), log
    assert _slurm_jobs(job_ids) == [f"COMPLETED {partition}"] * len(job_ids)

    for name in COLLECTED:
        local_schema, local_rows = _sorted_table(local / name)
        cluster_schema, cluster_rows = _sorted_table(cluster / name)
        assert cluster_schema.equals(local_schema), name
        assert len(local_rows) > 0, name
        pd.testing.assert_frame_equal(cluster_rows, local_rows, check_exact=True)
