"""The slurm profile on a real SLURM: submissions sized from the estimate, the same collected tables as a local run.

Needs a running cluster (`scripts/slurm-cluster up`, which .ci/run does): skips
on a machine without one, fails in CI.
"""

import importlib.util
import os
import pathlib
import re
import subprocess

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bptt.pipeline import grid, resources

TESTS = pathlib.Path(__file__).parents[1]


def _load(name, path):
    """Import a module of tests/ by path: other folders' conftest.py shadow the name."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


require = _load("tests_root_conftest", TESTS / "conftest.py").require
_helpers = _load("workflow_helpers", TESTS / "workflow" / "workflow_helpers.py")
COLLECTED, SNAKEMAKE, TINY = _helpers.COLLECTED, _helpers.SNAKEMAKE, _helpers.TINY
pristine_copy, snakemake = _helpers.pristine_copy, _helpers.snakemake

pytestmark = pytest.mark.slurm

# 2 cells x 1 activation x 2 lengths = 4 jobs of mixed cost: the LSTM's at T = 400 with its
# Jacobian diagnostics at H = 128 is estimated at several times a submission's overhead (25 s on
# a loaded machine; a faster one estimates less, hence the margin) and goes alone; the two at
# T = 5, estimated at milliseconds, share one (with the Elman RNN's at T = 400, estimated at a
# few seconds, unless a slow machine estimates it above a submission's overhead).
GRID = {
    **TINY["grid"],
    "cell": ["rnn", "lstm"],
    "activation": ["tanh"],
    "radius": [0.9, 1.1],
    "seq_len": [5, 400],
    "gate_bias": [0.0],
}
CONFIG = {**TINY, "grid": GRID, "hidden_size": 128}
EXPENSIVE = ("lstm", "tanh", 400)
KEYS = ["cell", "activation", "radius", "recurrent_init", "gate_bias", "seq_len", "seed"]
# Upper bound for the SLURM run; SIGINT (not SIGTERM, which waits for running
# jobs) makes Snakemake cancel its SLURM jobs before it exits.
SLURM_RUN_SECONDS = 400


def _submissions(log: str) -> dict[str, pathlib.Path]:
    """SLURM job id -> the SLURM log path Snakemake printed for it."""
    return {i: pathlib.Path(p) for i, p in re.findall(r"submitted with SLURM jobid (\d+) \(log: (.+?)\)", log)}


def _jobs_in(slurm_log: pathlib.Path) -> list[tuple[str, str, int]]:
    """(cell, activation, seq_len) of every experiment job a submission's log shows it ran."""
    found = re.findall(r"wildcards: cell=(\w+), activation=(\w+), seq_len=(\d+)", slurm_log.read_text())
    return sorted({(c, a, int(t)) for c, a, t in found})


def _measured(copy: pathlib.Path, job) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of an experiment job, from its benchmark file."""
    row = pd.read_csv(copy / "benchmarks/experiment/{}/{}/T{}.tsv".format(*job), sep="\t").iloc[0]
    return float(row["s"]), float(row["max_rss"])


def _chosen_partition() -> str:
    """A partition that is not the default one if the cluster has it (scripts/slurm-cluster's has)."""
    names = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True).stdout.split()
    others = [name for name in names if not name.endswith("*")]
    return others[0] if others else names[0].rstrip("*")


def _slurm_jobs(job_ids: list[str]) -> dict[str, dict]:
    """Finished jobs' state, partition, time limit (minutes), memory request (MB), nice value and name,
    from squeue (they stay listed for MinJobAge)."""
    result = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(job_ids), "-o", "%i %T %P %l %m %y %j"],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    jobs = {}
    for line in result.stdout.splitlines():
        job_id, state, partition, limit, memory, nice, name = line.split()
        hours_minutes = [int(x) for x in limit.split("-")[-1].split(":")][:-1]  # [h:]mm:ss -> minutes
        minutes = hours_minutes[-1] + (60 * hours_minutes[0] if len(hours_minutes) == 2 else 0)
        jobs[job_id] = {
            "state": state,
            "partition": partition,
            "minutes": minutes,
            "mem_mb": float(memory.rstrip("M")),
            "nice": int(nice),
            "name": name,
        }
    return jobs


def _sorted_table(path):
    table = pq.read_table(path)
    keys = [key for key in KEYS + ["step"] if key in table.column_names]
    return table.schema, table.to_pandas().sort_values(keys).reset_index(drop=True)


def test_slurm_profile_sizes_submissions_from_the_estimate_and_collects_the_local_tables(tmp_path):
    require(_helpers.cluster_is_up(), "a running SLURM cluster (scripts/slurm-cluster up)")
    local = pristine_copy(tmp_path / "local", CONFIG)
    snakemake(local, "--cores", "2", *COLLECTED)

    cluster = pristine_copy(tmp_path / "cluster", CONFIG)
    partition = _chosen_partition()
    run = subprocess.run(
        ["timeout", "-s", "INT", str(SLURM_RUN_SECONDS), str(SNAKEMAKE)]
        + ["--workflow-profile", "profiles/slurm"]
        + list(COLLECTED),
        cwd=cluster,
        env={**os.environ, "PYTHONPATH": str(cluster / "src"), "BPTT_SLURM_PARTITION": partition},
        capture_output=True,
        text=True,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"slurm run failed (124: timed out after {SLURM_RUN_SECONDS}s):\n{log}"

    # Every experiment job went through SLURM exactly once, in the partition asked for, and its
    # submission's log is where Snakemake said; collect is a local rule and ran here.
    submissions = _submissions(log)
    held = {job_id: _jobs_in(path) for job_id, path in submissions.items()}
    all_jobs = sorted(job for jobs in held.values() for job in jobs)
    assert all_jobs == sorted(grid.jobs(GRID)), log
    slurm = _slurm_jobs(list(submissions))
    assert {job["state"] for job in slurm.values()} == {"COMPLETED"}
    assert {job["partition"] for job in slurm.values()} == {partition}
    # squeue names them after the profile's prefix and the run's id (one run, one id).
    assert len({job["name"] for job in slurm.values()}) == 1 and next(iter(slurm.values()))["name"].startswith("bptt_")

    # No submission holds more work than its estimate allows: the expensive job alone, the cheap
    # ones together within the target, and each submission's time limit and memory cover what its
    # jobs took (their benchmark files).
    assert [EXPENSIVE] in held.values(), held
    assert any({("lstm", "tanh", 5), ("rnn", "tanh", 5)} <= set(jobs) for jobs in held.values()), held
    for job_id, jobs in held.items():
        seconds, peaks = zip(*(_measured(cluster, job) for job in jobs))
        assert sum(seconds) <= 60 * slurm[job_id]["minutes"], (jobs, seconds, slurm[job_id])
        assert max(peaks) <= slurm[job_id]["mem_mb"], (jobs, peaks, slurm[job_id])
        if len(jobs) > 1:
            assert sum(seconds) + len(jobs) * resources.JOB_IN_GROUP_SECONDS <= resources.TARGET_SECONDS
    # Longest first: the expensive job's submission has the lowest nice, the shared one the next.
    nice = {tuple(jobs): slurm[job_id]["nice"] for job_id, jobs in held.items()}
    assert nice[(EXPENSIVE,)] == min(nice.values()) == 0 and len(set(nice.values())) == len(nice), nice

    # The plugin's warning about a missing account is explained once, before the first submission.
    assert log.count("bptt: no SLURM account given") == (0 if os.environ.get("BPTT_SLURM_ACCOUNT") else 1), log

    # The closing message names what this run built: the two tables asked for.
    closing = log.split("bptt: done. Outputs")[1].splitlines()[1:3]
    assert sorted(pathlib.Path(line.strip()) for line in closing) == sorted(cluster / name for name in COLLECTED)

    for name in COLLECTED:
        local_schema, local_rows = _sorted_table(local / name)
        cluster_schema, cluster_rows = _sorted_table(cluster / name)
        assert cluster_schema.equals(local_schema), name
        assert len(local_rows) > 0, name
        pd.testing.assert_frame_equal(cluster_rows, local_rows, check_exact=True)


def test_slurm_profile_keeps_a_grid_not_worth_one_submission_here(tmp_path):
    require(_helpers.cluster_is_up(), "a running SLURM cluster (scripts/slurm-cluster up)")
    local = pristine_copy(tmp_path / "local", TINY)
    snakemake(local, "--cores", "2", *COLLECTED)

    cluster = pristine_copy(tmp_path / "cluster", TINY)
    env = {**os.environ, "PYTHONPATH": str(cluster / "src")}
    env.pop("BPTT_SLURM_ACCOUNT", None)
    run = subprocess.run(
        ["timeout", "-s", "INT", str(SLURM_RUN_SECONDS), str(SNAKEMAKE), "--workflow-profile", "profiles/slurm"]
        + list(COLLECTED),
        cwd=cluster,
        env=env,
        capture_output=True,
        text=True,
    )
    log = run.stdout + run.stderr
    assert run.returncode == 0, f"slurm run failed (124: timed out after {SLURM_RUN_SECONDS}s):\n{log}"
    # Every job was cheap and all of them less than a submission's worth: none went to SLURM, the
    # run said why, and the note on SLURM accounts (for submissions) was not printed.
    assert "localrule experiment:" in log and "submitted with SLURM jobid" not in log, log
    # All at once, as far as Snakemake's pool allows: the profile's one-CPU cap on a submission
    # (cpus_per_task, scoped local) does not hold local jobs back to one at a time.
    assert f"Execute {len(grid.jobs(TINY['grid']))} jobs..." in log, log
    assert re.search(r"bptt: the \d+ experiment jobs are estimated at \d+ s of work in all", log), log
    assert "no SLURM account given" not in log, log
    for name in COLLECTED:
        assert len(_sorted_table(local / name)[1]) > 0, name
        pd.testing.assert_frame_equal(
            _sorted_table(cluster / name)[1], _sorted_table(local / name)[1], check_exact=True
        )
