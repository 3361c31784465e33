"""Collect the training jobs' records into Parquet, and compute Pascanu's cliff beside them.

    python -m bptt.pipeline.collect_training --solved-fraction 0.1 --runs results/training/*/*/*/*.npz \\
        --training results/training.parquet --summary results/training_summary.parquet \\
        --cliff-surface results/training_cliff_surface.parquet --cliff-paths results/training_cliff_paths.parquet

Each record (.npz of `bptt.pipeline.train`) names its own task, model, length and clip setting.
Written (schemas and meanings in `bptt.pipeline.tables`): one row per evaluation a run made
before it diverged (training), one row per run (training_summary), and the exact loss surface and
SGD paths of `bptt.train.cliff`, which need no training job and cost well under a second.
A record that cannot be read is moved aside (`bptt.pipeline.inputs`), so the next run recomputes it.

Solved, with f = --solved-fraction: the final held-out metric is within f of chance's distance
from a perfect score (`bptt.train.tasks.solved`); a diverged run is never solved.
"""

import argparse
import sys

import numpy as np
import pyarrow as pa

from bptt.pipeline import cli, grid, inputs, paths, tables, train
from bptt.pipeline.training_grid import OFF
from bptt.train import cliff, tasks


def read_record(path: str) -> dict[str, np.ndarray]:
    """A training job's record, checked to hold every array; a damaged file is moved aside."""
    return inputs.read_record(path, train.RECORD)


def _clip_value(text: str) -> float | None:
    return None if text == OFF else float(text)


def evaluations_made(record: dict) -> np.ndarray:
    """(E, S) bool: the evaluations each seed made before it diverged (at the divergence step or later: none)."""
    diverged = record["diverged_step"]
    end = np.where(diverged >= 0, diverged, np.iinfo(np.int64).max)
    return record["eval_step"][:, None] < end[None, :]


def since_previous(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluation and seed (E, S): the largest ‖g‖ before clipping and the clipping events over the
    steps since the previous evaluation (NaN and 0 at step 0). Row k-1 of the step arrays is step k."""
    at = record["eval_step"]
    norm, clipped = record["grad_norm"], record["clipped"]
    largest = np.full((len(at), norm.shape[1]), np.nan)
    events = np.zeros((len(at), norm.shape[1]), dtype=np.int64)
    for e in range(1, len(at)):
        window = slice(at[e - 1], at[e])  # steps at[e-1]+1 .. at[e]
        with np.errstate(invalid="ignore"):
            largest[e] = np.max(norm[window], axis=0)
        events[e] = clipped[window].sum(axis=0)
    return largest, events


def run_tables(record: dict, fraction: float) -> tuple[pa.Table, pa.Table]:
    """(training, summary) rows of one job's record."""
    task = tasks.get(str(record["task"]), int(record["num_classes"]) if "num_classes" in record else 2)
    seeds, at = record["seed"], record["eval_step"]
    made = evaluations_made(record)
    largest, events = since_previous(record)
    keys = {
        "task": str(record["task"]),
        "model": str(record["model"]),
        "seq_len": int(record["seq_len"]),
        "clip": _clip_value(str(record["clip"])),
    }
    rows = {name: [] for name in tables.TRAINING.names}
    for s, seed in enumerate(seeds):
        n = int(made[:, s].sum())
        for name, value in keys.items():
            rows[name] += [value] * n
        rows["seed"] += [int(seed)] * n
        rows["step"] += at[:n].tolist()
        rows["loss"] += record["eval_loss"][:n, s].tolist()
        rows["metric"] += record["eval_metric"][:n, s].tolist()
        rows["grad_norm"] += ([None] + largest[1:n, s].tolist()) if n else []
        rows["clipped"] += events[:n, s].tolist()

    diverged = record["diverged_step"] >= 0
    final_metric = np.where(diverged, np.nan, record["eval_metric"][-1])
    meets = tasks.solved(task, record["eval_metric"], fraction) & made  # (E, S)
    solved = tasks.solved(task, final_metric, fraction)
    # The first evaluation from which every later one meets the criterion: the one after the last that
    # does not (the first of all if none fails). A solved run meets it at its last evaluation.
    failing = ~meets
    last_failing = np.where(failing.any(axis=0), len(at) - 1 - np.argmax(failing[::-1], axis=0), -1)
    steps_to_solve = [int(at[i + 1]) if ok else None for i, ok in zip(last_failing, solved)]
    max_norm = [float(np.nanmax(col)) if (~np.isnan(col)).any() else None for col in record["grad_norm"].T]
    cell = str(record["cell"])
    label = grid.gate_bias_label(None if cell == "rnn" else str(record["gate_bias"]))
    summary = {
        **{name: [value] * len(seeds) for name, value in keys.items()},
        "seed": seeds.tolist(),
        "cell": [cell] * len(seeds),
        "activation": [str(record["activation"])] * len(seeds),
        "recurrent_init": [str(record["recurrent_init"])] * len(seeds),
        "radius": [float(record["radius"])] * len(seeds),
        "gate_bias": [label] * len(seeds),
        "gate_bias_value": [grid.gate_bias_value(label)] * len(seeds),
        "final_loss": [None if d else float(v) for d, v in zip(diverged, record["eval_loss"][-1])],
        "final_metric": [None if d else float(v) for d, v in zip(diverged, final_metric)],
        "chance_loss": [task.chance_loss] * len(seeds),
        "chance_metric": [task.chance_metric] * len(seeds),
        "solved": solved.tolist(),
        "steps_to_solve": steps_to_solve,
        "diverged": diverged.tolist(),
        "diverged_step": [int(d) if d >= 0 else None for d in record["diverged_step"]],
        "clipped_steps": record["clipped"].sum(axis=0).tolist(),
        "max_grad_norm": max_norm,
    }
    return (
        pa.Table.from_pydict(rows, schema=tables.TRAINING),
        pa.Table.from_pydict({n: summary[n] for n in tables.TRAINING_SUMMARY.names}, schema=tables.TRAINING_SUMMARY),
    )


def cliff_tables(settings: cliff.Settings = cliff.SETTINGS) -> tuple[pa.Table, pa.Table]:
    """(surface, paths) of Pascanu's cliff: the loss over the (w, b) grid, and SGD from every start
    without and with clipping."""
    w, b = np.linspace(*settings.w), np.linspace(*settings.b)
    loss = cliff.surface(w, b, settings.seq_len, settings.target)  # (n_b, n_w)
    ww, bb = np.meshgrid(w, b)
    surface = pa.Table.from_pydict(
        {
            "w": ww.ravel(),
            "b": bb.ravel(),
            "loss": loss.ravel(),
            "seq_len": [settings.seq_len] * loss.size,
            "target": [settings.target] * loss.size,
        },
        schema=tables.CLIFF_SURFACE,
    )
    columns = {name: [] for name in tables.CLIFF_PATHS.names}
    for clip in (None, settings.clip):
        found = cliff.descend(np.array(settings.starts), clip, settings)
        steps, starts = found.loss.shape
        columns["start"] += np.tile(np.arange(starts), steps).tolist()
        columns["clip"] += [clip] * (steps * starts)
        columns["learning_rate"] += [settings.learning_rate] * (steps * starts)
        columns["step"] += np.repeat(np.arange(steps), starts).tolist()
        columns["w"] += found.theta[..., 0].ravel().tolist()
        columns["b"] += found.theta[..., 1].ravel().tolist()
        columns["loss"] += found.loss.ravel().tolist()
        columns["grad_norm"] += found.grad_norm.ravel().tolist()
        columns["clipped"] += found.clipped.ravel().tolist()
    return surface, pa.Table.from_pydict(columns, schema=tables.CLIFF_PATHS)


def check_keys(path: str, record: dict[str, np.ndarray]) -> None:
    """Set the record at `path` aside (`inputs.not_for_this_config`) unless it holds the task, model,
    length and clip setting its path names (a record copied or renamed from another job)."""
    expected = paths.train_run_keys(path)
    found = {key: str(record[key]) for key in expected or {}}
    if expected is not None and found != expected:
        inputs.not_for_this_config(path, f"it holds the run {found}, its path names {expected}")


def collect(runs: list[str], fraction: float) -> tuple[pa.Table, pa.Table]:
    """(training, summary) of every record in `runs`, in the given order."""
    records = [(path, read_record(path)) for path in runs]
    for path, record in records:
        check_keys(path, record)
    parts = [run_tables(record, fraction) for _, record in records]
    return pa.concat_tables(p[0] for p in parts), pa.concat_tables(p[1] for p in parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bptt.pipeline.collect_training", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--solved-fraction", type=cli.fraction, required=True)
    parser.add_argument("--runs", nargs="+", required=True, help="the training jobs' records (.npz)")
    parser.add_argument("--training", required=True, help="output: training.parquet")
    parser.add_argument("--summary", required=True, help="output: training_summary.parquet")
    parser.add_argument("--cliff-surface", required=True, help="output: training_cliff_surface.parquet")
    parser.add_argument("--cliff-paths", required=True, help="output: training_cliff_paths.parquet")
    args = parser.parse_args(argv)
    training, summary = collect(args.runs, args.solved_fraction)
    surface, paths = cliff_tables()
    for table, path in (
        (training, args.training),
        (summary, args.summary),
        (surface, args.cliff_surface),
        (paths, args.cliff_paths),
    ):
        tables.write(table, path)
    print(
        f"wrote {len(training)} evaluations and {len(summary)} runs "
        f"({int(pa.compute.sum(summary['solved']).as_py())} solved, "
        f"{int(pa.compute.sum(summary['diverged']).as_py())} diverged), and the cliff"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
