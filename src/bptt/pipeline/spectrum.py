"""Eigenvalues of the Elman cell's recurrent matrix U, the data of the report's figure (e).

For a few radii of the grid and both initialisations, U is built exactly as the experiment
builds it (`bptt.core.cells.make` with the seed's "rnn" weight stream), so the figure shows the
matrices the runs used; the spectral norm is stored beside the eigenvalues.

    python -m bptt.pipeline.spectrum --radius 0.5 1 1.5 --seeds 1 --hidden-size 32 \\
        --input-size 8 --output results/eigenvalues.parquet
"""

import argparse
import pathlib
import sys

import numpy as np
import pandas as pd

from bptt.core import cells, initialisation
from bptt.pipeline import seeding

COLUMNS = ["init", "radius", "seed", "hidden_size", "index", "real", "imag", "spectral_norm"]


def few_radii(radii: list[float]) -> list[float]:
    """The smallest radius, the one nearest 1 (on a log scale) and the largest, without repeats."""
    radii = sorted(float(r) for r in radii)
    if not radii or radii[0] <= 0:
        raise ValueError(f"radii must be a non-empty list of positive numbers, got {radii}")
    middle = min(radii, key=lambda r: abs(np.log(r)))
    return sorted({radii[0], middle, radii[-1]})


def eigenvalue_table(radii, seeds: int, hidden_size: int, input_size: int) -> pd.DataFrame:
    """One row per eigenvalue of U for every initialisation, radius and seed 0 .. seeds-1."""
    parts = []
    for method in initialisation.METHODS:
        for radius in radii:
            for seed in range(seeds):
                cell = cells.make(
                    "rnn", input_size=input_size, hidden_size=hidden_size, activation="tanh",
                    radius=radius, rng=seeding.rng(seed, "rnn"), recurrent_init=method,
                )
                recurrent = cell.params["weight_hh"]  # U, (H, H)
                values = np.linalg.eigvals(recurrent)
                parts.append(pd.DataFrame({
                    "init": method, "radius": float(radius), "seed": seed, "hidden_size": hidden_size,
                    "index": np.arange(hidden_size), "real": values.real, "imag": values.imag,
                    "spectral_norm": np.linalg.norm(recurrent, 2),
                }))
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bptt.pipeline.spectrum", description=__doc__.splitlines()[0])
    parser.add_argument("--radius", type=float, nargs="+", required=True, help="the grid's radii")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 .. seeds-1")
    parser.add_argument("--hidden-size", type=int, required=True)
    parser.add_argument("--input-size", type=int, required=True)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    table = eigenvalue_table(few_radii(args.radius), args.seeds, args.hidden_size, args.input_size)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(args.output, index=False)
    print(f"wrote {len(table)} eigenvalues to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
