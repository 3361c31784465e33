"""Concatenate the grid points' records and summarise every (grid point, seed).

    python -m bptt.pipeline.collect --cell rnn lstm --activation tanh --radius 0.9 1.1 \
        --seq-len 25 50 --regime-tolerance 0.01 \
        --gradients results/gradients.parquet --summary results/summary.parquet

reads the record (.npz of `bptt.pipeline.experiment`) of every point of that grid, at
the paths `bptt.pipeline.paths` gives, and writes the two tables of `bptt.pipeline.tables`:
gradients (one row per point, seed and step) and summary (one row per point
and seed: the fitted decay, the end-to-end ratio, the seed's constants and the
regime). Rows follow the grid order, then seed, then step. numpy and pyarrow only.

Regime of one seed, with tol = --regime-tolerance (decades per step):
exploding if the backward pass overflowed or log10(decay_rate) > tol,
vanishing if log10(decay_rate) < -tol, stable otherwise; null if T = 1.
"""

import argparse
import sys

import numpy as np
import pyarrow as pa

from bptt.pipeline import paths, tables


def decay_slope(lag: np.ndarray, log10_grad: np.ndarray) -> np.ndarray:
    """Least-squares slope of log10_grad against lag, row by row, over finite entries.

    lag (T,), log10_grad (S, T). Returns (S,) slopes in decades per step; NaN
    where a row has fewer than two finite entries.
    """
    finite = np.isfinite(log10_grad)
    lag = np.broadcast_to(lag, log10_grad.shape)
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_mean = np.where(finite, lag, 0).sum(axis=1) / count
        y_mean = np.where(finite, log10_grad, 0).sum(axis=1) / count
        dx = np.where(finite, lag - x_mean[:, None], 0)
        dy = np.where(finite, log10_grad - y_mean[:, None], 0)
        slope = (dx * dy).sum(axis=1) / (dx * dx).sum(axis=1)
    return np.where(count >= 2, slope, np.nan)


def regime(slope: np.ndarray, overflow: np.ndarray, tolerance: float) -> list[str | None]:
    """vanishing / stable / exploding per seed (see the module docstring); None if undefined."""
    names = np.where(slope < -tolerance, "vanishing", np.where(slope > tolerance, "exploding", "stable"))
    names = np.where(overflow, "exploding", names)
    return [str(n) if o or np.isfinite(s) else None for n, s, o in zip(names, slope, overflow)]


def point_tables(point: tuple, record: dict[str, np.ndarray], tolerance: float) -> tuple[pa.Table, pa.Table]:
    """(gradients, summary) rows of one grid point from its record.

    point = (cell, activation, radius, seq_len); record as written by
    bptt.pipeline.experiment: step arrays (S, T), seed arrays (S,).
    """
    cell, activation, radius, seq_len = point
    seeds = len(record["seed"])
    lag = np.arange(seq_len - 1, -1, -1)  # lag of step k = T-1-k
    grad = record["log10_grad_h"]  # (S, T)
    with np.errstate(divide="ignore"):
        log10_factor = np.log10(record["gamma_bound"] * record["spectral_norm"])  # (S,)
    keys = {"cell": cell, "activation": activation, "radius": radius, "seq_len": seq_len}
    rows = seeds * seq_len
    steps = {
        **{name: np.full(rows, value) for name, value in keys.items()},
        "seed": np.repeat(record["seed"], seq_len),
        "step": np.tile(np.arange(seq_len), seeds),
        "lag": np.tile(lag, seeds),
        "log10_grad_c": record["log10_grad_c"].ravel() if "log10_grad_c" in record else pa.nulls(rows, pa.float64()),
        **{name: record[name].ravel() for name in ("log10_grad_h", "log10_jac", "log10_dW_hh_contrib", "gamma_step")},
        "log10_pascanu_bound": (lag * log10_factor[:, None]).ravel(),
    }
    slope = decay_slope(lag, grad)
    with np.errstate(divide="ignore"):
        timescale = np.where(slope < 0, -np.log10(np.e) / slope, np.inf)
    overflow_step = record["overflow_step"]
    summary = {
        **{name: np.full(seeds, value) for name, value in keys.items()},
        **{name: record[name] for name in tables.SUMMARY.names if name in record},
        "decay_rate": 10.0**slope,
        "timescale": np.where(np.isnan(slope), np.nan, timescale),
        "log10_end_to_end": grad[:, 0] - grad[:, -1],
        "pascanu_bound": record["gamma_bound"] * record["spectral_norm"],
        "overflow_step": pa.array(overflow_step, mask=overflow_step < 0, type=pa.int64()),
        "regime": regime(slope, record["overflow"], tolerance),
    }
    return (
        pa.Table.from_pydict({n: steps[n] for n in tables.GRADIENTS.names}, schema=tables.GRADIENTS),
        pa.Table.from_pydict({n: summary[n] for n in tables.SUMMARY.names}, schema=tables.SUMMARY),
    )


def collect(grid: dict, tolerance: float) -> tuple[pa.Table, pa.Table]:
    """(gradients, summary) of every point of `grid`, read from the paths of bptt.pipeline.paths."""
    parts = []
    for point in paths.points(grid):
        with np.load(paths.point_path(*point)) as record:
            parts.append(point_tables(point, dict(record), tolerance))
    gradients, summaries = zip(*parts)
    return pa.concat_tables(gradients), pa.concat_tables(summaries)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.collect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", nargs="+", required=True)
    parser.add_argument("--activation", nargs="+", required=True)
    parser.add_argument("--radius", nargs="+", type=float, required=True)
    parser.add_argument("--seq-len", nargs="+", type=int, required=True)
    parser.add_argument("--regime-tolerance", type=float, required=True)
    parser.add_argument("--gradients", required=True, help="output: gradients.parquet")
    parser.add_argument("--summary", required=True, help="output: summary.parquet")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    grid = {"cell": args.cell, "activation": args.activation, "radius": args.radius, "seq_len": args.seq_len}
    gradients, summary = collect(grid, args.regime_tolerance)
    tables.write(gradients, args.gradients)
    tables.write(summary, args.summary)
    print(f"wrote {len(gradients)} rows to {args.gradients}, {len(summary)} rows to {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
