"""Mean-field predictions for the Elman cell beside the grid, and one large-H measurement to test them.

    python -m bptt.pipeline.theory --activation tanh relu --radius 0.5 1 1.5 --input-scale 1 \\
        --hidden-size 16 --output results/theory.parquet

For each activation: the predicted per-step factor sqrt(chi_1) and chi_1, q* and the critical
radius (`bptt.theory.meanfield`), on the grid's radii and on a fine log-spaced range around
them (for smooth curves in the report). At the grid's radii the rate is also measured with
bptt's own core at LARGE_H units and as many inputs (an orthogonal Elman cell, built as the
experiment builds it, but large): where mean-field theory holds, that measurement meets the
prediction, and what separates it from the grid's small runs is their size.
"""

import argparse
import pathlib
import sys

import numpy as np
import pyarrow as pa

from bptt.core import cells, gradients
from bptt.pipeline import tables
from bptt.theory import meanfield

LARGE_H = 512
# The large-H measurement: sequences, steps of burn-in before the fitted window, fitted lags.
BATCH, BURN_IN, WINDOW = 4, 60, 60
CURVE_POINTS = 48


def measured_rate(activation: str, radius: float, input_scale: float, size: int, seed: int = 0) -> float:
    """10**slope of the batch mean of log10 ||dL/dh_k|| against lag, over WINDOW lags after BURN_IN steps,
    for an Elman cell with `size` units and `size` inputs (so that every unit's input variance is
    close to input_scale^2, as mean-field theory assumes)."""
    rng = np.random.default_rng(seed)
    cell = cells.make("rnn", input_size=size, hidden_size=size, activation=activation, radius=radius, rng=rng)
    x = input_scale * rng.standard_normal((BURN_IN + WINDOW, BATCH, size))
    log_norm = gradients.lag_profile(cell, x, rng.standard_normal((BATCH, size)))[BURN_IN:].mean(axis=1)
    lag = np.arange(WINDOW - 1, -1, -1)
    return float(10 ** np.polyfit(lag, log_norm, 1)[0])


def theory_table(activations: list[str], radii: list[float], input_scale: float) -> pa.Table:
    """One row per activation and radius (the grid's and CURVE_POINTS log-spaced ones around them)."""
    variance = input_scale**2
    grid_radii = sorted(set(float(r) for r in radii))
    curve = np.geomspace(grid_radii[0] / 1.25, grid_radii[-1] * 1.25, CURVE_POINTS)
    columns = {name: [] for name in tables.THEORY.names}
    for activation in activations:
        critical = meanfield.critical_radius(activation, input_variance=variance)
        for radius in sorted(set(grid_radii) | set(curve.tolist())):
            on_grid = radius in grid_radii
            row = {
                "activation": activation,
                "radius": radius,
                "on_grid": on_grid,
                "q_star": meanfield.q_star(activation, radius, input_variance=variance),
                "chi1": meanfield.chi1(activation, radius, input_variance=variance),
                "rate": meanfield.gradient_rate(activation, radius, input_variance=variance),
                "critical_radius": critical,
                "large_h": LARGE_H,
                "large_h_rate": measured_rate(activation, radius, input_scale, LARGE_H) if on_grid else np.nan,
            }
            for name, value in row.items():
                columns[name].append(value)
    return pa.Table.from_pydict(columns, schema=tables.THEORY)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.theory", description=__doc__.splitlines()[0])
    parser.add_argument("--activation", nargs="+", required=True)
    parser.add_argument("--radius", type=float, nargs="+", required=True, help="the grid's radii")
    parser.add_argument("--input-scale", type=float, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    table = theory_table(args.activation, args.radius, args.input_scale)
    tables.write(table, args.output)
    print(f"wrote {len(table)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
