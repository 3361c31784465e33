"""What each experiment job asks a cluster for, and which jobs share a submission, from the planning-time estimate.

On SLURM every submission costs seconds before its first job starts (sbatch, the scheduler, the
group's own Snakemake) and every job inside a group some more (`srun` and a Snakemake per job);
the plugin runs a group's jobs one after the other. So a job worth a submission's overhead goes
alone, and only cheaper jobs share a submission, packed (largest first) until it holds about
TARGET_SECONDS of work. A job's time and memory requests are its estimate with headroom; a group
asks for the sum of its jobs' times and the largest of their memories. Submissions start longest
first (each gets a SLURM nice value, its rank by estimated work): on a full cluster, a long job
started last would run alone at the end. A grid whose jobs are all cheap and together less than one
submission's worth runs where Snakemake runs, with no submission at all (`run_here`).
"""

import math
from typing import NamedTuple

from bptt.pipeline import estimate, grid

# On scripts/slurm-cluster's node: one submission from sbatch to its first job started (the
# figure of issue 22's runs), and one more job of a group, srun and the job's Snakemake (measured
# from a group's log, docs/benchmarks.md).
SUBMISSION_SECONDS = 6.0
JOB_IN_GROUP_SECONDS = 3.9
# Jobs estimated below one submission's overhead share submissions; a submission is filled up to
# ten overheads of work, so that they cost at most ~10% of its wall time.
CHEAP_SECONDS = SUBMISSION_SECONDS
TARGET_SECONDS = 60.0
# The estimate is timed on the machine that plans, the job runs on a node that may be slower or
# shared, and it misses part of the gated cells' work (it was a third of their CPU time at
# H = 256, T = 1500): the time limit is this many times the estimate, plus a fixed margin.
TIME_HEADROOM = 5.0
TIME_MARGIN_SECONDS = 600.0
# Peak RSS beyond the job's arrays: the interpreter with numpy and bptt loaded.
BASE_MB = 50.0
MEMORY_HEADROOM = 1.25


class JobPlan(NamedTuple):
    """One experiment job's estimate and what it asks the cluster for."""

    seconds: float  # estimated run time on one core of the planning machine
    mem_mb: int  # memory request (peak estimate with headroom)
    runtime: int  # time limit, minutes
    group: str | None  # the group sharing its submission, None for a submission of its own
    nice: int  # SLURM's --nice for its submission: 0 for the longest, then 1, 2, ... (longest first)


def job_seconds(config: dict, cell: str, seq_len: int) -> float:
    """Estimated seconds of one experiment job of `cell` at `seq_len` (`estimate.experiment_parts`)."""
    # Timed as the job runs (threads: 1): a BLAS pool of all cores on a busy machine times a
    # product of a job's sizes 100x slower than one thread does.
    with estimate.one_blas_thread():
        return sum(estimate.experiment_parts(config, cell, seq_len).values())


def peak_mb(config: dict, cell: str, seq_len: int) -> float:
    """Estimated peak resident memory of one job of `cell` at `seq_len`, in MB (2^20 bytes): the
    interpreter with numpy and bptt loaded, and the job's arrays (`estimate.job_peak_bytes`)."""
    return BASE_MB + estimate.job_peak_bytes(config, cell, seq_len) / 2**20


def runtime_minutes(seconds: float) -> int:
    """A time limit in whole minutes for work estimated at `seconds`."""
    return math.ceil((TIME_HEADROOM * seconds + TIME_MARGIN_SECONDS) / 60)


def pack(costs: dict) -> list[list]:
    """Submissions for jobs of estimated `costs` (job -> seconds): lists of jobs, largest first.

    A job of CHEAP_SECONDS or more goes alone; the others fill submissions first-fit, largest
    first, each job counting its cost plus JOB_IN_GROUP_SECONDS, up to TARGET_SECONDS.
    """
    submissions, loads = [], []
    for job in sorted(costs, key=lambda j: -costs[j]):
        work = costs[job] + JOB_IN_GROUP_SECONDS
        if costs[job] < CHEAP_SECONDS:
            fits = [i for i, load in enumerate(loads) if load + work <= TARGET_SECONDS]
            if fits:
                submissions[fits[0]].append(job)
                loads[fits[0]] += work
                continue
        submissions.append([job])
        loads.append(work if costs[job] < CHEAP_SECONDS else math.inf)
    return submissions


def run_here(plans: dict) -> bool:
    """Whether the experiment jobs of `plans` (job -> JobPlan) are not worth one submission: each is
    estimated below a submission's overhead (CHEAP_SECONDS) and all of them together below the work a
    submission is aimed at (TARGET_SECONDS). Grouped, each such job would still cost JOB_IN_GROUP_SECONDS
    of start-up, several times its own work; run where Snakemake runs (a local rule), only its work."""
    costs = [p.seconds for p in plans.values()]
    return max(costs, default=0.0) < CHEAP_SECONDS and sum(costs) < TARGET_SECONDS


def group_name(jobs: list[tuple[str, str, int]]) -> str:
    """A group's name, which squeue shows (in the job's comment): its jobs' cell, activation and length."""
    names = [f"{c}-{a}-T{t}" for c, a, t in jobs]
    shown = names if len(names) <= 4 else names[:3] + [f"and-{len(names) - 3}-more"]
    return "experiment_" + "_".join(shown)


def plan(config: dict) -> dict[tuple[str, str, int], JobPlan]:
    """Every experiment job of `config`, (cell, activation, seq_len) -> its JobPlan."""
    jobs = grid.jobs(config["grid"])
    # Cost is linear in T and alike across activations: one timing per cell.
    per_step = {cell: job_seconds(config, cell, 1) for cell in dict.fromkeys(c for c, _, _ in jobs)}
    costs = {job: per_step[job[0]] * job[2] for job in jobs}
    submissions = sorted(pack(costs), key=lambda members: -sum(costs[job] for job in members))
    plans = {}
    for rank, members in enumerate(submissions):
        name = group_name(members) if len(members) > 1 else None
        for job in members:
            mem = math.ceil(MEMORY_HEADROOM * peak_mb(config, job[0], job[2]))
            plans[job] = JobPlan(costs[job], mem, runtime_minutes(costs[job]), name, rank)
    return plans
