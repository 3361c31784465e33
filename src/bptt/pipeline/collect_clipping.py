"""Collect the clipping study's records into Parquet: one row per run, and the per-step traces.

    python -m bptt.pipeline.collect_clipping --divergence-factor 10 --runs results/clipping/*/*.npz \\
        --clipping results/clipping.parquet --traces results/clipping_traces.parquet

Each record (.npz of `bptt.pipeline.clipping`) names its own model and clip setting. A run diverged
when it left float64 (`nonfinite_step`) or when its final held-out loss exceeds divergence_factor
times its held-out loss at initialisation: a loss of 1e100 that stays finite has blown up all the same.
A record that cannot be read is moved aside (`bptt.pipeline.inputs`), so the next run recomputes it.
"""

import argparse
import sys

import numpy as np
import pyarrow as pa

from bptt.pipeline import clipping, grid, inputs, tables
from bptt.pipeline.training_grid import OFF


def read_record(path: str) -> dict[str, np.ndarray]:
    """A clipping job's record, checked to hold every array; a damaged file is moved aside."""
    return inputs.read_record(path, clipping.RECORD)


def diverged(initial: np.ndarray, final: np.ndarray, nonfinite_step: np.ndarray, factor: float) -> np.ndarray:
    """Whether each run diverged (any shape, elementwise): it left float64, or final > factor * initial."""
    with np.errstate(invalid="ignore"):
        return (nonfinite_step >= 0) | ~np.isfinite(final) | (final > factor * initial)


def run_table(record: dict, factor: float) -> pa.Table:
    """One row per (learning rate, member) of a record: CLIPPING."""
    rates, members = record["learning_rate"], len(record["seed"])
    clip = str(record["clip"])
    cell = str(record["cell"])
    label = grid.gate_bias_label(None if cell == "rnn" else str(record["gate_bias"]))
    mesh = np.meshgrid(rates, np.arange(members), indexing="ij")  # (L, M) each
    with np.errstate(invalid="ignore"):
        largest = np.max(np.where(np.isnan(record["grad_norm"]), -np.inf, record["grad_norm"]), axis=1)  # (L, M)
    stopped = record["nonfinite_step"]
    rows = mesh[0].size
    columns = {
        "model": [str(record["model"])] * rows,
        "optimizer": [str(record["optimizer"])] * rows,
        "learning_rate": mesh[0].ravel().tolist(),
        "clip": [clip] * rows,
        "seed": record["seed"][mesh[1]].ravel().tolist(),
        "perturbation": record["perturbation"][mesh[1]].ravel().tolist(),
        "clip_threshold": [None if clip == OFF else float(clip)] * rows,
        "seq_len": [int(record["seq_len"])] * rows,
        "cell": [cell] * rows,
        "activation": [str(record["activation"])] * rows,
        "recurrent_init": [str(record["recurrent_init"])] * rows,
        "radius": [float(record["radius"])] * rows,
        "gate_bias": [label] * rows,
        "gate_bias_value": [grid.gate_bias_value(label)] * rows,
        "initial_loss": record["initial_loss"].ravel().tolist(),
        "final_loss": [None if s >= 0 else float(v) for s, v in zip(stopped.ravel(), record["final_loss"].ravel())],
        "nonfinite_step": [int(s) if s >= 0 else None for s in stopped.ravel()],
        "diverged": diverged(record["initial_loss"], record["final_loss"], stopped, factor).ravel().tolist(),
        "max_grad_norm": [None if v == -np.inf else float(v) for v in largest.ravel()],
        "steps": np.where(stopped >= 0, stopped, record["grad_norm"].shape[1]).ravel().tolist(),
        "clipped_steps": record["clipped"].sum(axis=1).ravel().tolist(),
    }
    return pa.Table.from_pydict({n: columns[n] for n in tables.CLIPPING.names}, schema=tables.CLIPPING)


def trace_table(record: dict) -> pa.Table:
    """One row per SGD step each unperturbed run took (a run that left float64 ends at that step): CLIPPING_TRACES."""
    columns = {name: [] for name in tables.CLIPPING_TRACES.names}
    steps = record["grad_norm"].shape[1]
    for i, rate in enumerate(record["learning_rate"]):
        for m in np.flatnonzero(record["perturbation"] == 0):
            stop = record["nonfinite_step"][i, m]
            n = int(stop) if stop >= 0 else steps
            columns["model"] += [str(record["model"])] * n
            columns["learning_rate"] += [float(rate)] * n
            columns["clip"] += [str(record["clip"])] * n
            columns["seed"] += [int(record["seed"][m])] * n
            columns["step"] += list(range(1, n + 1))
            columns["grad_norm"] += record["grad_norm"][i, :n, m].tolist()
            columns["clipped"] += record["clipped"][i, :n, m].tolist()
            columns["train_loss"] += record["train_loss"][i, :n, m].tolist()
    return pa.Table.from_pydict(columns, schema=tables.CLIPPING_TRACES)


def collect(runs: list[str], factor: float) -> tuple[pa.Table, pa.Table]:
    """(clipping, traces) of every record in `runs`, in the given order."""
    records = [read_record(path) for path in runs]
    return (
        pa.concat_tables(run_table(r, factor) for r in records),
        pa.concat_tables(trace_table(r) for r in records),
    )


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 1 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 1, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bptt.pipeline.collect_clipping", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--divergence-factor", type=_factor, required=True)
    parser.add_argument("--runs", nargs="+", required=True, help="the clipping jobs' records (.npz)")
    parser.add_argument("--clipping", required=True, help="output: clipping.parquet")
    parser.add_argument("--traces", required=True, help="output: clipping_traces.parquet")
    args = parser.parse_args(argv)
    runs, traces = collect(args.runs, args.divergence_factor)
    tables.write(runs, args.clipping)
    tables.write(traces, args.traces)
    print(f"wrote {len(runs)} runs ({int(pa.compute.sum(runs['diverged']).as_py())} diverged) and {len(traces)} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
