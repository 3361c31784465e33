"""What the trainability study will cost, estimated at planning time (`bptt.pipeline.estimate` adds it).

A study job's time is its members times its step budget times one step's cost per member, which grows
like T; the budget check's is its members (each model at its chosen rate, every seed) times budget_factor
times the steps at one rung. One stacked step (`bptt.train.loop.fast_loss_and_grads`, the engine the
jobs use) is timed here, on this machine, per stack at the config's hidden size and batch size over
PROBE_STEPS steps, and scaled by T / PROBE_STEPS. That is a bound on every member training every rung
for its whole budget; the study spends a share of it (CLIMBING_SHARE), since a run stops once solved
and a (model, learning rate) pair stops climbing at its first rung with no solved seed, neither of
which is known before the runs.
"""

import functools
import time

import numpy as np

from bptt.core import cells
from bptt.pipeline import study_grid
from bptt.train import loop, tasks

PROBE_STEPS = 8
EVAL_SHARE = 0.1  # evaluations and timescales, on top of the training steps
# The share of the bound the default study used, rounded up: its 65 jobs took 602 s of job CPU (781 s
# user + system with Snakemake's own) against a bound of 3968 s timed in CPU time on the same machine
# (2026-12-06, docs/training.md): 0.15 to 0.20.
CLIMBING_SHARE = 0.2


@functools.lru_cache
def _member_step_seconds(kind: str, activation: str, members: int, hidden: int, batch: int, task: str, classes: int):
    """Seconds of one training step per member over PROBE_STEPS steps of a stack of `members`."""
    spec = tasks.get(task, classes)
    rng = np.random.default_rng(0)
    nets = [
        cells.make(kind, input_size=spec.input_size, hidden_size=hidden, activation=activation, radius=1.0, rng=rng)
    ]
    stack = cells.stack(nets * members).params | {
        "readout_weight": np.zeros((members, spec.output_size, hidden)),
        "readout_bias": np.zeros((members, spec.output_size)),
    }
    drawn = [tasks.batch(spec, rng, PROBE_STEPS, batch) for _ in range(members)]
    x, target = np.stack([d[0] for d in drawn], axis=1), np.stack([d[1] for d in drawn])
    best = np.inf
    for _ in range(2):
        start = time.perf_counter()
        loop.fast_loss_and_grads(kind, activation, stack, spec, x, target)
        best = min(best, time.perf_counter() - start)
    return best / members


def job_seconds(study: dict, task: str, seq_len: int, group: str, members: int, steps: int) -> float:
    """Estimated seconds of one job training `members` of stack `group` for `steps` steps at T = seq_len."""
    kind, activation = group.split("_")
    classes = study["tasks"][task].get("num_classes", 2)
    per = _member_step_seconds(kind, activation, members, study["hidden_size"], study["batch_size"], task, classes)
    return (1 + EVAL_SHARE) * members * steps * per * seq_len / PROBE_STEPS


def seconds(study: dict) -> float:
    """Estimated seconds of every job of the study (study, perturbed and budget-check runs), on one core:
    CLIMBING_SHARE of the bound (see the module's docstring)."""
    per_model = len(study["learning_rates"]) * study["seeds"]
    size = {g: sum(study_grid.group_of(s) == g for s in study["models"].values()) for g in study_grid.groups(study)}
    total = sum(
        job_seconds(study, task, n, group, size[group] * per_model, study["steps"])
        for task, n, group, _ in study_grid.jobs(study)
    )
    for task, group in study_grid.budget_jobs(study):  # at most one rung per model, at most the longest
        longest = max(study["tasks"][task]["seq_len"])
        total += job_seconds(
            study, task, longest, group, size[group] * study["seeds"], study["steps"] * study["budget_factor"]
        )
    return CLIMBING_SHARE * total
