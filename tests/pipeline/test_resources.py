"""Cluster requests and groups from the cost estimate (bptt.pipeline.resources)."""

import math
import pathlib
import subprocess
import sys

import pytest
import yaml

from bptt.pipeline import resources

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "workflow"))
import workflow_helpers  # noqa: E402

# The grid, with the settings the estimate reads beside it.
REALISTIC = {**workflow_helpers.REALISTIC, "seeds": 3, "input_size": 8, "loss_at": "last"}


def test_cheap_jobs_share_submissions_up_to_the_target_and_expensive_ones_go_alone():
    costs = {"big": 300.0, "overhead": resources.CHEAP_SECONDS, **{f"small{i}": 1.0 for i in range(30)}}
    submissions = resources.pack(costs)
    assert ["big"] in submissions and ["overhead"] in submissions
    shared = [s for s in submissions if s not in (["big"], ["overhead"])]
    assert sorted(j for s in shared for j in s) == sorted(f"small{i}" for i in range(30))
    for members in shared:
        assert sum(costs[j] + resources.JOB_IN_GROUP_SECONDS for j in members) <= resources.TARGET_SECONDS
    # First fit: no two shared submissions would fit in one.
    loads = sorted(sum(costs[j] + resources.JOB_IN_GROUP_SECONDS for j in s) for s in shared)
    assert loads[0] + loads[1] > resources.TARGET_SECONDS


def test_plan_groups_only_jobs_estimated_below_a_submission_and_names_them():
    plans = resources.plan(REALISTIC)
    assert len(plans) == 6
    for (cell, activation, seq_len), plan in plans.items():
        assert (plan.group is None) == (plan.seconds >= resources.CHEAP_SECONDS)
        assert plan.runtime * 60 >= resources.TIME_HEADROOM * plan.seconds
        if plan.group is not None:
            assert f"{cell}-{activation}-T{seq_len}" in plan.group
    # The LSTM holds more per step than the Elman RNN: it is asked more memory.
    assert plans[("lstm", "tanh", 1500)].mem_mb > plans[("rnn", "tanh", 1500)].mem_mb


def test_submissions_start_longest_first():
    plans = resources.plan(REALISTIC)
    work = {}  # nice -> the submission's estimated seconds
    for plan in plans.values():
        work[plan.nice] = work.get(plan.nice, 0.0) + plan.seconds
    # One rank per submission, 0, 1, 2, ..., given in order of decreasing work.
    assert sorted(work) == list(range(len(work)))
    assert [work[n] for n in sorted(work)] == sorted(work.values(), reverse=True)
    # A group's jobs share their submission's rank.
    for group in {p.group for p in plans.values() if p.group}:
        assert len({p.nice for p in plans.values() if p.group == group}) == 1


def test_a_grid_not_worth_one_submission_runs_here():
    def plans(*seconds):
        return {job: resources.JobPlan(s, 100, 11, None, job) for job, s in enumerate(seconds)}

    cheap = resources.CHEAP_SECONDS / 2
    assert resources.run_here(plans(cheap, cheap))
    # One job worth a submission of its own: the grid goes to the cluster.
    assert not resources.run_here(plans(cheap, resources.CHEAP_SECONDS))
    # All cheap, but a submission's worth of work in all: grouped on the cluster.
    enough = math.ceil(resources.TARGET_SECONDS / cheap)
    assert not resources.run_here(plans(*[cheap] * enough))
    assert resources.run_here(plans(*[cheap] * (enough - 1)))
    # The grid is submitted; the default one (48 jobs of about a second) runs here.
    assert not resources.run_here(resources.plan(REALISTIC))
    assert resources.run_here(resources.plan(yaml.safe_load((workflow_helpers.ROOT / "config.yaml").read_text())))


def test_the_group_name_lists_its_jobs_and_stays_short():
    jobs = [("rnn", "tanh", t) for t in range(10)]
    assert resources.group_name(jobs[:2]) == "experiment_rnn-tanh-T0_rnn-tanh-T1"
    assert resources.group_name(jobs).endswith("_and-7-more")


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_memory_request_covers_a_jobs_measured_peak(cell, tmp_path):
    """A job of a few hundred MB, run here: its peak RSS stays within the request and above a quarter of it
    (the request is the planning-time memory estimate, an upper envelope held within 3x of a job's
    traced peak by tests/pipeline/test_estimate.py, with 1.25x headroom)."""
    config = {
        **REALISTIC,
        "grid": {**REALISTIC["grid"], "cell": [cell], "activation": ["tanh"], "seq_len": [400]},
        "seeds": 2,
        "hidden_size": 96,
    }
    # The job's own peak RSS, VmHWM of its address space as the job's process reports it: getrusage's
    # maxrss would count the test session (RUSAGE_CHILDREN: its largest child; RUSAGE_SELF: the forked copy
    # of pytest, whose peak Linux carries across exec).
    job = "import re, sys; from bptt.pipeline import experiment; experiment.main(sys.argv[1:]); "
    job += "print(re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read())[1])"
    done = subprocess.run(
        [sys.executable, "-c", job, "--cell", cell, "--activation", "tanh"]
        + ["--seq-len", "400", "--radius", "0.9", "1.0", "1.1", "--recurrent-init", "orthogonal"]
        + ["--gate-bias", "0.0", "--seeds", "2", "--batch-size", "16", "--hidden-size", "96", "--input-size", "8"]
        + ["--input-scale", "1.0", "--loss", "cross_entropy", "--num-classes", "10", "--jacobian-batch", "0"]
        + ["--output", str(tmp_path / "run.npz")],
        check=True,
        capture_output=True,
        text=True,
        env={"OPENBLAS_NUM_THREADS": "1", "PATH": "", "PYTHONPATH": ":".join(sys.path)},
    )
    peak_mb = int(done.stdout.split()[-1]) / 1024
    request = resources.plan(config)[(cell, "tanh", 400)].mem_mb
    assert peak_mb <= request
    assert request <= 4 * peak_mb
