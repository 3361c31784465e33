"""One job of the grid: every point of one cell, activation and sequence length, all seeds.

    python -m bptt.pipeline.experiment --cell lstm --activation tanh --seq-len 100 \\
        --radius 0.5 1 1.5 --recurrent-init orthogonal --gate-bias 0 1 chrono --seeds 3 \\
        --batch-size 4 --hidden-size 16 --input-size 8 --input-scale 1 \\
        --loss cross_entropy --num-classes 10 --jacobian-batch 1 --output results/runs/lstm/tanh/T100.npz

The points (radius x initialisation x gate bias, see `bptt.pipeline.grid`) and seeds run as
one stack of networks through one forward and one backward sweep (`bptt.core.gradients.profile`):
for each seed (drawn by `bptt.pipeline.networks`) the networks share inputs, targets, readout
and base weights. The loss is taken on a readout of the last hidden state, or with --loss-at every
on a readout of every state (L = sum_t L_t, the seed's loss; targets drawn per step). Recorded: per
step the medians over the batch (for the Jacobian diagnostics, over its first --jacobian-batch
sequences), per seed the constants (`RECORD`), and with --loss-at every the per-lag LAG_ARRAYS of
those sequences' sources; written as one .npz,
atomically, so a killed job leaves no partial file. `bptt.pipeline.collect` makes Parquet of it.

Process start-up is paid once per job, so this module imports numpy and the core only: no
pyarrow, pandas, matplotlib or snakemake.
"""

import argparse
import dataclasses
import os
import sys

import numpy as np

from bptt.core import activations, cells, gradients, jacobian, loss, sources
from bptt.pipeline import cli, grid, networks, seeding

# What the .npz holds: P points, S seeds, T steps. The names are the column names of the
# collected tables (bptt.pipeline.tables).
POINT_ARRAYS = ("radius", "recurrent_init", "gate_bias")  # (P,); gate_bias "" for the Elman cell
STEP_ARRAYS = ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step")  # (P, S, T)
# Measured only with --jacobian-batch >= 1 and at jacobian.measured_lags; NaN elsewhere is not lost.
JACOBIAN = ("log10_jac", "gamma_step")
SEED_ARRAYS = (
    "log10_grad_norm_weight_ih",
    "log10_grad_norm_weight_hh",
    "log10_grad_norm_bias_ih",
    "log10_grad_norm_bias_hh",
    "spectral_radius",
    "spectral_norm",
    "gamma_bound",
    "overflow",
    "overflow_step",
    "unmeasurable_steps",
    "loss",
)  # (P, S)
# With loss_at every (else absent): per lag tau, at index T-1-tau (P, S, T); see `lag_arrays`.
LAG_ARRAYS = ("log10_source_grad", "log10_lag_grad")
RECORD = POINT_ARRAYS + ("seed", "loss_at") + STEP_ARRAYS + SEED_ARRAYS  # loss_at: "last" or "every", 0-d
# Networks swept side by side at most, so that one job's inputs stay within ~256 MB.
_STACK_BYTES = 256 * 2**20


@dataclasses.dataclass(frozen=True)
class Settings:
    """One job's settings, as its command line gives them (see the module's docstring)."""

    cell: str
    activation: str
    seq_len: int
    radius: tuple[float, ...]
    recurrent_init: tuple[str, ...]
    gate_bias: tuple[str, ...]  # numbers spelled by bptt.pipeline.grid.gate_bias_text, or chrono
    seeds: int
    batch_size: int
    hidden_size: int
    input_size: int
    input_scale: float
    loss: str
    loss_at: str  # last or every
    num_classes: int
    jacobian_batch: int

    def points(self) -> list:
        """The job's points (radius, recurrent_init, gate_bias), as `bptt.pipeline.grid.points` gives them."""
        return grid.points(
            {"radius": self.radius, "recurrent_init": self.recurrent_init, "gate_bias": self.gate_bias}, self.cell
        )


def lag_arrays(stack, x, dh, scale, measurable, overflow_step, samples: int) -> dict[str, np.ndarray]:
    """LAG_ARRAYS (M, T) of a loss at every step, from `bptt.core.sources` over each model's first
    `samples` sequences, at index T-1-tau for lag tau (like the step arrays, whose lag is T-1-k):
    log10_source_grad the median over t (and the sequences) of log10 ||dL_t/dh_{t-tau}||, and
    log10_lag_grad log10 ||G_tau||_F. NaN for a model that overflowed or is not measurable there."""
    n_steps, n_models = x.shape[:2]
    out = {name: np.full((n_models, n_steps), np.nan) for name in LAG_ARRAYS}
    idx = np.flatnonzero((overflow_step < 0) & measurable[:, :samples].all(axis=1)) if samples else []
    if len(idx) == 0:
        return out
    sub = cells.Cell(stack.kind, stack.activation, {k: v[idx] for k, v in stack.params.items()})
    part = sources.source_profile(sub, x[:, idx, :samples], dh[:, idx, :samples], scale[:, idx, :samples])
    for tau in range(n_steps):
        pairs = np.diagonal(part.log10_source_grad_h, offset=-tau, axis1=0, axis2=1)  # (M', samples, T - tau)
        out["log10_source_grad"][idx, n_steps - 1 - tau] = np.median(pairs.reshape(len(idx), -1), axis=1)
    out["log10_lag_grad"][idx] = part.log10_lag_grad[::-1].T
    return out


def measured(jacobian_batch: int) -> tuple[str, ...]:
    """The STEP_ARRAYS a job asks for: the Jacobian diagnostics only with jacobian_batch >= 1."""
    return tuple(k for k in STEP_ARRAYS if jacobian_batch or k not in JACOBIAN)


def run_stack(settings: Settings, points: list, seeds: list[int]) -> dict[str, np.ndarray]:
    """STEP_ARRAYS and LAG_ARRAYS (P, S', T) and SEED_ARRAYS (P, S') of `points` for `seeds`, as one stack."""
    p, s, b = len(points), len(seeds), settings.batch_size
    sizes = {"input_size": settings.input_size, "hidden_size": settings.hidden_size, "seq_len": settings.seq_len}
    stack = cells.stack(  # model = seed-major
        [m for seed in seeds for m in networks.models(settings.cell, settings.activation, points, seed, **sizes)]
    )
    x = np.repeat(
        np.stack(
            [seeding.inputs(seed, settings.seq_len, b, settings.input_size, settings.input_scale) for seed in seeds],
            axis=1,
        ),
        p,
        axis=1,
    )
    readout = np.repeat(
        [seeding.readout(seed, settings.num_classes, settings.hidden_size) for seed in seeds], p, axis=0
    )
    every = settings.loss_at == "every"
    dh, scale, measurable, losses = (networks.every_step_loss if every else networks.last_step_loss)(
        settings.loss, cells.forward(stack, x), readout, seeds, p
    )
    prof = gradients.profile(
        stack,
        x,
        dh,
        np.where(np.isfinite(scale), scale, 0.0),
        jacobian_samples=settings.jacobian_batch,
        jacobian_lags=jacobian.measured_lags(settings.seq_len),
        every_step=every,
    )
    steps = {}
    for name in STEP_ARRAYS:
        values = getattr(prof, name)  # (T, M, B), or (T, M, jacobian_batch) for the Jacobian diagnostics
        if values is not None:
            values = np.where(measurable[None, :, : values.shape[2]], values, np.nan)
            with np.errstate(invalid="ignore"):  # jacobian_batch 0: no sequence, all NaN
                steps[name] = np.median(values, axis=2).T if values.shape[2] else np.full(values.shape[1::-1], np.nan)
    overflow_step = prof.overflow_step
    ends = np.where(overflow_step >= 0, overflow_step, settings.seq_len)
    rows = np.arange(settings.seq_len)[None, :] < ends[:, None]
    # NaN before any overflow in an array that was asked for, at a lag where it is measured.
    at = _jacobian_measured(ends, settings.seq_len)
    lost = np.logical_or.reduce(
        [np.isnan(steps[k]) & (at | (k not in JACOBIAN)) for k in measured(settings.jacobian_batch) if k in steps]
    )
    lost &= rows  # (M, T)
    per_seed = {
        **{
            f"log10_grad_norm_{k}": np.where(measurable.all(axis=1), v, np.nan) for k, v in prof.log10_grad_norm.items()
        },
        "spectral_radius": prof.spectral_radius,
        "spectral_norm": prof.spectral_norm,
        "gamma_bound": np.full(len(overflow_step), prof.gamma_bound),
        "overflow": prof.overflow,
        "overflow_step": overflow_step,
        "unmeasurable_steps": lost.sum(axis=1),
        "loss": losses,
    }
    if every:
        steps |= lag_arrays(stack, x, dh, scale, measurable, overflow_step, settings.jacobian_batch)
    # Model m = seed index * P + point index: (M, ...) -> (P, S', ...).
    return {k: v.reshape(s, p, *v.shape[1:]).swapaxes(0, 1) for k, v in {**steps, **per_seed}.items()}


def seeds_per_stack(seq_len: int, n_points: int, batch_size: int, input_size: int, hidden_size: int) -> int:
    """Seeds swept side by side (at least 1): as many as keep the stack's inputs and states within _STACK_BYTES."""
    per_seed = 8 * seq_len * n_points * batch_size * (input_size + hidden_size)
    return max(1, _STACK_BYTES // per_seed)


def run(settings: Settings) -> dict[str, np.ndarray]:
    """The job's record: RECORD's arrays over its points, seeds 0 .. settings.seeds-1 and steps.

    log10_grad_c is left out for cells without a cell state (rnn, gru).
    """
    points = settings.points()
    group = seeds_per_stack(
        settings.seq_len, len(points), settings.batch_size, settings.input_size, settings.hidden_size
    )
    parts = [
        run_stack(settings, points, list(range(s, min(s + group, settings.seeds))))
        for s in range(0, settings.seeds, group)
    ]
    record = {k: np.concatenate([part[k] for part in parts], axis=1) for k in parts[0]}
    return record | {
        "radius": np.array([r for r, _, _ in points]),
        "recurrent_init": np.array([i for _, i, _ in points]),
        "gate_bias": np.array(["" if b is None else b for _, _, b in points]),
        "seed": np.arange(settings.seeds),
        "loss_at": np.array(settings.loss_at),
    }


def parse_args(argv: list[str] | None) -> tuple[Settings, str]:
    """The job's settings and the .npz to write, or exit 2 with one line naming the bad flag."""
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", choices=activations.NAMES, required=True)
    parser.add_argument("--seq-len", type=cli.at_least(1), required=True, help="T")
    parser.add_argument("--radius", type=cli.positive, nargs="+", required=True, help="spectral radii rho of U")
    parser.add_argument("--recurrent-init", nargs="+", choices=("orthogonal", "gaussian", "identity"), required=True)
    parser.add_argument("--gate-bias", type=cli.gate_bias, nargs="+", required=True, help=f"numbers, or {grid.CHRONO}")
    parser.add_argument("--seeds", type=cli.at_least(1), required=True, help="run seeds 0 .. SEEDS-1")
    parser.add_argument("--batch-size", type=cli.at_least(1), required=True)
    parser.add_argument("--hidden-size", type=cli.at_least(1), required=True)
    parser.add_argument("--input-size", type=cli.at_least(1), required=True)
    parser.add_argument("--input-scale", type=cli.positive, required=True)
    parser.add_argument("--loss", choices=loss.NAMES, required=True)
    parser.add_argument(
        "--loss-at", choices=("last", "every"), default="last", help="one loss on the last state, or one at every step"
    )
    parser.add_argument("--num-classes", type=cli.at_least(2), required=True)
    parser.add_argument(
        "--jacobian-batch", type=cli.at_least(0), required=True, help="sequences per seed with Jacobian diagnostics"
    )
    parser.add_argument("--output", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    if args.jacobian_batch > args.batch_size:
        parser.error(f"--jacobian-batch {args.jacobian_batch} exceeds --batch-size {args.batch_size}")
    settings = cli.settings(Settings, args)
    if not settings.points():
        parser.error(
            f"--recurrent-init {' '.join(args.recurrent_init)} and --gate-bias give --cell {args.cell} no point"
        )
    return settings, args.output


def _jacobian_measured(ends: np.ndarray, n_steps: int) -> np.ndarray:
    """(M, T): the steps whose Jacobian diagnostics are measured, for sequences whose last step is ends - 1 (M,)."""
    return np.isin(ends[:, None] - 1 - np.arange(n_steps)[None], jacobian.measured_lags(n_steps))


def report(record: dict[str, np.ndarray], jacobian_batch: int) -> list[str]:
    """One line per point and seed that overflowed or has unmeasurable steps, for the job's log."""
    lines = []
    for p, radius in enumerate(record["radius"]):
        point = f"radius {radius:g}, {record['recurrent_init'][p]}" + (
            f", gate bias {record['gate_bias'][p]}" if record["gate_bias"][p] else ""
        )
        for s, seed in enumerate(record["seed"]):
            step, lost = record["overflow_step"][p, s], record["unmeasurable_steps"][p, s]
            n = step if step >= 0 else record["log10_grad_h"].shape[2]
            before = f"{n} steps before the overflow" if step >= 0 else f"{n} steps"
            if lost:
                # A step counts when any of its norms is NaN: name which, so a measured one is not doubted.
                at = _jacobian_measured(np.array([n]), record["log10_grad_h"].shape[2])[0, :n]
                counts = {
                    k: (np.isnan(record[k][p, s, :n]) & (at | (k not in JACOBIAN))).sum()
                    for k in measured(jacobian_batch)
                    if k in record
                }
                which = ", ".join(f"{k} at {c}" for k, c in counts.items() if c)
                lines.append(
                    f"{point}, seed {seed}: {lost} of {before} are not measurable ({which}; gates or slopes"
                    " beyond float64)"
                )
            elif step >= 0:
                lines.append(f"{point}, seed {seed}: the forward pass overflowed float64 at step {step}")
    return lines


def main(argv: list[str] | None = None) -> int:
    settings, output = parse_args(argv)
    record = run(settings)
    cli.write(record, output)
    # Snakemake sets the BLAS threads from the rule's `threads:` (1): said here, for the log.
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "the library default")
    print("\n".join([f"wrote {output} (BLAS threads: {threads})", *report(record, settings.jacobian_batch)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
