"""The training loop: M networks of one cell kind (one per replicate seed) trained side by side.

Parameters are a dict with the model axis M first: the cell's (`bptt.core.cells.PARAM_NAMES`)
and the readout's, READOUT = (readout_weight V (M, C, H), readout_bias c (M, C)). A step
k = 1 .. steps draws a fresh batch for each model from that model's own generator, takes the
task's loss on y = V h_{T-1} + c (`bptt.train.readout`), the cell's exact gradients from
`bptt.core.gradients.param_grads_from_last_state` with dh_last = dL/dh_{T-1} and the readout's
from `bptt.train.readout`, then clips (`bptt.train.optim.clip`) and updates. Evaluations at steps
0, e, 2e, ... and at the last step measure the loss and the metric on each model's fixed
held-out batch.

Divergence: a model whose training loss, gradients or updated parameters, or whose held-out loss,
are not finite has diverged at that step. It stops there (the step's update is not applied and it
leaves the stack) and the others carry on; its later entries are NaN. The loop never raises on
it: numpy's overflow warnings are silenced where the non-finite values are tested right after.

A sweep in one stack: the models may differ in weights (radius, gate bias, initialisation) as long
as they share the cell's kind and activation, and each may have its own learning rate (an (M,)
array). With `stop_solved` = f, a model whose evaluation solves the task (`bptt.train.tasks.solved`
with fraction f) stops there, its parameters as they were at that evaluation: a solved model costs
nothing more, so a study's budget goes to the models still learning.
"""

import functools
from typing import NamedTuple

import numpy as np

from bptt.core import cells, gradients
from bptt.train import engine, optim, readout, tasks

READOUT = ("readout_weight", "readout_bias")
ENGINES = ("core", "fast")
PARAM_NAMES = cells.PARAM_NAMES + READOUT


class Settings(NamedTuple):
    steps: int  # N, training steps
    batch_size: int  # B, sequences per step and model
    eval_interval: int  # e, steps between evaluations
    optimizer: str  # one of bptt.train.optim.NAMES
    learning_rate: float | np.ndarray  # one for every model, or (M,), one per model
    clip: float | None  # the clipping threshold c, None for no clipping
    stop_solved: float | None = None  # a model stops at its first evaluation that solves the task with this fraction
    engine: str = "core"  # ENGINES: the gradients of bptt.core.gradients, or bptt.train.engine's (checked against them)


class History(NamedTuple):
    eval_step: np.ndarray  # (E,) steps of the evaluations: 0, e, 2e, ..., N
    eval_loss: np.ndarray  # (E, M) held-out loss
    eval_metric: np.ndarray  # (E, M) held-out metric (MSE or accuracy)
    train_loss: np.ndarray  # (N, M) loss of step k's batch (row k-1), before its update
    grad_norm: np.ndarray  # (N, M) ||g|| of step k before clipping
    clipped: np.ndarray  # (N, M) bool: step k's gradient was clipped
    diverged_step: np.ndarray  # (M,) the step at which the model diverged, -1 if it did not
    stopped_step: np.ndarray  # (M,) the evaluation step at which a solved model stopped (stop_solved), -1 if none


def eval_steps(steps: int, interval: int) -> np.ndarray:
    """Steps 0, interval, 2 interval, ... and `steps` itself: (E,) ints."""
    return np.unique(np.append(np.arange(0, steps + 1, interval), steps))


def loss_and_grads(kind: str, activation: str, params: dict, task: tasks.Task, x: np.ndarray, target: np.ndarray):
    """(loss (M,), grads dict like params) of the batch-mean loss for x (T, M, B, I), target (M, B, ...).

    One forward and one backward pass (`bptt.core.gradients.param_grads_from_last_state`: dh_last is
    taken from h_{T-1} of the core's own forward pass). A model whose forward pass leaves float64,
    or whose loss or dh_last is not finite, gets NaN: that is its divergence.
    """
    m = x.shape[1]
    loss = np.full(m, np.nan)
    grads = {k: np.full_like(params[k], np.nan) for k in READOUT}
    bad = np.zeros(m, dtype=bool)

    def head(h_last, models):  # dL/dh_{T-1} of the models whose forward pass stayed finite
        with np.errstate(over="ignore", invalid="ignore"):
            out = readout.loss_and_grads(
                task.loss,
                h_last,
                params["readout_weight"][models],
                params["readout_bias"][models],
                target[models],
                task.loss_scale,
            )
            loss[models] = out.loss.mean(axis=1)  # L, the batch mean
        grads["readout_weight"][models], grads["readout_bias"][models] = out.weight, out.bias
        ok = np.isfinite(loss[models]) & np.isfinite(out.dh_last).all(axis=(1, 2))
        bad[models] = ~ok
        return np.where(ok[:, None, None], out.dh_last, 0.0)  # 0 stands in where the model diverged

    cell = cells.Cell(kind, activation, {k: params[k] for k in cells.PARAM_NAMES})
    cell_grads, _ = gradients.param_grads_from_last_state(cell, x, head)
    for g in cell_grads.values():
        g[bad] = np.nan
    return loss, cell_grads | grads


def fast_loss_and_grads(
    kind: str,
    activation: str,
    params: dict,
    task: tasks.Task,
    x: np.ndarray,
    target: np.ndarray,
    workspace: engine.Workspace | None = None,
):
    """`loss_and_grads` with `bptt.train.engine`'s forward and backward passes; a model whose
    numbers leave float64 gets a non-finite loss or gradient, which the loop takes as divergence.
    workspace: the engine's arrays, kept from one step to the next (fresh ones without it)."""
    trace = engine.forward(kind, activation, params, x, workspace)
    with np.errstate(over="ignore", invalid="ignore"):
        out = readout.loss_and_grads(
            task.loss, trace["h"][-1], params["readout_weight"], params["readout_bias"], target, task.loss_scale
        )
        cell_grads = engine.backward(kind, activation, params, trace, out.dh_last)
        return out.loss.mean(axis=1), cell_grads | {"readout_weight": out.weight, "readout_bias": out.bias}


def evaluate(
    kind: str, activation: str, params: dict, task: tasks.Task, x: np.ndarray, target: np.ndarray, fast: bool = False
):
    """(loss (M,), metric (M,)) on a held-out batch x (T, M, B, I), target (M, B, ...): no gradients.

    fast: the forward pass of `bptt.train.engine` rather than the core's."""
    with np.errstate(over="ignore", invalid="ignore"):
        if fast:
            h_last = engine.forward(kind, activation, params, x)["h"][-1]
        else:
            h_last = cells.forward(cells.Cell(kind, activation, {k: params[k] for k in cells.PARAM_NAMES}), x)[-1]
        out = readout.loss_and_grads(
            task.loss, h_last, params["readout_weight"], params["readout_bias"], target, task.loss_scale
        )
        return out.loss.mean(axis=1), tasks.metric(task, out.y, target)


def _rows(tree, index: np.ndarray):
    """The rows `index` of every array in a nested dict (numbers, such as Adam's step, as they are)."""
    if isinstance(tree, dict):
        return {k: _rows(v, index) for k, v in tree.items()}
    return tree[index] if isinstance(tree, np.ndarray) else tree


def _put(tree, index: np.ndarray, rows):
    """`tree` with the rows `index` of its arrays replaced by `rows` (a tree of the same shape)."""
    if isinstance(tree, dict):
        return {k: _put(v, index, rows[k]) for k, v in tree.items()}
    if not isinstance(tree, np.ndarray):
        return rows
    tree[index] = rows
    return tree


def _batches(task, rngs, index, seq_len, batch_size):
    """x (T, M', B, I) and target (M', B, ...) of the models `index`, each from its own generator."""
    drawn = [tasks.batch(task, rngs[i], seq_len, batch_size) for i in index]
    return np.stack([x for x, _ in drawn], axis=1), np.stack([t for _, t in drawn])


def train(
    kind: str,
    activation: str,
    params: dict[str, np.ndarray],
    task: tasks.Task,
    seq_len: int,
    rngs: list[np.random.Generator],
    eval_batch: tuple[np.ndarray, np.ndarray],
    settings: Settings,
) -> tuple[History, dict[str, np.ndarray]]:
    """Train the M = len(rngs) models of `params` (see the module docstring): (History, final params).

    eval_batch: (x (T, M, B', I), target (M, B', ...)), each model's fixed held-out batch. The
    final params of a diverged model are the last finite ones, before the step that diverged.
    """
    optim.check(settings.optimizer, settings.learning_rate)
    seq_len = tasks.check_length(task, seq_len)
    m, n = len(rngs), settings.steps
    if np.ndim(settings.learning_rate) and len(settings.learning_rate) != m:
        raise ValueError(f"learning_rate has {len(settings.learning_rate)} entries for {m} models")
    params = {k: np.array(params[k], dtype=np.float64) for k in PARAM_NAMES}
    state = optim.init_state(settings.optimizer, params)
    at = eval_steps(n, settings.eval_interval)
    eval_loss, eval_metric = np.full((len(at), m), np.nan), np.full((len(at), m), np.nan)
    train_loss, grad_norm = np.full((n, m), np.nan), np.full((n, m), np.nan)
    clipped = np.zeros((n, m), dtype=bool)
    diverged_step, stopped_step = np.full(m, -1), np.full(m, -1)
    active = np.arange(m)
    rate = np.asarray(settings.learning_rate, dtype=np.float64)
    if settings.engine not in ENGINES:
        raise ValueError(f"unknown engine {settings.engine!r}; allowed: {', '.join(ENGINES)}")
    fast = settings.engine == "fast"
    step = functools.partial(fast_loss_and_grads, workspace=engine.Workspace()) if fast else loss_and_grads

    def evaluate_active(row: int) -> None:
        """Evaluation `row` of the models still training; one whose held-out loss is not finite diverges."""
        nonlocal active
        x, target = eval_batch[0][:, active], eval_batch[1][active]
        loss, metric = evaluate(kind, activation, _rows(params, active), task, x, target, fast)
        finite = np.isfinite(loss)
        eval_loss[row, active[finite]], eval_metric[row, active[finite]] = loss[finite], metric[finite]
        diverged_step[active[~finite]] = at[row]
        active = active[finite]
        if settings.stop_solved is not None:
            done = tasks.solved(task, eval_metric[row, active], settings.stop_solved)
            stopped_step[active[done]] = at[row]
            active = active[~done]

    evaluate_active(0)
    for k in range(1, n + 1):
        if not len(active):
            break
        x, target = _batches(task, rngs, active, seq_len, settings.batch_size)
        loss, grads = step(kind, activation, _rows(params, active), task, x, target)
        grads, norm, clip_now = optim.clip(grads, settings.clip)
        with np.errstate(over="ignore", invalid="ignore"):
            new, new_state = optim.update(
                settings.optimizer,
                _rows(params, active),
                grads,
                _rows(state, active),
                rate[active] if rate.ndim else settings.learning_rate,
            )
        ok = (
            np.isfinite(loss)
            & np.isfinite(norm)
            & np.logical_and.reduce([np.isfinite(v.reshape(len(v), -1)).all(axis=1) for v in new.values()])
        )
        train_loss[k - 1, active], grad_norm[k - 1, active], clipped[k - 1, active] = loss, norm, clip_now
        params = _put(params, active[ok], _rows(new, np.flatnonzero(ok)))
        state = _put(state, active[ok], _rows(new_state, np.flatnonzero(ok)))
        diverged_step[active[~ok]] = k
        active = active[ok]
        if k in at and len(active):
            evaluate_active(int(np.searchsorted(at, k)))
    history = History(at, eval_loss, eval_metric, train_loss, grad_norm, clipped, diverged_step, stopped_step)
    return history, params
