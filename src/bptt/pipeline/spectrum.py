"""Eigenvalues of the Elman cell's recurrent matrix U: the data of the report's eigenvalue figure.

For a few radii of the grid and the two scaled initialisations (orthogonal, gaussian), U is
built exactly as the experiment builds it (`bptt.core.cells.make` with the seed's "rnn"
weight stream), so the figure shows the matrices the runs used; the spectral norm is stored
beside the eigenvalues.

    python -m bptt.pipeline.spectrum --radius 0.5 1 1.5 --seeds 1 --hidden-size 32 \\
        --input-size 8 --output results/eigenvalues.parquet
"""

import argparse
import pathlib
import sys

import numpy as np
import pyarrow as pa

from bptt.core import cells
from bptt.pipeline import seeding, tables

INITS = ("orthogonal", "gaussian")  # normal against non-normal; identity's eigenvalues are all rho


def few_radii(radii: list[float]) -> list[float]:
    """The smallest radius, the one nearest 1 (on a log scale) and the largest, without repeats."""
    radii = sorted(float(r) for r in radii)
    if not radii or radii[0] <= 0:
        raise ValueError(f"radii must be a non-empty list of positive numbers, got {radii}")
    middle = min(radii, key=lambda r: abs(np.log(r)))
    return sorted({radii[0], middle, radii[-1]})


def eigenvalue_table(radii, seeds: int, hidden_size: int, input_size: int) -> pa.Table:
    """One row per eigenvalue of U for every initialisation, radius and seed 0 .. seeds-1."""
    columns = {name: [] for name in tables.EIGENVALUES.names}
    for method in INITS:
        for radius in radii:
            for seed in range(seeds):
                cell = cells.make(
                    "rnn",
                    input_size=input_size,
                    hidden_size=hidden_size,
                    activation="tanh",
                    radius=radius,
                    rng=seeding.rng(seed, "rnn"),
                    recurrent_init=method,
                )
                u = cell.params["weight_hh"]  # U, (H, H)
                values = np.linalg.eigvals(u)
                row = {"init": method, "radius": float(radius), "seed": seed, "hidden_size": hidden_size}
                for name, value in row.items():
                    columns[name] += [value] * hidden_size
                columns["index"] += list(range(hidden_size))
                columns["real"] += list(values.real)
                columns["imag"] += list(values.imag)
                columns["spectral_norm"] += [float(np.linalg.norm(u, 2))] * hidden_size
    return pa.Table.from_pydict(columns, schema=tables.EIGENVALUES)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.spectrum", description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, nargs="+", required=True, help="the grid's radii")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 .. seeds-1")
    parser.add_argument("--hidden-size", type=int, required=True)
    parser.add_argument("--input-size", type=int, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    table = eigenvalue_table(few_radii(args.radius), args.seeds, args.hidden_size, args.input_size)
    tables.write(table, args.output)
    print(f"wrote {len(table)} eigenvalues to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
