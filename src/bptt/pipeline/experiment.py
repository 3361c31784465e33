"""One grid point, all its seeds: the job behind Snakemake's rule `experiment`.

    python -m bptt.pipeline.experiment --cell lstm --activation tanh --radius 1.1 \
        --seq-len 100 --seeds 3 --batch-size 16 --hidden-size 32 --input-size 8 \
        --recurrent-init orthogonal --input-scale 1 --loss cross_entropy \
        --num-classes 10 --forget-bias 0 --output results/runs/.../x.npz

For each seed (draws as in `bptt.pipeline.seeding`): make the cell, run the batch
forward, take the loss on a readout of the last hidden state, and record in
one backward pass (`bptt.core.gradients.profile`) the per-step norms, medians over
the batch, and the seed's constants. Writes one .npz (see `RECORD`);
`bptt.pipeline.collect` turns the points into Parquet. The output is written
atomically, so a killed job leaves no partial file.

At this grain (hundreds of jobs of tens of milliseconds) process start-up is
the main cost, so this module imports numpy and the numerical core only: no
pyarrow, pandas, matplotlib or snakemake.
"""

import argparse
import math
import sys

import numpy as np

from bptt.core import activations, cells, gradients, initialisation, loss
from bptt.pipeline import atomic, seeding

# What the .npz holds, by shape: S seeds, T steps. The names are the column
# names of the collected tables (bptt.pipeline.tables).
STEP_ARRAYS = ("log10_grad_h", "log10_grad_c", "log10_jac", "log10_dW_hh_contrib", "gamma_step")  # (S, T)
SEED_ARRAYS = (
    "seed",
    "log10_grad_norm_weight_ih",
    "log10_grad_norm_weight_hh",
    "log10_grad_norm_bias_ih",
    "log10_grad_norm_bias_hh",
    "spectral_radius",
    "spectral_norm",
    "gamma_bound",
    "overflow",
    "overflow_step",
    "loss",
)  # (S,)
RECORD = STEP_ARRAYS + SEED_ARRAYS


def last_finite_state(h: np.ndarray) -> np.ndarray:
    """h_{s-1} for hidden states h (T, B, H), s the first step with a non-finite value (T if none).

    A linear or ReLU network with rho > 1 can overflow on a long sequence;
    bptt.core.gradients.profile then flags it and differentiates up to the state
    before the overflow, so the loss is taken there too (zeros if s = 0).
    """
    finite = np.isfinite(h).all(axis=(1, 2))  # (T,)
    s = len(h) if finite.all() else int(np.argmin(finite))
    return h[s - 1] if s > 0 else np.zeros_like(h[0])


def run_seed(args: argparse.Namespace, seed: int) -> dict[str, np.ndarray]:
    """Everything recorded for one seed: STEP_ARRAYS (T,) medians over the batch, SEED_ARRAYS scalars."""
    cell = cells.make(
        args.cell,
        input_size=args.input_size,
        hidden_size=args.hidden_size,
        activation=args.activation,
        radius=args.radius,
        rng=seeding.rng(seed, args.cell),
        recurrent_init=args.recurrent_init,
        forget_bias=args.forget_bias,
    )
    x = seeding.inputs(seed, args.seq_len, args.batch_size, args.input_size, args.input_scale)
    readout = seeding.readout(seed, args.num_classes, args.hidden_size)
    target = seeding.targets(seed, args.loss, args.batch_size, args.num_classes)
    h_last = last_finite_state(cells.forward(cell, x))  # (B, H)
    losses, dh_last = loss.loss_and_grad(args.loss, h_last, readout, target)
    prof = gradients.profile(cell, x, dh_last)
    record = {
        name: np.median(getattr(prof, name), axis=1)  # (T, B) -> (T,)
        for name in STEP_ARRAYS
        if getattr(prof, name) is not None  # log10_grad_c: LSTM only
    }
    record |= {f"log10_grad_norm_{name}": value for name, value in prof.log10_grad_norm.items()}
    record |= {name: getattr(prof, name) for name in ("spectral_radius", "spectral_norm", "gamma_bound", "overflow", "overflow_step")}
    return record | {"seed": seed, "loss": np.mean(losses)}


def run(args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The point's record: each name of RECORD stacked over seeds 0 .. args.seeds-1.

    log10_grad_c is left out for cells without a cell state (rnn, gru).
    """
    per_seed = [run_seed(args, seed) for seed in range(args.seeds)]
    return {name: np.array([r[name] for r in per_seed]) for name in RECORD if name in per_seed[0]}


def write(record: dict[str, np.ndarray], path: str) -> None:
    """Save `record` as .npz at `path`, atomically."""
    with atomic.replacing(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **record)


def _at_least(minimum: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text}")
        return value

    return parse


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.experiment", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", choices=activations.NAMES, required=True)
    parser.add_argument("--radius", type=_positive, required=True, help="spectral radius rho of U")
    parser.add_argument("--seq-len", type=_at_least(1), required=True, help="T")
    parser.add_argument("--seeds", type=_at_least(1), required=True, help="run seeds 0 .. SEEDS-1")
    parser.add_argument("--batch-size", type=_at_least(1), required=True)
    parser.add_argument("--hidden-size", type=_at_least(1), required=True)
    parser.add_argument("--input-size", type=_at_least(1), required=True)
    parser.add_argument("--recurrent-init", choices=initialisation.METHODS, required=True)
    parser.add_argument("--input-scale", type=_positive, required=True)
    parser.add_argument("--loss", choices=loss.NAMES, required=True)
    parser.add_argument("--num-classes", type=_at_least(2), required=True)
    parser.add_argument("--forget-bias", type=_finite, required=True)
    parser.add_argument("--output", required=True, help="the .npz to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.forget_bias != 0 and args.cell != "lstm":
        sys.exit(f"--forget-bias applies to --cell lstm only; got {args.forget_bias} for --cell {args.cell}")
    write(run(args), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
