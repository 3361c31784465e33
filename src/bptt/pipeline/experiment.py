"""One job of the grid: every point of one cell, activation and sequence length, all seeds.

    python -m bptt.pipeline.experiment --cell lstm --activation tanh --seq-len 100 \\
        --radius 0.5 1 1.5 --recurrent-init orthogonal --gate-bias 0 1 chrono --seeds 3 \\
        --batch-size 4 --hidden-size 16 --input-size 8 --input-scale 1 \\
        --loss cross_entropy --num-classes 10 --jacobian-batch 1 --output results/runs/lstm/tanh/T100.npz

The points (radius x initialisation x gate bias, see `bptt.pipeline.grid`) and seeds run as
one stack of networks through one forward and one backward sweep (`bptt.core.gradients.profile`):
for each seed (draws as in `bptt.pipeline.seeding`) the networks share inputs, targets, readout
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
import math
import os
import sys

import numpy as np

from bptt.core import activations, cells, gradients, loss, sources
from bptt.pipeline import atomic, grid, seeding

# What the .npz holds: P points, S seeds, T steps. The names are the column names of the
# collected tables (bptt.pipeline.tables).
POINT_ARRAYS = ("radius", "recurrent_init", "gate_bias")  # (P,); gate_bias "" for the Elman cell
STEP_ARRAYS = ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step")  # (P, S, T)
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


def last_finite_state(h: np.ndarray) -> np.ndarray:
    """h_{s-1} for hidden states h (T, M, B, H), s the first step with a non-finite value in the
    model's batch (T if none), per model: (M, B, H); zeros where s = 0.

    A linear or ReLU network with rho > 1 can overflow on a long sequence;
    bptt.core.gradients.profile then flags it and differentiates up to the state before the
    overflow, so the loss is taken there too.
    """
    finite = np.isfinite(h).all(axis=(2, 3))  # (T, M)
    s = np.where(finite.all(axis=0), len(h), np.argmin(finite, axis=0))  # (M,)
    last = h[np.maximum(s - 1, 0), np.arange(h.shape[1])]
    return np.where((s > 0)[:, None, None], last, 0.0)


def models(args: argparse.Namespace, points: list, seed: int) -> list[cells.Cell]:
    """The networks of one seed, one per point (radius, recurrent_init, gate_bias)."""
    return [
        cells.make(
            args.cell,
            input_size=args.input_size,
            hidden_size=args.hidden_size,
            activation=args.activation,
            radius=radius,
            rng=seeding.rng(seed, args.cell),
            recurrent_init=init,
            gate_bias=0.0 if bias is None else (bias if bias == grid.CHRONO else float(bias)),
            chrono_t_max=max(args.seq_len, 3),
        )
        for radius, init, bias in points
    ]


def last_step_loss(args, h: np.ndarray, readout: np.ndarray, seeds: list[int], p: int) -> tuple:
    """The loss on the readout of the last (finite) state, for states h (T, M, B, H) and readouts
    (M, C, H): (dL/dh_last mantissa (M, B, H), log10 scale (M, B), measurable (M, B), mean loss (M,))."""
    target = np.repeat(
        [seeding.targets(seed, args.loss, args.batch_size, args.num_classes) for seed in seeds], p, axis=0
    )
    graded = [loss.loss_and_grad(args.loss, last, v, t) for last, v, t in zip(last_finite_state(h), readout, target)]
    scale = np.array([g.log10_scale for g in graded])  # NaN where the readout itself left float64
    return np.array([g.dh_last for g in graded]), scale, np.isfinite(scale), np.array([g.loss.mean() for g in graded])


def every_step_loss(args, h: np.ndarray, readout: np.ndarray, seeds: list[int], p: int) -> tuple:
    """The seed's L = sum_t L_t, a loss on the readout of every state, for states h (T, M, B, H) and
    readouts (M, C, H): (dL_t/dh_t mantissa (T, M, B, H), log10 scale (T, M, B), measurable (M, B),
    mean over the batch of sum_t L_t (M,)). Only the steps before an overflow count, as for the gradients."""
    targets = [seeding.step_targets(seed, args.loss, args.seq_len, args.batch_size, args.num_classes) for seed in seeds]
    graded = [loss.at_every_step(args.loss, h[:, m], readout[m], targets[m // p]) for m in range(h.shape[1])]
    finite = np.isfinite(h).all(axis=(2, 3))  # (T, M)
    before = np.cumprod(finite, axis=0).astype(bool)[..., None]  # (T, M, 1): steps before the model's overflow
    scale = np.stack([g.log10_scale for g in graded], axis=1)
    measurable = (np.isfinite(scale) | ~before).all(axis=0)
    with np.errstate(invalid="ignore"):  # inf - inf past an overflow: not counted
        total = np.where(before, np.stack([g.loss for g in graded], axis=1), 0.0).sum(axis=0)
    return np.stack([g.dh_last for g in graded], axis=1), scale, measurable, total.mean(axis=1)


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


def run_stack(args, points: list, seeds: list[int]) -> dict[str, np.ndarray]:
    """STEP_ARRAYS and LAG_ARRAYS (P, S', T) and SEED_ARRAYS (P, S') of `points` for `seeds`, as one stack."""
    p, s, b = len(points), len(seeds), args.batch_size
    stack = cells.stack([m for seed in seeds for m in models(args, points, seed)])  # model = seed-major
    x = np.repeat(
        np.stack([seeding.inputs(seed, args.seq_len, b, args.input_size, args.input_scale) for seed in seeds], axis=1),
        p,
        axis=1,
    )
    readout = np.repeat([seeding.readout(seed, args.num_classes, args.hidden_size) for seed in seeds], p, axis=0)
    every = args.loss_at == "every"
    dh, scale, measurable, losses = (every_step_loss if every else last_step_loss)(
        args, cells.forward(stack, x), readout, seeds, p
    )
    prof = gradients.profile(
        stack,
        x,
        dh,
        np.where(np.isfinite(scale), scale, 0.0),
        jacobian_samples=args.jacobian_batch,
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
    rows = np.arange(args.seq_len)[None, :] < np.where(overflow_step >= 0, overflow_step, args.seq_len)[:, None]
    lost = np.logical_or.reduce([np.isnan(v) for v in steps.values()]) & rows  # (M, T): NaN before any overflow
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
        steps |= lag_arrays(stack, x, dh, scale, measurable, overflow_step, args.jacobian_batch)
    # Model m = seed index * P + point index: (M, ...) -> (P, S', ...).
    return {k: v.reshape(s, p, *v.shape[1:]).swapaxes(0, 1) for k, v in {**steps, **per_seed}.items()}


def seeds_per_stack(seq_len: int, n_points: int, batch_size: int, input_size: int, hidden_size: int) -> int:
    """Seeds swept side by side (at least 1): as many as keep the stack's inputs and states within _STACK_BYTES."""
    per_seed = 8 * seq_len * n_points * batch_size * (input_size + hidden_size)
    return max(1, _STACK_BYTES // per_seed)


def run(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The job's record: RECORD's arrays over its points, seeds 0 .. args.seeds-1 and steps.

    log10_grad_c is left out for cells without a cell state (rnn, gru).
    """
    points = grid.points(
        {"radius": args.radius, "recurrent_init": args.recurrent_init, "gate_bias": args.gate_bias}, args.cell
    )
    group = seeds_per_stack(args.seq_len, len(points), args.batch_size, args.input_size, args.hidden_size)
    parts = [run_stack(args, points, list(range(s, min(s + group, args.seeds)))) for s in range(0, args.seeds, group)]
    record = {k: np.concatenate([part[k] for part in parts], axis=1) for k in parts[0]}
    return record | {
        "radius": np.array([r for r, _, _ in points]),
        "recurrent_init": np.array([i for _, i, _ in points]),
        "gate_bias": np.array(["" if b is None else b for _, _, b in points]),
        "seed": np.arange(args.seeds),
        "loss_at": np.array(args.loss_at),
    }


def write(record: dict[str, np.ndarray], path: str) -> None:
    """Save `record` as .npz at `path`, atomically (its folder is created if need be)."""
    with atomic.replacing(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **record)


def at_least(minimum: int):
    """An argparse type: an integer >= minimum, else a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value

    return parse


def positive(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def gate_bias(text: str) -> str:
    """An argparse type: a finite number (spelled as `bptt.pipeline.grid.gate_bias_text` spells it) or chrono."""
    if text == grid.CHRONO:
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number or {grid.CHRONO}, got {text}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number or {grid.CHRONO}, got {text}")
    return grid.gate_bias_text(value)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", choices=activations.NAMES, required=True)
    parser.add_argument("--seq-len", type=at_least(1), required=True, help="T")
    parser.add_argument("--radius", type=positive, nargs="+", required=True, help="spectral radii rho of U")
    parser.add_argument("--recurrent-init", nargs="+", choices=("orthogonal", "gaussian", "identity"), required=True)
    parser.add_argument("--gate-bias", type=gate_bias, nargs="+", required=True, help=f"numbers, or {grid.CHRONO}")
    parser.add_argument("--seeds", type=at_least(1), required=True, help="run seeds 0 .. SEEDS-1")
    parser.add_argument("--batch-size", type=at_least(1), required=True)
    parser.add_argument("--hidden-size", type=at_least(1), required=True)
    parser.add_argument("--input-size", type=at_least(1), required=True)
    parser.add_argument("--input-scale", type=positive, required=True)
    parser.add_argument("--loss", choices=loss.NAMES, required=True)
    parser.add_argument(
        "--loss-at", choices=("last", "every"), default="last", help="one loss on the last state, or one at every step"
    )
    parser.add_argument("--num-classes", type=at_least(2), required=True)
    parser.add_argument(
        "--jacobian-batch", type=at_least(0), required=True, help="sequences per seed with Jacobian diagnostics"
    )
    parser.add_argument("--output", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    if args.jacobian_batch > args.batch_size:
        parser.error(f"--jacobian-batch {args.jacobian_batch} exceeds --batch-size {args.batch_size}")
    if not grid.points(
        {"radius": args.radius, "recurrent_init": args.recurrent_init, "gate_bias": args.gate_bias}, args.cell
    ):
        parser.error(
            f"--recurrent-init {' '.join(args.recurrent_init)} and --gate-bias give --cell {args.cell} no point"
        )
    return args


def report(record: dict[str, np.ndarray]) -> list[str]:
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
                counts = {k: np.isnan(record[k][p, s, :n]).sum() for k in STEP_ARRAYS if k in record}
                which = ", ".join(f"{k} at {c}" for k, c in counts.items() if c)
                lines.append(
                    f"{point}, seed {seed}: {lost} of {before} are not measurable ({which}; gates or slopes"
                    " beyond float64)"
                )
            elif step >= 0:
                lines.append(f"{point}, seed {seed}: the forward pass overflowed float64 at step {step}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    record = run(args)
    write(record, args.output)
    # Snakemake sets the BLAS threads from the rule's `threads:` (1): said here, for the log.
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "the library default")
    print("\n".join([f"wrote {args.output} (BLAS threads: {threads})", *report(record)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
