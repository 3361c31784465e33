"""Mean-field predictions beside the grid, and one large-H measurement to test them.

    python -m bptt.pipeline.theory --activation tanh relu --radius 0.5 1 1.5 --input-scale 1 \\
        --cell rnn lstm gru --gate-bias 0 1 chrono --output results/theory.parquet

For each activation: the predicted per-step factor sqrt(chi_1) and chi_1, q* and the critical
radius of the Elman cell (`bptt.theory.meanfield`), on the grid's radii and on a fine log-spaced
range around them (for smooth curves in the report). For each gated cell of --cell, each of its
activations that the gated theory covers (tanh, sigmoid) and each numeric gate bias: the rate of
`bptt.theory.gated` on the same radii (chrono has no single rate, so no row: see that module), and at
the grid's radii the dynamical mean field's (`bptt.theory.dmft`, over the large-H measurement's window;
its Monte Carlo is too slow for the curve). At the grid's radii every rate is also measured with bptt's
own core at LARGE_H units and as many inputs (an orthogonal cell, built as the experiment builds it,
but large): where mean-field theory holds, that measurement meets the prediction, and what separates
it from the grid's small runs is their size.
"""

import argparse
import math
import pathlib
import sys

import numpy as np
import pyarrow as pa

from bptt.core import cells, gradients
from bptt.pipeline import grid, tables
from bptt.theory import dmft, gated, meanfield

LARGE_H = 512
# The large-H measurement: sequences, steps of burn-in before the fitted window, fitted lags.
BATCH, BURN_IN, WINDOW = 4, 60, 60
CURVE_POINTS = 48
# The dynamical mean field per grid point: DMFT_SEEDS runs of DMFT_UNITS samples of the single-unit process,
# their median the prediction and their range its Monte Carlo spread (docs/theory.md).
DMFT_UNITS, DMFT_SEEDS = dmft.UNITS // 2, 3


def measured_rate(activation: str, radius: float, input_scale: float, size: int, seed: int = 0) -> float:
    """10**slope of the batch mean of log10 ||dL/dh_k|| against lag, over WINDOW lags after BURN_IN steps,
    for an Elman cell with `size` units and `size` inputs (so that every unit's input variance is
    close to input_scale^2, as mean-field theory assumes)."""
    return float(measured_rates("rnn", activation, [radius], input_scale, size, seed)[0])


def measured_rates(
    kind: str, activation: str, radii: list[float], input_scale: float, size: int, seed: int = 0, gate_bias=0.0
) -> np.ndarray:
    """`measured_rate` at each radius (len(radii),) for a cell of kind `kind` and gate bias, in one sweep:
    the cell is built once at radius 1 and its U rescaled (the draws do not depend on the radius, so each
    is the network cells.make builds at that radius), and the radii run side by side as a stack."""
    rng = np.random.default_rng(seed)
    base = cells.make(
        kind, input_size=size, hidden_size=size, activation=activation, radius=1.0, rng=rng, gate_bias=gate_bias
    )
    x = input_scale * rng.standard_normal((BURN_IN + WINDOW, BATCH, size))
    dh = rng.standard_normal((BATCH, size))
    stack = cells.stack(
        [
            cells.from_params(kind, base.params | {"weight_hh": r * base.params["weight_hh"]}, activation=activation)
            for r in radii
        ]
    )
    m = len(radii)
    log_norm = gradients.lag_profile(stack, np.repeat(x[:, None], m, axis=1), np.repeat(dh[None], m, axis=0))
    lag = np.arange(WINDOW - 1, -1, -1)
    return 10 ** np.polyfit(lag, log_norm[BURN_IN:].mean(axis=-1), 1)[0]


def _gated_row(cell: str, activation: str, gate_bias: float, radius: float, input_scale: float, on_grid: bool) -> dict:
    """The predictions of one gated row: q_star is the gates' pre-activation variance q, chi1 = rate^2,
    there is no critical radius, and dmft_rate (the dynamical mean field over the window `measured_rates`
    fits: the median over DMFT_SEEDS seeds) with dmft_spread (their range) are computed on the grid only."""
    variance = input_scale**2
    if not math.isfinite(radius * radius * max(1.0, variance)):
        # The gates' pre-activation variance leaves float64: they saturate beyond its range and the
        # quadrature has no scale to work at. No prediction, as the Elman theory gives for tanh and sigmoid.
        keys = ("q_star", "chi1", "rate", "critical_radius", "transient_rate", "dmft_rate", "dmft_spread")
        return dict.fromkeys(keys, np.nan)
    moments = gated.gated_stationary(cell, activation, radius, gate_bias, input_variance=variance)
    rate, transient = gated.gated_modes(cell, activation, radius, gate_bias, input_variance=variance)
    window = dict(burn_in=BURN_IN, window=WINDOW, input_variance=variance, units=DMFT_UNITS)
    runs = [dmft.dmft_rate(cell, activation, radius, gate_bias, **window, seed=s) for s in range(DMFT_SEEDS * on_grid)]
    return {
        "q_star": moments["q_gate"],
        "chi1": rate * rate,
        "rate": rate,
        "critical_radius": np.nan,
        "transient_rate": transient,
        "dmft_rate": float(np.median(runs)) if runs else np.nan,
        "dmft_spread": float(np.ptp(runs)) if runs else np.nan,
    }


def theory_table(
    activations: list[str], radii: list[float], input_scale: float, kinds=("rnn",), gate_biases=()
) -> pa.Table:
    """One row per cell, activation, gate bias (gated cells) and radius (the grid's and CURVE_POINTS
    log-spaced ones around them). kinds: the grid's cells; gate_biases: the grid's, numbers or "chrono"."""
    variance = input_scale**2
    grid_radii = sorted(set(float(r) for r in radii))
    curve = np.geomspace(grid_radii[0] / 1.25, grid_radii[-1] * 1.25, CURVE_POINTS)
    all_radii = sorted(set(grid_radii) | set(curve.tolist()))
    numeric_biases = [b for b in gate_biases if grid.gate_bias_text(b) != grid.CHRONO]
    columns = {name: [] for name in tables.THEORY.names}

    def add(row):
        for name in tables.THEORY.names:
            columns[name].append(row.get(name))

    for activation in activations:
        critical = meanfield.critical_radius(activation, input_variance=variance) if "rnn" in kinds else np.nan
        for radius in all_radii if "rnn" in kinds else []:
            on_grid = radius in grid_radii
            add(
                {
                    "cell": "rnn",
                    "activation": activation,
                    "radius": radius,
                    "on_grid": on_grid,
                    "q_star": meanfield.q_star(activation, radius, input_variance=variance),
                    "chi1": meanfield.chi1(activation, radius, input_variance=variance),
                    "rate": meanfield.gradient_rate(activation, radius, input_variance=variance),
                    "critical_radius": critical,
                    "large_h": LARGE_H,
                    "large_h_rate": measured_rate(activation, radius, input_scale, LARGE_H) if on_grid else np.nan,
                    "transient_rate": np.nan,
                }
            )
        for cell in [k for k in gated.CELLS if k in kinds] if activation in gated.ACTIVATIONS else []:
            for bias in numeric_biases:
                large = dict(
                    zip(grid_radii, measured_rates(cell, activation, grid_radii, input_scale, LARGE_H, gate_bias=bias))
                )
                for radius in all_radii:
                    add(
                        {
                            "cell": cell,
                            "activation": activation,
                            "gate_bias": grid.gate_bias_text(bias),
                            "radius": radius,
                            "on_grid": radius in large,
                            "large_h": LARGE_H,
                            "large_h_rate": large.get(radius, np.nan),
                        }
                        | _gated_row(cell, activation, float(bias), radius, input_scale, radius in large)
                    )
    return pa.Table.from_pydict(columns, schema=tables.THEORY)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.theory", description=__doc__.splitlines()[0])
    parser.add_argument("--activation", nargs="+", required=True)
    parser.add_argument("--radius", type=float, nargs="+", required=True, help="the grid's radii")
    parser.add_argument("--input-scale", type=float, required=True)
    parser.add_argument("--cell", nargs="+", default=["rnn"], help="the grid's cells")
    parser.add_argument("--gate-bias", nargs="*", default=[], help="the grid's gate biases (numbers or chrono)")
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    biases = [b if b == grid.CHRONO else float(b) for b in args.gate_bias]
    table = theory_table(args.activation, args.radius, args.input_scale, args.cell, biases)
    tables.write(table, args.output)
    print(f"wrote {len(table)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
