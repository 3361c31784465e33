"""One clipping-study job: every learning rate of plain SGD for one model and clip setting.

    python -m bptt.pipeline.clipping --model irnn --clip 10 --cell rnn --activation relu \\
        --recurrent-init identity --radius 1 --gate-bias 0 --seq-len 30 --learning-rate 0.001 0.01 0.1 \\
        --steps 200 --batch-size 16 --eval-batch-size 128 --seeds 8 --hidden-size 16 \\
        --perturbed-seeds 4 --perturbation 1e-12 --output results/clipping/irnn/clip-10.npz

Pascanu et al.'s setting: the adding problem, plain SGD (no momentum), clip "off" or the threshold c
(g <- c g / ||g|| when ||g|| > c). Per learning rate, one stack of M = seeds + perturbed_seeds networks
trains side by side (`bptt.train.loop`): seeds 0 .. S-1 as the training jobs draw them
(`bptt.pipeline.train.initial_params`), then seeds 0 .. P-1 again with every initial weight scaled by
1 + perturbation * noise, the noise standard normal from the seed's "perturbation" stream (one draw per
parameter, in `bptt.train.loop.PARAM_NAMES` order). A copy sees its seed's batches and held-out batch, so it
differs from its original by the perturbation alone. A member whose loss, gradient or weights leave float64
stops there (`nonfinite_step`); the job carries on. The record is one .npz, written atomically.
"""

import argparse
import dataclasses
import sys

import numpy as np

from bptt.core import activations, cells, initialisation
from bptt.pipeline import cli, seeding
from bptt.pipeline.cli import at_least, gate_bias, positive
from bptt.pipeline.train import _clip, _model_name, initial_params
from bptt.pipeline.training_grid import OFF
from bptt.train import loop, tasks

TASK = "adding"
OPTIMIZER = "sgd"
KEYS = ("model", "clip", "optimizer", "cell", "activation", "recurrent_init", "radius", "gate_bias", "seq_len")
# Per learning rate l (L), step k (N) and member m (M): what the loop recorded.
RUNS = (
    "learning_rate",  # (L,)
    "seed",  # (M,) each member's seed
    "perturbation",  # (M,) 0 for the original, the relative size for a perturbed copy
    "initial_loss",  # (L, M) held-out loss at initialisation
    "final_loss",  # (L, M) held-out loss after the last step; NaN if the member left float64
    "train_loss",  # (L, N, M) loss of step k's batch, before its update
    "grad_norm",  # (L, N, M) ||g|| of step k before clipping
    "clipped",  # (L, N, M) bool, step k's gradient was clipped
    "nonfinite_step",  # (L, M) the step at which the member left float64, -1 if it did not
)
RECORD = KEYS + RUNS


@dataclasses.dataclass(frozen=True)
class Settings:
    """One clipping job's settings, as its command line gives them (see the module's docstring)."""

    model: str
    clip: str  # off, or the threshold spelled canonically
    cell: str
    activation: str
    recurrent_init: str
    radius: float
    gate_bias: str  # a number spelled by bptt.pipeline.grid.gate_bias_text, or chrono
    seq_len: int
    learning_rate: tuple[float, ...]
    steps: int
    batch_size: int
    eval_batch_size: int
    seeds: int
    hidden_size: int
    perturbed_seeds: int
    perturbation: float


def perturbed(params: dict[str, np.ndarray], seeds: int, scale: float) -> dict[str, np.ndarray]:
    """Copies of the first `seeds` members of `params` (model axis first), each entry times 1 + scale * noise."""
    rngs = [seeding.rng(s, "perturbation") for s in range(seeds)]
    return {
        name: np.stack(
            [params[name][s] * (1 + scale * rngs[s].standard_normal(params[name][s].shape)) for s in range(seeds)]
        )
        for name in loop.PARAM_NAMES
    }


def run(args: Settings) -> dict[str, np.ndarray]:
    """The job's record (RECORD)."""
    task = tasks.get(TASK)
    original = initial_params(args, task)
    copies = perturbed(original, args.perturbed_seeds, args.perturbation)
    params = {k: np.concatenate([original[k], copies[k]]) for k in loop.PARAM_NAMES}
    seed = np.concatenate([np.arange(args.seeds), np.arange(args.perturbed_seeds)])
    held_out = [tasks.batch(task, seeding.rng(int(s), "eval_batch"), args.seq_len, args.eval_batch_size) for s in seed]
    eval_batch = (np.stack([x for x, _ in held_out], axis=1), np.stack([t for _, t in held_out]))
    histories = []
    for rate in args.learning_rate:
        settings = loop.Settings(
            steps=args.steps,
            batch_size=args.batch_size,
            eval_interval=args.steps,  # held-out loss at initialisation and after the last step only
            optimizer=OPTIMIZER,
            learning_rate=rate,
            clip=None if args.clip == OFF else float(args.clip),
        )
        rngs = [seeding.rng(int(s), "train_batches") for s in seed]
        histories.append(
            loop.train(args.cell, args.activation, params, task, args.seq_len, rngs, eval_batch, settings)[0]
        )
    keys = {k: np.array(OPTIMIZER if k == "optimizer" else getattr(args, k)) for k in KEYS}
    return keys | {
        "learning_rate": np.array(args.learning_rate, dtype=np.float64),
        "seed": seed,
        "perturbation": np.where(np.arange(len(seed)) < args.seeds, 0.0, args.perturbation),
        "initial_loss": np.stack([h.eval_loss[0] for h in histories]),
        "final_loss": np.stack([h.eval_loss[-1] for h in histories]),
        "train_loss": np.stack([h.train_loss for h in histories]),
        "grad_norm": np.stack([h.grad_norm for h in histories]),
        "clipped": np.stack([h.clipped for h in histories]),
        "nonfinite_step": np.stack([h.diverged_step for h in histories]),
    }


def parse_args(argv: list[str] | None) -> tuple[Settings, str]:
    """The job's settings and the path of its record."""
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.clipping", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=_model_name, required=True, help="the model's name in the config")
    parser.add_argument("--clip", type=_clip, required=True, help="off, or the clipping threshold c > 0")
    parser.add_argument("--cell", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", choices=activations.NAMES, required=True)
    parser.add_argument("--recurrent-init", choices=initialisation.METHODS, required=True)
    parser.add_argument("--radius", type=positive, required=True, help="spectral radius rho of U")
    parser.add_argument("--gate-bias", type=gate_bias, required=True, help="a number, or chrono")
    parser.add_argument("--seq-len", type=at_least(2), required=True, help="T of the adding problem")
    parser.add_argument("--learning-rate", type=positive, nargs="+", required=True, help="plain SGD's rates")
    parser.add_argument("--steps", type=at_least(1), required=True)
    parser.add_argument("--batch-size", type=at_least(1), required=True)
    parser.add_argument("--eval-batch-size", type=at_least(1), required=True)
    parser.add_argument("--seeds", type=at_least(1), required=True, help="train seeds 0 .. SEEDS-1")
    parser.add_argument("--hidden-size", type=at_least(1), required=True)
    parser.add_argument("--perturbed-seeds", type=at_least(0), required=True, help="seeds run again, perturbed")
    parser.add_argument("--perturbation", type=positive, required=True, help="relative size of the perturbation")
    parser.add_argument("--output", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    if args.perturbed_seeds > args.seeds:
        parser.error(f"--perturbed-seeds {args.perturbed_seeds} exceeds --seeds {args.seeds}")
    settings = cli.settings(Settings, args)
    try:  # what the core refuses, in its words, before any work
        initial_params(dataclasses.replace(settings, seeds=1), tasks.get(TASK))
    except ValueError as error:
        parser.error(str(error))
    return settings, args.output


def main(argv: list[str] | None = None) -> int:
    args, output = parse_args(argv)
    record = run(args)
    cli.write(record, output)
    bad = (record["nonfinite_step"] >= 0).sum(axis=1)
    print(
        f"{args.model} clip={args.clip}: per learning rate {dict(zip(args.learning_rate, bad.tolist()))} of "
        f"{len(record['seed'])} members left float64; {int(record['clipped'].sum())} clipped steps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
