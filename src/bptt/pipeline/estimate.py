"""What a config will cost on the machine at hand, estimated at planning time before any job starts.

Every rule whose work grows with the config is counted: the experiment jobs (with `loss_at: every`
as well), rule theory and the training jobs. Each estimate is a count of the work, from the
config's sizes, times a cost per unit of work timed here, on this machine, with one BLAS thread
(as every job runs), on small fixed problems: planning costs the same whatever the sizes.

- An experiment job's step (`step_costs`): the gradient (a few products of the whole batch with U,
  O(M B G H^2)), the Jacobian diagnostics (for M x jacobian_batch sequences, a product of n x n
  matrices and two symmetric eigenvalue problems, O(n^3), n = H or 2H) and numpy's fixed cost per call.
- `loss_at: every` (`every_step_costs`): `bptt.core.sources` carries one adjoint row per source, so
  step k of the backward sweep moves M J (T - k) rows: M J T^2 / 2 row-steps in all, and T sweep steps.
- Rule theory (`theory_seconds`): the mean-field functions at every radius of the curve, and a
  LARGE_H network's forward and backward pass at each of the grid's radii.
- A training job (`train_seconds`): (steps + evaluations) x T time-steps of a stack of seeds x batch rows.

Times are in seconds, memory in bytes. Jobs are shared among the cores.
"""

import argparse
import functools
import math
import os
import time

import numpy as np
from threadpoolctl import ThreadpoolController

from bptt.core import cells, sources
from bptt.pipeline import clipping_grid, experiment, grid, study_cost, theory, training_grid
from bptt.theory import meanfield

KINDS = {"rnn": (1, 1), "lstm": (4, 2), "gru": (3, 1)}  # blocks of U, parts of the state
# numpy calls per step of the backward and forward sweep, at a few microseconds each.
CALLS_PER_STEP = 40
_MEASURED_N = 96  # the eigenvalue problems and products are timed at n <= this, scaled as n^3 beyond
_MEASURED_ROWS = 256  # the batch products are timed at <= this many rows, scaled linearly beyond
_MEASURED_H = 32  # the real sweeps are timed at H <= this, their work scaled as H^2 beyond
_TRAIN_SMALL_H, _TRAIN_LARGE_H = 16, 64  # training is timed at these H (or below) and scaled as a + b H^2
_LAG_ROWS = 16  # rows (window steps x sequences) per sum into G_tau when memory bounds the window
_MEASURED_MODELS = 8  # networks stacked in the timed sweeps: a stack's rows share each numpy call
# Bytes per float64, and per state-step of a stacked forward trace: each step keeps the state, the
# pre-activations of every block and their slopes (a conservative count for every cell).
_F8 = 8


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's BLAS and OpenMP pools, found once: finding them walks every loaded library (about
    6 ms), and planning times a few hundred small problems."""
    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread, as every job does (`threads: 1`)."""
    return _blas().limit(limits=1)


def _seconds(fn, repeat: int = 3) -> float:
    """The smallest of `repeat` timings of fn(), with one BLAS thread."""
    best = np.inf
    with one_blas_thread():
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
    return best


def _linear(time_of, small: int, large: int) -> tuple[float, float]:
    """(a, b) of time_of(n) = a + b n through n = small and large (b >= 0, a >= 0)."""
    t_small, t_large = time_of(small), time_of(large)
    b = max(t_large - t_small, 0.0) / (large - small)
    return max(t_small - b * small, 0.0), b


def step_costs(hidden_size: int, samples: int, n_blocks: int, state_parts: int) -> dict[str, float]:
    """Seconds per step: "call" (one numpy call), "gradient" (products of `samples` sequences with U)
    and "jacobian" (per sequence: the n x n product and two eigenvalue problems), measured here at
    capped sizes (at most _MEASURED_ROWS rows, H <= _MEASURED_N) and scaled to the given ones."""
    rng = np.random.default_rng(0)
    n = state_parts * hidden_size
    small = np.ones(4)
    rows, h = min(samples, _MEASURED_ROWS), min(hidden_size, _MEASURED_N)
    x, u = rng.standard_normal((rows, h)), rng.standard_normal((h, n_blocks * h))
    m = min(n, _MEASURED_N)
    gram = rng.standard_normal((8, m, m))
    gram = gram @ gram.transpose(0, 2, 1)
    eig = _seconds(lambda: np.linalg.eigvalsh(gram)) / 8 * (n / m) ** 3
    product = _seconds(lambda: gram @ gram) / 8 * (n / m) ** 3
    # forward, backward and the weight-gradient products
    gradient = 5 * _seconds(lambda: x @ u) * (samples / rows) * (hidden_size / h) ** 2
    return {"call": _seconds(lambda: small * small), "gradient": gradient, "jacobian": 2 * eig + 2 * product}


@functools.cache
def every_step_costs(cell: str, hidden_size: int) -> dict[str, float]:
    """Seconds of `bptt.core.sources.source_profile` (the work `loss_at: every` adds to a job): "step"
    per step of its sweep and "row" per row-step (one source's adjoint row through one step), timed on
    one sequence of each of _MEASURED_MODELS networks at H <= _MEASURED_H and scaled as H^2 beyond."""
    h, m = min(hidden_size, _MEASURED_H), _MEASURED_MODELS
    stack = cells.stack(
        [
            cells.make(cell, input_size=2, hidden_size=h, activation="tanh", radius=1.0, rng=np.random.default_rng(i))
            for i in range(m)
        ]
    )
    rng = np.random.default_rng(1)

    def sweep(n_steps: int) -> None:
        x, dh = rng.standard_normal((n_steps, m, 1, 2)), rng.standard_normal((n_steps, m, 1, h))
        sources.source_profile(stack, x, dh, np.zeros((n_steps, m, 1)))

    # time(T) = a T + m b T^2 / 2, so time(T) / T = a + (m b / 2) T: a line through T = 16 and 160, far
    # enough apart that the slope is not a difference of two near-equal timings
    # (fastest of 5, so that a burst of load on a shared machine does not flatten it).
    a, slope = _linear(lambda t: _seconds(lambda: sweep(t), 5) / t, 16, 160)
    # One window's sum into G_tau (M, H, T, G*H) touches all of it: per entry of G, at n_g entries
    # (64 MB: beyond the caches, as G is once the window is bounded by memory).
    blocks, n_g = KINDS[cell][0], 2**23
    g = np.zeros((m, h, n_g // (m * h * blocks * h), blocks * h))
    h_rows, terms = np.ones((m, h, _LAG_ROWS)), np.ones((m, _LAG_ROWS, g[0, 0].size))
    lag = _seconds(lambda: g.__iadd__((h_rows @ terms).reshape(g.shape)), 2) / g.size
    return {"step": a, "row": 2 * slope / m * (hidden_size / h) ** 2, "lag": lag}


def every_step_seconds(cell: str, hidden_size: int, models: int, samples: int, seq_len: int) -> float:
    """Seconds that `loss_at: every` adds to a job of `models` networks, `samples` = jacobian_batch
    sequences each (the sources' sweep runs over those), at T = seq_len."""
    cost, rows_u = every_step_costs(cell, hidden_size), KINDS[cell][0] * hidden_size
    windows = math.ceil(seq_len / sources._window_steps(seq_len, models, samples, rows_u))
    return (
        seq_len * cost["step"]
        + models * samples * seq_len**2 / 2 * cost["row"]
        + windows * models * hidden_size * seq_len * rows_u * cost["lag"]
    )


@functools.cache
def theory_costs(activation: str) -> dict[str, float]:
    """Seconds of rule theory per radius for `activation`: "curve" (the mean-field functions at one
    radius), "critical" (the critical radius, once: a bisection to adjacent floats, ~64 evaluations
    of chi_1 for tanh and sigmoid, closed-form for the others) and "measured" (`theory.measured_rate`,
    timed at an eighth and a quarter of theory.LARGE_H and scaled as a + b n^2, its products with U,
    plus U's orthogonal draw, a QR timed at n = _MEASURED_N and scaled as n^3)."""
    n, m, quarter = theory.LARGE_H, _MEASURED_N, theory.LARGE_H // 4
    a = np.random.default_rng(0).standard_normal((m, m))
    chi1 = _seconds(lambda: meanfield.chi1(activation, 1.0, input_variance=1.0))
    curve = _seconds(
        lambda: [f(activation, 1.0, input_variance=1.0) for f in (meanfield.q_star, meanfield.gradient_rate)]
    )
    bisection = 64 if activation in ("tanh", "sigmoid") else 0
    # time(n) = a + b n^2 through n = LARGE_H / 8 and / 4 (the fixed cost of its calls, and its products)
    fixed, per = _linear(
        lambda n2: _seconds(lambda: theory.measured_rate(activation, 1.0, 1.0, math.isqrt(n2)), 1),
        (quarter // 2) ** 2,
        quarter**2,
    )
    rate = fixed + per * n**2
    return {
        "curve": curve + chi1,
        "critical": bisection * chi1,
        "measured": rate + _seconds(lambda: np.linalg.qr(a)) * (n / m) ** 3,
    }


def theory_seconds(activations: list[str], n_radii: int) -> float:
    """Seconds of rule theory for `activations` and the grid's `n_radii` radii."""
    return sum(
        theory_costs(a)["critical"]
        + (n_radii + theory.CURVE_POINTS) * theory_costs(a)["curve"]
        + n_radii * theory_costs(a)["measured"]
        for a in activations
    )


@functools.cache
def _train_calibration(cell: str, hidden_size: int) -> tuple[float, float, float]:
    """(fixed, per sequence, per held-out sequence) seconds of `bptt.train.loop` per time-step of a training
    step, or of an evaluation, at H = hidden_size: timed on the adding task at T = 8, one seed, 2 steps, with
    1 and 64 sequences per step, and 1 and 256 held-out sequences at 2 evaluations."""
    from bptt.pipeline import train  # the job's own entry: its imports are paid only when training is planned

    steps, seq_len = 2, 8

    def run(batch: int, held_out: int = 1) -> None:
        settings = dict(task="adding", model="m", seq_len=seq_len, clip="off", cell=cell, activation="tanh")
        settings |= dict(recurrent_init="orthogonal", radius=1.0, gate_bias="0", num_classes=None, optimizer="adam")
        settings |= dict(learning_rate=0.01, steps=steps, batch_size=batch, eval_interval=steps)
        train.run(argparse.Namespace(**settings, eval_batch_size=held_out, seeds=1, hidden_size=hidden_size))

    fixed, row = _linear(lambda b: _seconds(lambda: run(b), 2) / (steps * seq_len), 1, 64)
    _, held_out = _linear(lambda b: _seconds(lambda: run(1, b), 2) / (2 * seq_len), 1, 256)
    return fixed, row, held_out


def train_costs(cell: str, hidden_size: int) -> dict[str, float]:
    """Seconds of `bptt.train.loop` per time-step: "step" (the fixed part of a training step), "row" (per
    sequence of a training step) and "eval_row" (per held-out sequence of an evaluation). Timed at H =
    hidden_size up to _TRAIN_SMALL_H; beyond, each is a + b H^2 through H = _TRAIN_SMALL_H and
    min(H, _TRAIN_LARGE_H) (numpy's fixed cost per call, and the products)."""
    names = ("step", "row", "eval_row")
    if hidden_size <= _TRAIN_SMALL_H:
        return dict(zip(names, _train_calibration(cell, hidden_size)))
    h1, h2 = _TRAIN_SMALL_H, min(hidden_size, _TRAIN_LARGE_H)
    low, high = _train_calibration(cell, h1), _train_calibration(cell, h2)
    grow = (hidden_size**2 - h1**2) / (h2**2 - h1**2)
    return {k: lo + max(hi - lo, 0.0) * grow for k, lo, hi in zip(names, low, high)}


def train_seconds(
    cell: str,
    hidden_size: int,
    batch_size: int,
    seq_len: int,
    steps: int,
    seeds: int,
    eval_batch_size: int,
    eval_interval: int,
) -> float:
    """Seconds of one training job: `steps` steps of seeds x batch_size sequences of T = seq_len, and its
    evaluations (at 0, every eval_interval steps and the last) on seeds x eval_batch_size sequences."""
    cost = train_costs(cell, hidden_size)
    evaluations = steps // eval_interval + 1 + (steps % eval_interval > 0)  # at 0, every interval, and the last
    return seq_len * (
        steps * (cost["step"] + seeds * batch_size * cost["row"])
        + evaluations * seeds * eval_batch_size * cost["eval_row"]
    )


def train_job_sizes(training: dict, task: str, model: str, seq_len: int) -> dict:
    """The settings `train_seconds` takes for one job of a `training:` section."""
    return {
        "cell": training["models"][model]["cell"],
        "seq_len": seq_len,
        **{k: training[k] for k in ("hidden_size", "batch_size", "steps", "seeds", "eval_batch_size", "eval_interval")},
    }


def training_seconds(training: dict) -> float:
    """Seconds of every job of a config's `training:` section."""
    return sum(train_seconds(**train_job_sizes(training, *job[:3])) for job in training_grid.jobs(training))


def experiment_parts(config: dict, cell: str, seq_len: int) -> dict[str, float]:
    """Seconds of one experiment job of `cell` at `seq_len` (one core, any activation), by kind of work
    ("call", "gradient", "jacobian", "every")."""
    batch, jacobians = config["batch_size"], config["jacobian_batch"]
    models = len(grid.points(config["grid"], cell)) * config["seeds"]
    if not models:
        return {}
    cost = step_costs(config["hidden_size"], models * batch, *KINDS[cell])
    parts = {
        "call": seq_len * CALLS_PER_STEP * cost["call"],
        "gradient": seq_len * cost["gradient"],
        "jacobian": seq_len * models * jacobians * cost["jacobian"],
    }
    if config["loss_at"] == "every":
        parts["every"] = every_step_seconds(cell, config["hidden_size"], models, jacobians, seq_len)
    return parts


def estimate(config: dict, cores: int) -> dict:
    """Estimated seconds of the jobs of `config` on `cores` cores ("seconds"), and the part each kind of
    work takes ("shares", fractions summing to 1)."""
    parts = {"call": 0.0, "gradient": 0.0, "jacobian": 0.0, "every": 0.0, "theory": 0.0, "training": 0.0}
    for cell, _, seq_len in grid.jobs(config["grid"]):
        for kind, seconds in experiment_parts(config, cell, seq_len).items():
            parts[kind] += seconds
    parts["theory"] = theory_seconds(config["grid"]["activation"], len(config["grid"]["radius"]))
    parts["training"] = training_seconds(config["training"])
    parts["clipping"] = clipping_grid.seconds(config, step_costs) if "clipping" in config else 0.0
    if "trainability" in config:  # the study's training jobs (bptt.pipeline.study_cost)
        parts["trainability"] = study_cost.seconds(config["trainability"])
    whole = sum(parts.values())
    return {"seconds": whole / max(cores, 1), "shares": {k: v / max(whole, 1e-12) for k, v in parts.items()}}


def warning(config: dict, cores: int, limit: float = 600.0) -> str | None:
    """A message naming the estimate and what drives it when the jobs would take over `limit` s."""
    found = estimate(config, cores)
    if found["seconds"] <= limit:
        return None
    shares = found["shares"]
    n = config["hidden_size"] * (2 if "lstm" in config["grid"]["cell"] else 1)
    text = (
        f"bptt: this config's jobs are estimated at {found['seconds'] / 60:.0f} minutes on this machine "
        f"with {cores} core(s). Of that, the Jacobian diagnostics take {shares['jacobian']:.0%} "
        f"({config['jacobian_batch']} sequence(s) per seed, {n} x {n} matrices at every step; they grow like "
        f"hidden_size^3), the gradients {shares['gradient'] + shares['call']:.0%}, loss_at: every "
        f"{shares['every']:.0%} (grows like seq_len^2), rule theory {shares['theory']:.0%} (grows with the "
        f"radii) and the training section {shares['training']:.0%} (grows like steps x seq_len x batch_size)."
    )
    if shares["jacobian"] > 0.5:
        text += " Set jacobian_batch: 0 (or 1) in config.yaml to cut most of it."
    return text + " Press Ctrl-C now to change the config; finished jobs are kept either way."


def _row_step_bytes(cell: str, hidden_size: int, input_size: int) -> int:
    """Bytes a forward and backward pass keeps per sequence and time-step: the input and its batch's copy,
    and per block of U and part of the state their values, slopes and adjoints (held within a factor of
    2 of tracemalloc's peak of training jobs by tests/pipeline/test_estimate.py)."""
    blocks, parts = KINDS[cell]
    return _F8 * (2 * input_size + hidden_size * (5 * blocks + 4 * parts))


def train_peak_bytes(
    cell: str,
    hidden_size: int,
    input_size: int,
    batch_size: int,
    seq_len: int,
    steps: int,
    seeds: int,
    eval_batch_size: int,
    eval_interval: int,
) -> int:
    """Peak bytes of one training job: its held-out batch, the larger of a training step's and an
    evaluation's pass, the history (per step and per evaluation) and the parameters with Adam's state."""
    per_row = _row_step_bytes(cell, hidden_size, input_size) * seq_len
    blocks = KINDS[cell][0]
    params = 4 * seeds * _F8 * (blocks * hidden_size * (hidden_size + input_size + 2) + input_size * (hidden_size + 1))
    history = steps * seeds * (3 * _F8 + 1) + (steps // eval_interval + 2) * (1 + 2 * seeds) * _F8
    held_out = seeds * eval_batch_size * seq_len * input_size * _F8
    return held_out + max(batch_size, eval_batch_size) * seeds * per_row + history + params


def training_peak_bytes(training: dict) -> dict[tuple, int]:
    """Peak bytes of every job of a config's `training:` section, by job (task, model, seq_len, clip)."""
    return {
        # recall reads one-hot symbols, adding (value, marker)
        job: train_peak_bytes(
            **train_job_sizes(training, *job[:3]), input_size=training["tasks"][job[0]].get("num_classes", 2)
        )
        for job in training_grid.jobs(training)
    }


def machine_bytes() -> int:
    """This machine's physical memory in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def experiment_peak_bytes(
    cell: str,
    hidden_size: int,
    input_size: int,
    batch_size: int,
    seq_len: int,
    points: int,
    seeds: int,
    jacobian_batch: int,
    loss_at: str,
) -> int:
    """Peak bytes of one experiment job of `points` grid points and `seeds` seeds: its seeds run in groups
    whose inputs stay within experiment._STACK_BYTES (as `experiment.run` groups them); a group keeps
    its forward and backward pass and the Jacobian diagnostics' few n x n matrices per measured sequence
    (n the state's size), and with loss_at every the per-lag sweep of `bptt.core.sources` over
    jacobian_batch sequences (pair norms T x T, G_tau T x G H x H, and a window buffer) as well."""
    models = points * min(seeds, experiment.seeds_per_stack(seq_len, points, batch_size, input_size, hidden_size))
    peak = models * batch_size * seq_len * _row_step_bytes(cell, hidden_size, input_size)
    n = KINDS[cell][1] * hidden_size
    peak += 4 * _F8 * models * jacobian_batch * n * n
    if loss_at == "every":
        rows_u = KINDS[cell][0] * hidden_size
        peak += models * batch_size * seq_len * hidden_size * _F8  # dL_t/dh_t at every step
        peak += models * jacobian_batch * seq_len * (seq_len * _F8 + 2 * rows_u * (hidden_size + 1) * _F8)
        window = sources._window_steps(seq_len, models, jacobian_batch, rows_u)  # steps of the window's buffer
        peak += (2 * hidden_size + window * jacobian_batch) * models * seq_len * rows_u * _F8
    return peak


def job_peak_bytes(config: dict, cell: str, seq_len: int) -> int:
    """`experiment_peak_bytes` of one experiment job of a config (defaults filled in), any activation."""
    return experiment_peak_bytes(
        cell,
        config["hidden_size"],
        config["input_size"],
        config["batch_size"],
        seq_len,
        len(grid.points(config["grid"], cell)),
        config["seeds"],
        config["jacobian_batch"],
        config["loss_at"],
    )


def experiments_peak_bytes(config: dict) -> dict[tuple, int]:
    """Peak bytes of every experiment job of a config, by job (cell, activation, seq_len)."""
    return {job: job_peak_bytes(config, job[0], job[2]) for job in grid.jobs(config["grid"])}
