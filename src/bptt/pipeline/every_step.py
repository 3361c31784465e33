"""The seed's loss at every step, drawn for the report: dL_t/dh_k for every pair t >= k, and G_tau.

    python -m bptt.pipeline.every_step --cell rnn lstm gru --activation tanh relu --radius 0.5 1 1.5 \\
        --recurrent-init orthogonal --gate-bias 0 1 --seq-len 25 200 --batch-size 4 --hidden-size 16 \\
        --input-size 8 --input-scale 1 --loss cross_entropy --num-classes 10 \\
        --pairs results/every_step_pairs.parquet --lags results/every_step_lags.parquet

takes the grid's lists and picks one network per cell (`choose`): activation tanh (else the first
listed), the radius nearest 1 (in log), the cell's main variant (`bptt.pipeline.grid.main_variant`),
the longest sequence length up to MAX_SEQ_LEN, and seed 0, drawn as the experiments draw it, with a
loss on the readout of every step (`bptt.pipeline.networks.every_step_loss`). Its whole batch goes
through `bptt.core.sources.source_profile`, whatever the grid's loss_at. Written: the pairs table
(one row per cell and pair t >= k) and the lags table (one row per cell and lag tau), described in
`bptt.pipeline.tables`. A network whose forward pass leaves float64 is left out, with a line in the log.
"""

import argparse
import dataclasses
import sys

import numpy as np
import pyarrow as pa

from bptt.core import cells, sources
from bptt.pipeline import cli, grid, networks, seeding, tables

# The pairs grow as T^2 (rows of the table, cells of the heatmap, and the cost, T/2 gradient sweeps).
MAX_SEQ_LEN = 200


@dataclasses.dataclass(frozen=True)
class Settings:
    """The grid's lists and shared settings, as the command line gives them."""

    cell: tuple[str, ...]
    activation: tuple[str, ...]
    radius: tuple[float, ...]
    recurrent_init: tuple[str, ...]
    gate_bias: tuple[str, ...]
    seq_len: tuple[int, ...]
    batch_size: int
    hidden_size: int
    input_size: int
    input_scale: float
    loss: str
    num_classes: int


def choose(settings: Settings) -> tuple[str, float, int]:
    """(activation, radius, seq_len) of the drawn networks, from the grid's lists in `settings`."""
    activation = "tanh" if "tanh" in settings.activation else settings.activation[0]
    radius = min(settings.radius, key=lambda r: (abs(np.log(r)), r))
    seq_len = max([t for t in settings.seq_len if t <= MAX_SEQ_LEN], default=MAX_SEQ_LEN)
    return activation, float(radius), seq_len


def cell_tables(settings: Settings, cell: str) -> tuple[dict, dict] | None:
    """Column dicts (pairs, lags) of one cell's network, or None if it has no variant or overflows."""
    variant = grid.main_variant(cell, settings.recurrent_init, settings.gate_bias)
    if variant is None:
        return None
    activation, radius, seq_len = choose(settings)
    sizes = {"input_size": settings.input_size, "hidden_size": settings.hidden_size, "seq_len": seq_len}
    net = networks.models(cell, activation, [(radius, *variant)], 0, **sizes)[0]
    x = seeding.inputs(0, seq_len, settings.batch_size, settings.input_size, settings.input_scale)
    h = cells.forward(net, x)
    if not np.isfinite(h).all():
        print(f"{cell}: the forward pass leaves float64 at radius {radius:g}; no pairs drawn")
        return None
    readout = seeding.readout(0, settings.num_classes, settings.hidden_size)
    dh, scale, _, _ = networks.every_step_loss(settings.loss, h[:, None], readout[None], [0], 1)
    prof = sources.source_profile(net, x, dh[:, 0], scale[:, 0])
    t, k = np.tril_indices(seq_len)  # every pair t >= k
    key = {
        "cell": cell,
        "activation": activation,
        "radius": radius,
        "recurrent_init": variant[0],
        "gate_bias": grid.gate_bias_label(variant[1]),
        "gate_bias_value": grid.gate_bias_value(grid.gate_bias_label(variant[1])),
        "seq_len": seq_len,
    }
    pairs = {**{n: [v] * len(t) for n, v in key.items()}, "t": t, "k": k}
    pairs["log10_source_grad_h"] = np.median(prof.log10_source_grad_h[t, k], axis=1)
    lag = np.arange(seq_len)
    along = [np.diagonal(prof.log10_source_grad_h, offset=-tau).ravel() for tau in lag]  # (B, T - tau) each
    lags = {**{n: [v] * seq_len for n, v in key.items()}, "lag": lag}
    lags["log10_source_grad"] = np.array([np.median(v) for v in along])
    lags["log10_lag_grad"] = prof.log10_lag_grad
    lags["log10_grad_h"] = np.median(prof.log10_grad_h[::-1], axis=1)  # the total, at step T-1-lag
    return pairs, lags


def run(settings: Settings) -> tuple[pa.Table, pa.Table]:
    """The pairs and lags tables of every cell of settings.cell that has a variant and stays finite."""
    parts = [p for p in (cell_tables(settings, cell) for cell in settings.cell) if p is not None]
    out = []
    for index, schema in enumerate((tables.EVERY_STEP_PAIRS, tables.EVERY_STEP_LAGS)):
        columns = {n: [v for part in parts for v in list(part[index][n])] for n in schema.names}
        out.append(pa.Table.from_pydict(columns, schema=schema))
    return out[0], out[1]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.every_step", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", nargs="+", choices=cells.KINDS, required=True)
    parser.add_argument("--activation", nargs="+", required=True)
    parser.add_argument("--radius", type=cli.positive, nargs="+", required=True)
    parser.add_argument("--recurrent-init", nargs="+", required=True)
    parser.add_argument("--gate-bias", type=cli.gate_bias, nargs="+", required=True)
    parser.add_argument("--seq-len", type=cli.at_least(1), nargs="+", required=True)
    for name in ("batch-size", "hidden-size", "input-size"):
        parser.add_argument(f"--{name}", type=cli.at_least(1), required=True)
    parser.add_argument("--input-scale", type=cli.positive, required=True)
    parser.add_argument("--loss", required=True)
    parser.add_argument("--num-classes", type=cli.at_least(2), required=True)
    parser.add_argument("--pairs", required=True, help="the pairs table to write")
    parser.add_argument("--lags", required=True, help="the lags table to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pairs, lags = run(cli.settings(Settings, args))
    tables.write(pairs, args.pairs)
    tables.write(lags, args.lags)
    print(f"wrote {len(pairs)} pairs to {args.pairs} and {len(lags)} lags to {args.lags}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
