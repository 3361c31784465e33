"""Where the pipeline keeps one grid point's table, and how numbers are named.

One module for both the Snakefile (rule outputs, wildcard constraints) and
`bptt.pipeline.collect` (which reads the tables back), so the naming lives in one place.
Standard library only.
"""

import itertools

# One grid point's table; {radius} and {seq_len} are canonical numbers.
POINT = "results/runs/{cell}/{activation}/rho{radius}_T{seq_len}.npz"

# Canonical spellings only: "1" not "1.0" or "01", "0.5" not ".5" or "0.50".
# Snakemake uses these as wildcard_constraints, so a non-canonical path
# matches no rule instead of silently becoming a second copy of a point.
RADIUS_PATTERN = r"(0|[1-9][0-9]*)(\.[0-9]*[1-9])?(e[+-][0-9]+)?"
SEQ_LEN_PATTERN = r"[1-9][0-9]*"


def canonical_number(value: float | int | str) -> str:
    """Shortest text that reads back as the same float: 1, 1.0 and "1.00" all give "1".

    Python's float repr is the shortest round-trip spelling, so
    float(canonical_number(v)) == float(v) exactly; a trailing ".0" is dropped.
    """
    text = repr(float(value))
    return text.removesuffix(".0")


def point_path(cell: str, activation: str, radius: float, seq_len: int) -> str:
    """Path of one grid point's table, relative to the working directory."""
    return POINT.format(
        cell=cell,
        activation=activation,
        radius=canonical_number(radius),
        seq_len=int(seq_len),
    )


def points(grid: dict) -> list[tuple[str, str, float, int]]:
    """(cell, activation, radius, seq_len) of every point of `grid`, in grid order."""
    return list(itertools.product(grid["cell"], grid["activation"], grid["radius"], grid["seq_len"]))


def point_paths(grid: dict) -> list[str]:
    """Paths of every point of `grid` (keys cell, activation, radius, seq_len), in grid order."""
    return [point_path(*point) for point in points(grid)]
