"""Concatenate the jobs' records and summarise every (grid point, seed).

    python -m bptt.pipeline.collect --cell rnn lstm --activation tanh --seq-len 25 50 \\
        --radius 0.9 1.1 --recurrent-init orthogonal --gate-bias 0 1 --regime-tolerance 0.01 \\
        --gradients results/gradients.parquet --summary results/summary.parquet

reads the record (.npz of `bptt.pipeline.experiment`) of every job of that grid, at the paths
`bptt.pipeline.paths` gives, and writes the two tables of `bptt.pipeline.tables`: gradients
(one row per point, seed and step) and summary (one row per point and seed: the fitted decay,
the end-to-end ratio, the seed's constants and the regime). With loss_at every, the decay is
fitted to the median source log10 ||dL_t/dh_{t-lag}|| at each lag. Rows follow the grid order (jobs,
then their points), then seed, then step. A record that cannot be read is moved aside
(`bptt.pipeline.inputs`), so the next run recomputes it. numpy and pyarrow only.

A single fitted rate misdescribes a curve that does not decay at one rate (an LSTM can lose a decade
in its first step and then hardly decay), so each seed's curve is also described by what it does:
the decades lost or gained in the first step back, the rate fitted after that step, and the share of
the last step's gradient kept KEPT_LAG steps back (or at lag T-1 if T <= KEPT_LAG).

Regime of one seed, with tol = --regime-tolerance (decades per step): exploding if the forward pass
overflowed; otherwise by the net change to the kept lag, log10_kept / kept_lag, where it is beyond tol
(vanishing below -tol, exploding above tol; an exactly zero gradient there is vanishing); otherwise by
the fitted slope log10(decay_rate) (vanishing below -tol, exploding above tol); stable when both are
within tol. Null if no slope can be fitted (T = 1, or fewer than two measurable lags).
"""

import argparse
import sys

import numpy as np
import pyarrow as pa

from bptt.pipeline import experiment, grid, inputs, paths, tables


def decay_slope(lag: np.ndarray, log10_grad: np.ndarray) -> np.ndarray:
    """Least-squares slope of log10_grad against lag, row by row, over finite entries.

    lag (T,), log10_grad (S, T). Returns (S,) slopes in decades per step; NaN where a row has
    fewer than two finite entries.
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


def timescale(decay_rate: np.ndarray) -> np.ndarray:
    """Steps per factor e, -1/ln(decay_rate); inf where the rate is >= 1 (as float64 rounds it), NaN for NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(decay_rate < 1, -1.0 / np.log(decay_rate), np.where(np.isnan(decay_rate), np.nan, np.inf))


KEPT_LAG = 100  # the lag of log10_kept: a hundred steps back, or the longest lag of a shorter sequence


def regime(slope: np.ndarray, net: np.ndarray, overflow: np.ndarray, tolerance: float) -> list[str | None]:
    """vanishing / stable / exploding per seed from the fitted slope (S,), the net change per step to the
    kept lag (S,; NaN where not measurable) and the overflow flags (see the module docstring); None if
    no slope can be fitted."""
    fitted = np.where(slope < -tolerance, "vanishing", np.where(slope > tolerance, "exploding", "stable"))
    names = np.where(net < -tolerance, "vanishing", np.where(net > tolerance, "exploding", fitted))
    names = np.where(overflow, "exploding", names)
    return [str(n) if o or np.isfinite(s) else None for n, s, o in zip(names, slope, overflow)]


def shape(lag: np.ndarray, grad: np.ndarray) -> dict[str, np.ndarray]:
    """What a curve does, beyond its fitted rate. lag (T,) in step order (T-1 .. 0), grad (S, T) its
    log10 norms by step: log10_first_step (S,), lag 1 minus lag 0; decay_rate_after_first (S,), 10**slope
    fitted over lags >= 1; kept_lag (S,), min(KEPT_LAG, T-1); log10_kept (S,), lag kept_lag minus lag 0.
    NaN where T = 1 (or fewer than two measurable lags >= 1, for the rate)."""
    seeds, steps = grad.shape
    kept_lag = min(KEPT_LAG, steps - 1)
    with np.errstate(invalid="ignore"):  # inf - inf: not measurable
        first = grad[:, -2] - grad[:, -1] if steps > 1 else np.full(seeds, np.nan)
        kept = grad[:, steps - 1 - kept_lag] - grad[:, -1]
    return {
        "log10_first_step": first,
        "decay_rate_after_first": 10.0 ** decay_slope(lag[:-1], grad[:, :-1]),
        "kept_lag": np.full(seeds, kept_lag),
        "log10_kept": kept if steps > 1 else np.full(seeds, np.nan),
    }


def relative(log10_grad_h: np.ndarray) -> np.ndarray:
    """log10_grad_h (S, T), by step k, minus its value at the last step T-1 (lag 0), per seed: (S, T)."""
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, not measurable
        return log10_grad_h - log10_grad_h[:, -1:]


def point_tables(key: dict, record: dict[str, np.ndarray], tolerance: float) -> tuple[pa.Table, pa.Table]:
    """(gradients, summary) rows of one grid point from its slice of a job's record.

    key: cell, activation, radius, recurrent_init, gate_bias (its label, `bptt.pipeline.grid.gate_bias_label`),
    seq_len;
    record: step arrays (S, T), seed arrays (S,), seed (S,).
    """
    key = key | {"gate_bias_value": grid.gate_bias_value(key["gate_bias"])}
    seq_len, seeds = key["seq_len"], len(record["seed"])
    lag = np.arange(seq_len - 1, -1, -1)  # lag of step k = T-1-k
    every = str(record["loss_at"]) == "every"
    # The decay of one loss term with its lag: with a loss at every step, the total's norm does not
    # decay (each step adds its own term), so the fit takes the median source at each lag instead.
    grad = record["log10_source_grad" if every else "log10_grad_h"]  # (S, T), by step k = T-1-lag
    elman = key["cell"] == "rnn"  # Pascanu's bound is a statement about the Elman recurrence only
    pascanu = record["gamma_bound"] * record["spectral_norm"]  # (S,)
    rows = seeds * seq_len
    with np.errstate(divide="ignore"):
        bound = (lag * np.log10(pascanu)[:, None]).ravel()
    steps = {
        **{name: pa.array([value] * rows, type=tables.GRADIENTS.field(name).type) for name, value in key.items()},
        "seed": np.repeat(record["seed"], seq_len),
        "step": np.tile(np.arange(seq_len), seeds),
        "lag": np.tile(lag, seeds),
        "log10_grad_c": record["log10_grad_c"].ravel() if "log10_grad_c" in record else pa.nulls(rows, pa.float64()),
        **{name: record[name].ravel() for name in ("log10_grad_h", "log10_jac", "log10_dW_hh_contrib", "gamma_step")},
        "log10_grad_h_relative": relative(record["log10_grad_h"]).ravel(),
        "log10_pascanu_bound": bound if elman else pa.nulls(rows, pa.float64()),
        **{name: record[name].ravel() if every else pa.nulls(rows, pa.float64()) for name in experiment.LAG_ARRAYS},
    }
    slope = decay_slope(lag, grad)
    decay_rate = 10.0**slope
    curve = shape(lag, grad)
    with np.errstate(invalid="ignore", divide="ignore"):
        net = curve["log10_kept"] / curve["kept_lag"]
    summary = {
        **{name: pa.array([value] * seeds, type=tables.SUMMARY.field(name).type) for name, value in key.items()},
        **{name: record[name] for name in tables.SUMMARY.names if name in record},
        "decay_rate": decay_rate,
        "timescale": timescale(decay_rate),
        "log10_end_to_end": grad[:, 0] - grad[:, -1],
        "pascanu_bound": pascanu if elman else pa.nulls(seeds, pa.float64()),
        "regime": regime(slope, net, record["overflow"], tolerance),
        **curve,
        "loss_at": pa.array([str(record["loss_at"])] * seeds, type=pa.string()),
    }
    return (
        pa.Table.from_pydict({n: steps[n] for n in tables.GRADIENTS.names}, schema=tables.GRADIENTS),
        pa.Table.from_pydict({n: summary[n] for n in tables.SUMMARY.names}, schema=tables.SUMMARY),
    )


def read_record(path: str) -> dict[str, np.ndarray]:
    """A job's record, checked to hold every array; a damaged file is moved aside (see the docstring)."""
    return inputs.read_record(path, set(experiment.RECORD) - {"log10_grad_c"})


def check_points(path: str, record: dict[str, np.ndarray], points: list, seq_len: int) -> None:
    """Set the record at `path` aside (`inputs.not_for_this_config`) unless it holds the job's `points`
    ((radius, recurrent_init, gate_bias) of `grid.points`) at seq_len steps."""
    found = {
        (float(r), str(i), str(b)) for r, i, b in zip(record["radius"], record["recurrent_init"], record["gate_bias"])
    }
    expected = {(float(r), i, "" if b is None else str(b)) for r, i, b in points}
    if found != expected:
        inputs.not_for_this_config(
            path, f"it holds the points (radius, init, gate bias) {sorted(found)}, the config's are {sorted(expected)}"
        )
    if record["log10_grad_h"].shape[-1] != seq_len:
        inputs.not_for_this_config(
            path, f"it holds {record['log10_grad_h'].shape[-1]} steps, the config asks for {seq_len}"
        )


def collect(config_grid: dict, tolerance: float) -> tuple[pa.Table, pa.Table]:
    """(gradients, summary) of every point of `config_grid`, read from the paths of bptt.pipeline.paths."""
    parts = []
    for cell, activation, seq_len in grid.jobs(config_grid):
        path = paths.run_path(cell, activation, seq_len)
        record = read_record(path)
        check_points(path, record, grid.points(config_grid, cell), seq_len)
        for p, (radius, init, bias) in enumerate(zip(record["radius"], record["recurrent_init"], record["gate_bias"])):
            key = {
                "cell": cell,
                "activation": activation,
                "radius": float(radius),
                "recurrent_init": str(init),
                "gate_bias": grid.gate_bias_label(str(bias) or None),
                "seq_len": seq_len,
            }
            point = {
                k: (v if k == "seed" or v.ndim == 1 else v[p])
                for k, v in record.items()
                if k not in experiment.POINT_ARRAYS and k != "loss_at"
            } | {"loss_at": record["loss_at"]}
            parts.append(point_tables(key, point, tolerance))
    gradients, summaries = zip(*parts)
    return pa.concat_tables(gradients), pa.concat_tables(summaries)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.collect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", nargs="+", required=True)
    parser.add_argument("--activation", nargs="+", required=True)
    parser.add_argument("--seq-len", nargs="+", type=int, required=True)
    parser.add_argument("--radius", nargs="+", type=float, required=True)
    parser.add_argument("--recurrent-init", nargs="+", required=True)
    parser.add_argument("--gate-bias", nargs="+", required=True)
    parser.add_argument("--regime-tolerance", type=float, required=True)
    parser.add_argument("--gradients", required=True, help="output: gradients.parquet")
    parser.add_argument("--summary", required=True, help="output: summary.parquet")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config_grid = {
        "cell": args.cell,
        "activation": args.activation,
        "seq_len": args.seq_len,
        "radius": args.radius,
        "recurrent_init": args.recurrent_init,
        "gate_bias": args.gate_bias,
    }
    gradients, summary = collect(config_grid, args.regime_tolerance)
    tables.write(gradients, args.gradients)
    tables.write(summary, args.summary)
    print(f"wrote {len(gradients)} rows to {args.gradients}, {len(summary)} rows to {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
