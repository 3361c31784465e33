"""One training job: every seed of one task, model, sequence length and clip setting.

    python -m bptt.pipeline.train --task adding --model lstm_bias1 --seq-len 30 --clip off \\
        --cell lstm --activation tanh --recurrent-init orthogonal --radius 1 --gate-bias 1 \\
        --optimizer adam --learning-rate 0.01 --steps 400 --batch-size 16 --eval-interval 20 \\
        --eval-batch-size 256 --seeds 3 --hidden-size 16 --output results/training/.../clip-off.npz

Seed s draws as `bptt.pipeline.seeding` documents: the cell's weights from the stream of its kind
(the base weights of the gradient experiments), the readout V from "readout" (c starts at 0), a
fresh batch per step from "train_batches", the fixed held-out batch from "eval_batch". The seeds
train side by side as one stack (`bptt.train.loop`); a diverging seed is recorded as diverged and
the job carries on. The record (RECORD) is one .npz, written atomically, so a killed job leaves no
partial file; `bptt.pipeline.collect_training` turns it into Parquet. Like the experiment entry,
this module imports numpy, the core and bptt.train only (its start-up is paid once per job).
"""

import argparse
import dataclasses
import re
import sys

import numpy as np

from bptt.core import activations, cells, initialisation
from bptt.pipeline import cli, paths, seeding
from bptt.pipeline.training_grid import OFF, clip_text
from bptt.train import loop, optim, tasks

# What the .npz holds. Keys and the model's settings (0-d); num_classes for recall only.
KEYS = ("task", "model", "seq_len", "clip", "cell", "activation", "recurrent_init", "radius", "gate_bias")
# History (E evaluations, N steps, S seeds), as bptt.train.loop.History names it.
# (stopped_step is always -1 here: these jobs train every run to the end.)
HISTORY = tuple(f for f in loop.History._fields if f != "stopped_step") + ("seed",)
RECORD = KEYS + HISTORY


@dataclasses.dataclass(frozen=True)
class Settings:
    """One training job's settings, as its command line gives them (see the module's docstring)."""

    task: str
    model: str
    seq_len: int
    clip: str  # off, or the threshold spelled canonically
    cell: str
    activation: str
    recurrent_init: str
    radius: float
    gate_bias: str  # a number spelled by bptt.pipeline.grid.gate_bias_text, or chrono
    num_classes: int | None  # recall only
    optimizer: str
    learning_rate: float
    steps: int
    batch_size: int
    eval_interval: int
    eval_batch_size: int
    seeds: int
    hidden_size: int


def _clip(text: str) -> str:
    """A --clip value: off, or a finite threshold > 0, spelled canonically."""
    return OFF if text == OFF else clip_text(cli.positive(text))


def _model_name(text: str) -> str:
    if not re.fullmatch(paths.MODEL_PATTERN, text):
        raise argparse.ArgumentTypeError(f"must be lowercase letters, digits and _, starting with a letter; got {text}")
    return text


def initial_params(settings: Settings, task: tasks.Task) -> dict[str, np.ndarray]:
    """The stack's starting parameters: one network and readout per seed, model axis first."""
    bias = settings.gate_bias if settings.gate_bias == initialisation.CHRONO else float(settings.gate_bias)
    stack = cells.stack(
        [
            cells.make(
                settings.cell,
                input_size=task.input_size,
                hidden_size=settings.hidden_size,
                activation=settings.activation,
                radius=settings.radius,
                rng=seeding.rng(seed, settings.cell),
                recurrent_init=settings.recurrent_init,
                gate_bias=bias,
                chrono_t_max=max(settings.seq_len, 3),
            )
            for seed in range(settings.seeds)
        ]
    )
    readout = np.stack(
        [seeding.readout(seed, task.output_size, settings.hidden_size) for seed in range(settings.seeds)]
    )
    return stack.params | {"readout_weight": readout, "readout_bias": np.zeros((settings.seeds, task.output_size))}


def run(settings: Settings) -> dict[str, np.ndarray]:
    """The job's record (RECORD, plus num_classes for recall)."""
    task = tasks.get(settings.task, settings.num_classes)
    held_out = [
        tasks.batch(task, seeding.rng(s, "eval_batch"), settings.seq_len, settings.eval_batch_size)
        for s in range(settings.seeds)
    ]
    schedule = loop.Settings(
        steps=settings.steps,
        batch_size=settings.batch_size,
        eval_interval=settings.eval_interval,
        optimizer=settings.optimizer,
        learning_rate=settings.learning_rate,
        clip=None if settings.clip == OFF else float(settings.clip),
    )
    history, _ = loop.train(
        settings.cell,
        settings.activation,
        initial_params(settings, task),
        task,
        settings.seq_len,
        [seeding.rng(s, "train_batches") for s in range(settings.seeds)],
        (np.stack([x for x, _ in held_out], axis=1), np.stack([t for _, t in held_out])),
        schedule,
    )
    keys = {k: np.array(getattr(settings, k)) for k in KEYS}
    extra = {"num_classes": np.array(settings.num_classes)} if settings.task == "recall" else {}
    history = {k: v for k, v in history._asdict().items() if k in HISTORY}
    return keys | extra | history | {"seed": np.arange(settings.seeds)}


def parse_args(argv: list[str] | None) -> tuple[Settings, str]:
    """The job's settings and the .npz to write, or exit 2 with one line naming the bad flag."""
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=tasks.NAMES, required=True)
    parser.add_argument("--model", type=_model_name, required=True, help="the model's name in the config")
    parser.add_argument("--seq-len", type=cli.at_least(1), required=True, help="T")
    parser.add_argument("--clip", type=_clip, required=True, help="off, or the clipping threshold c > 0")
    parser.add_argument("--cell", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", choices=activations.NAMES, required=True)
    parser.add_argument("--recurrent-init", choices=initialisation.METHODS, required=True)
    parser.add_argument("--radius", type=cli.positive, required=True, help="spectral radius rho of U")
    parser.add_argument("--gate-bias", type=cli.gate_bias, required=True, help="a number, or chrono")
    parser.add_argument("--num-classes", type=cli.at_least(2), help="symbols C (recall only)")
    parser.add_argument("--optimizer", choices=optim.NAMES, required=True)
    parser.add_argument("--learning-rate", type=cli.positive, required=True)
    parser.add_argument("--steps", type=cli.at_least(1), required=True)
    parser.add_argument("--batch-size", type=cli.at_least(1), required=True)
    parser.add_argument("--eval-interval", type=cli.at_least(1), required=True)
    parser.add_argument("--eval-batch-size", type=cli.at_least(1), required=True)
    parser.add_argument("--seeds", type=cli.at_least(1), required=True, help="train seeds 0 .. SEEDS-1")
    parser.add_argument("--hidden-size", type=cli.at_least(1), required=True)
    parser.add_argument("--output", required=True, help="the .npz to write")
    args = parser.parse_args(argv)
    if (args.task == "recall") != (args.num_classes is not None):
        parser.error("--num-classes is required for --task recall and applies to it only")
    settings = cli.settings(Settings, args)
    try:  # what the core and the task refuse, in their words, before any work
        tasks.check_length(tasks.get(args.task, args.num_classes or 2), args.seq_len)
        initial_params(dataclasses.replace(settings, seeds=1), tasks.get(args.task, args.num_classes or 2))
    except ValueError as error:
        parser.error(str(error))
    return settings, args.output


def main(argv: list[str] | None = None) -> int:
    settings, output = parse_args(argv)
    record = run(settings)
    cli.write(record, output)
    diverged = int((record["diverged_step"] >= 0).sum())
    final = record["eval_metric"][-1]
    print(
        f"{settings.task} {settings.model} T={settings.seq_len} clip={settings.clip}: "
        f"final metric per seed {np.round(final, 4).tolist()}, "
        f"{diverged} of {settings.seeds} diverged, {int(record['clipped'].sum())} clipped steps"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
