"""One job of the trainability study: every model of one cell kind and activation, every learning
rate and every seed of one (task, T), trained as ONE stack (`bptt.train.loop`).

    python -m bptt.pipeline.trainability --task adding --seq-len 50 --group lstm_tanh \\
        --models lstm_b0=lstm,tanh,orthogonal,1,0 lstm_b1=lstm,tanh,orthogonal,1,1 \\
        --learning-rates 0.001 0.003 0.01 --seeds 5 --steps 600 --batch-size 16 --eval-interval 50 \\
        --eval-batch-size 256 --hidden-size 16 --clip 1 --solved-fraction 0.1 --perturbation 0 \\
        --output results/trainability/adding/T50/lstm_tanh/steps600.npz

Members: every (model, learning rate, seed), in that order. Member (model, lr, seed s) starts from
the network the gradient experiments draw for s (`bptt.pipeline.train.initial_params`' streams:
the cell's weights from the stream of its kind, the readout from "readout"), so the learning rates
of one seed start from the same network and see the same batches ("train_batches" of s) and the
same held-out batch ("eval_batch" of s). With --perturbation e > 0 every initial weight w becomes
w (1 + e z), z standard normal from the stream "perturbation" of s: the robustness test.

Up the ladder (--previous, the record of the rung below): a model and learning rate none of whose
seeds solved the rung below is not trained at this one, and counts as not solving it: the same rule
for every model, so the search stays the same. It assumes that a rate that solves no seed at T solves
none at 2T, and spares those runs the full step budget. A job left with nothing to train writes a
record that says so (SKIPPED), so the longest lengths cost nothing where every model already fails.

A member stops at its first evaluation that solves the task (`loop.Settings.stop_solved`), or where
it diverges (frozen, recorded, never a crash), or after --steps.

The gradient timescale (`timescale`), at initialisation and at the end of training, is measured on
the same networks, on the first TIMESCALE_SEQUENCES sequences of the seed's held-out batch (the
task's own inputs), with the task's own loss through the readout: log10 ||dL/dh_k|| from
`bptt.core.gradients.lag_profile`, its median over the batch at each lag, the least-squares slope
of that against the lag (`bptt.pipeline.collect.decay_slope`), and tau = -1/ln(10^slope) steps
per factor e (inf when the norm does not decay).

The record is one .npz written atomically: a killed job leaves no partial file.
"""

import argparse
import dataclasses
import re
import sys
import warnings

import numpy as np

from bptt.core import activations, cells, gradients, initialisation
from bptt.pipeline import cli, collect, paths, seeding, study_grid
from bptt.pipeline.cli import at_least, positive
from bptt.train import loop, optim, readout, tasks

MODEL_FIELDS = study_grid.MODEL_FIELDS
# Sequences of each held-out batch the timescale is measured on (a lag profile costs more than a step).
TIMESCALE_SEQUENCES = 32
# Per member (M,): what the record holds beside the job's settings and loop.History.
MEMBER = ("model", "learning_rate", "seed", "timescale_init", "timescale_trained")
RECORD = ("task", "seq_len", "group", "steps", "perturbation") + MEMBER + loop.History._fields
SKIPPED = "skipped"  # the key of a record whose models all failed the rung below


@dataclasses.dataclass(frozen=True)
class Settings:
    """One study job's settings, as its command line gives them (see the module's docstring)."""

    task: str
    seq_len: int
    group: str  # cell_activation, the stack's name
    models: tuple[tuple[str, dict], ...]  # (name, spec) in stack order
    num_classes: int | None  # recall only
    learning_rates: tuple[float, ...]
    seeds: int
    steps: int
    batch_size: int
    eval_interval: int
    eval_batch_size: int
    hidden_size: int
    clip: float | None  # the clipping threshold c, None for no clipping
    solved_fraction: float
    perturbation: float  # relative perturbation of the initial weights, 0 for none
    # (model, its own learning rates), instead of learning_rates: the climbers' or the budget check's
    rates: tuple[tuple[str, tuple[float, ...]], ...] = ()


def climbing(args: Settings, previous: dict | None) -> Settings:
    """args with only the (model, learning rate) pairs with a solved run in `previous`, the record of
    the rung below (all of them without one)."""
    if previous is None:
        return args
    solved = set()
    if SKIPPED not in previous:
        done = previous["stopped_step"] >= 0
        solved = set(zip(previous["model"][done].tolist(), previous["learning_rate"][done].tolist()))
    rates = {name: tuple(lr for lr in args.learning_rates if (name, lr) in solved) for name, _ in args.models}
    models = tuple((name, spec) for name, spec in args.models if rates[name])
    return dataclasses.replace(args, models=models, rates=tuple((name, rates[name]) for name, _ in models))


def parse_model(text: str) -> tuple[str, dict]:
    """name=cell,activation,recurrent_init,radius,gate_bias -> (name, spec)."""
    name, _, fields = text.partition("=")
    values = fields.split(",")
    if not name or len(values) != len(MODEL_FIELDS):
        raise argparse.ArgumentTypeError(f"expected name={','.join(MODEL_FIELDS)}, got {text}")
    spec = dict(zip(MODEL_FIELDS, values))
    spec["radius"] = positive(spec["radius"])
    if spec["gate_bias"] != initialisation.CHRONO:
        spec["gate_bias"] = float(spec["gate_bias"])
    return name, spec


def members(args: Settings) -> list[tuple[str, float, int]]:
    """(model, learning rate, seed) of every member, in stack order: every learning rate for each
    model, or only its own where args.rates (model, learning rates) says so."""
    rates = dict(args.rates)
    return [
        (name, lr, s)
        for name, _ in args.models
        for lr in rates.get(name, args.learning_rates)
        for s in range(args.seeds)
    ]


def initial_params(args: Settings, task: tasks.Task) -> tuple[str, str, dict[str, np.ndarray]]:
    """(kind, activation, params of the stack, model axis first), perturbed if args.perturbation > 0."""
    specs = dict(args.models)
    nets, heads = [], []
    for name, _, seed in members(args):
        spec = specs[name]
        nets.append(
            cells.make(
                spec["cell"],
                input_size=task.input_size,
                hidden_size=args.hidden_size,
                activation=spec["activation"],
                radius=spec["radius"],
                rng=seeding.rng(seed, spec["cell"]),
                recurrent_init=spec["recurrent_init"],
                gate_bias=spec["gate_bias"],
                chrono_t_max=max(args.seq_len, 3),
            )
        )
        heads.append(seeding.readout(seed, task.output_size, args.hidden_size))
    stack = cells.stack(nets)
    params = stack.params | {"readout_weight": np.stack(heads), "readout_bias": np.zeros((len(nets), task.output_size))}
    if args.perturbation > 0:
        params = perturbed(params, [s for _, _, s in members(args)], args.perturbation)
    return stack.kind, stack.activation, params


def perturbed(params: dict[str, np.ndarray], seeds: list[int], relative: float) -> dict[str, np.ndarray]:
    """Every weight w of member i as w (1 + relative z), z ~ N(0, 1) from seed i's "perturbation" stream."""
    out = {k: v.copy() for k, v in params.items()}
    for i, seed in enumerate(seeds):
        rng = seeding.rng(seed, "perturbation")
        for name in loop.PARAM_NAMES:
            out[name][i] *= 1.0 + relative * rng.standard_normal(out[name][i].shape)
    return out


def timescale(kind: str, activation: str, params: dict, task: tasks.Task, x: np.ndarray, target: np.ndarray):
    """Gradient timescale tau (M,) of each member on x (T, M, B, I), target (M, B, ...): see the docstring.

    NaN for a member whose forward pass or loss gradient is not finite (a diverged one)."""
    cell = cells.Cell(kind, activation, {k: params[k] for k in cells.PARAM_NAMES})
    with np.errstate(over="ignore", invalid="ignore"):
        h_last = cells.forward(cell, x)[-1]
        dh = readout.loss_and_grads(
            task.loss, h_last, params["readout_weight"], params["readout_bias"], target, task.loss_scale
        ).dh_last
    finite = np.isfinite(dh).all(axis=(1, 2))
    tau = np.full(len(dh), np.nan)
    if not finite.any() or x.shape[0] < 2:
        return tau
    sub = cells.Cell(kind, activation, {k: v[finite] for k, v in cell.params.items()})
    profile = gradients.lag_profile(sub, x[:, finite], dh[finite])  # (T, M', B), row k = step k
    with warnings.catch_warnings():  # a member with no finite lag at all: NaN, as documented
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.where(np.isfinite(profile), profile, np.nan), axis=2).T  # (M', T)
    lag = np.arange(x.shape[0] - 1, -1, -1)
    tau[finite] = collect.timescale(10.0 ** collect.decay_slope(lag, median))
    return tau


def run(args: Settings) -> dict[str, np.ndarray]:
    """The job's record (RECORD, plus num_classes for recall)."""
    task = tasks.get(args.task, args.num_classes)
    who = members(args)
    seeds = [s for _, _, s in who]
    held = {s: tasks.batch(task, seeding.rng(s, "eval_batch"), args.seq_len, args.eval_batch_size) for s in set(seeds)}
    eval_batch = (np.stack([held[s][0] for s in seeds], axis=1), np.stack([held[s][1] for s in seeds]))
    kind, activation, params = initial_params(args, task)
    rates = np.array([lr for _, lr, _ in who], dtype=np.float64)
    settings = loop.Settings(
        steps=args.steps,
        batch_size=args.batch_size,
        eval_interval=args.eval_interval,
        optimizer="adam",
        learning_rate=rates,
        clip=args.clip,
        stop_solved=args.solved_fraction,
        engine="fast",
    )
    probe = (eval_batch[0][:, :, :TIMESCALE_SEQUENCES], eval_batch[1][:, :TIMESCALE_SEQUENCES])
    before = timescale(kind, activation, params, task, *probe)
    rngs = [seeding.rng(s, "train_batches") for s in seeds]
    history, trained = loop.train(kind, activation, params, task, args.seq_len, rngs, eval_batch, settings)
    after = timescale(kind, activation, trained, task, *probe)
    settings_record = {
        "task": args.task,
        "seq_len": args.seq_len,
        "group": args.group,
        "steps": args.steps,
        "perturbation": args.perturbation,
    }
    extra = {"num_classes": np.array(args.num_classes)} if args.task == "recall" else {}
    return (
        {k: np.array(v) for k, v in settings_record.items()}
        | extra
        | {"model": np.array([m for m, _, _ in who]), "learning_rate": rates, "seed": np.array(seeds)}
        | {"timescale_init": before, "timescale_trained": after}
        | history._asdict()
    )


def parse_args(argv: list[str] | None) -> tuple[Settings, str, str | None]:
    """The job's settings, the .npz to write and the record of the rung below (or None)."""
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.trainability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=tasks.NAMES, required=True)
    parser.add_argument("--seq-len", type=at_least(1), required=True, help="T")
    parser.add_argument("--group", required=True, help="cell_activation, the stack's name")
    parser.add_argument("--models", type=parse_model, nargs="+", required=True)
    parser.add_argument("--num-classes", type=at_least(2), help="symbols C (recall only)")
    parser.add_argument(
        "--learning-rates", type=positive, nargs="+", required=True, help="Adam's, swept for every model"
    )
    parser.add_argument("--seeds", type=at_least(1), required=True, help="train seeds 0 .. SEEDS-1")
    parser.add_argument("--steps", type=at_least(1), required=True)
    parser.add_argument("--batch-size", type=at_least(1), required=True)
    parser.add_argument("--eval-interval", type=at_least(1), required=True)
    parser.add_argument("--eval-batch-size", type=at_least(1), required=True)
    parser.add_argument("--hidden-size", type=at_least(1), required=True)
    parser.add_argument("--clip", type=positive, help="clipping threshold c (none: no clipping)")
    parser.add_argument("--solved-fraction", type=positive, required=True)
    parser.add_argument("--perturbation", type=float, default=0.0, help="relative perturbation of the initial weights")
    parser.add_argument(
        "--previous", help="the record of the rung below: only its (model, learning rate) pairs with a solved run train"
    )
    parser.add_argument("--output", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    if (args.task == "recall") != (args.num_classes is not None):
        parser.error("--num-classes is required for --task recall and applies to it only")
    if {study_grid.group_of(s) for _, s in args.models} != {args.group}:
        parser.error(f"every model of --group {args.group} must have that cell and activation")
    if not 0 <= args.perturbation < 1:
        parser.error(f"--perturbation must be >= 0 and < 1, got {args.perturbation}")
    try:  # what the core and the task refuse, in their words, before any work
        task = tasks.get(args.task, args.num_classes or 2)
        tasks.check_length(task, args.seq_len)
        activations.get(args.models[0][1]["activation"])
        settings = cli.settings(Settings, args)
        initial_params(dataclasses.replace(settings, seeds=1, perturbation=0.0), task)
        optim.check("adam", float(min(args.learning_rates)))
    except ValueError as error:
        parser.error(str(error))
    if not all(re.fullmatch(paths.MODEL_PATTERN, name) for name, _ in args.models):
        parser.error("model names must be lowercase letters, digits and _, starting with a letter")
    return settings, args.output, args.previous


def main(argv: list[str] | None = None) -> int:
    args, output, below = parse_args(argv)
    if below is not None:
        with np.load(below) as data:
            previous = {k: data[k] for k in data.files}
        args = climbing(args, previous)
    if not args.models:
        cli.write({SKIPPED: np.array(True), "task": np.array(args.task), "seq_len": np.array(args.seq_len)}, output)
        print(f"{args.task} T={args.seq_len} {args.group}: nothing solved a run of the rung below; none trained")
        return 0
    record = run(args)
    cli.write(record, output)
    solved = record["stopped_step"] >= 0
    print(
        f"{args.task} T={args.seq_len} {args.group}: {int(solved.sum())} of {len(solved)} runs solved, "
        f"{int((record['diverged_step'] >= 0).sum())} diverged"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
