"""The grid of a config: which jobs it has, and which points each job computes. Standard library only.

A job is one (cell, activation, seq_len): it computes all of its points side by side as one
stack of networks (`bptt.core.cells.stack`), every radius, initialisation and gate bias with
every seed, because they share inputs and base weights. A point of a job is
(radius, recurrent_init, gate_bias):
  - recurrent_init "identity" (the IRNN) applies to the Elman cell only; the gated cells take
    the other initialisations of the list;
  - gate_bias applies to the gated cells only (the Elman points do not repeat: their
    gate_bias is None, labelled NO_GATE_BIAS in the tables), and "chrono" to the LSTM only.
"""

import itertools

CHRONO = "chrono"
NO_GATE_BIAS = "none"  # the tables' gate_bias label of the Elman cell, which has no gate: never null
IDENTITY = "identity"
GATED = ("lstm", "gru")


def canonical_number(value: float | int | str) -> str:
    """Shortest text that reads back as the same float: 1, 1.0 and "1.00" all give "1".

    Python's float repr is the shortest round-trip spelling, so
    float(canonical_number(v)) == float(v) exactly; a trailing ".0" is dropped.
    """
    return repr(float(value)).removesuffix(".0")


def gate_bias_text(value) -> str:
    """A gate bias as it is named in tables and on the command line: "1", "-0.5" or "chrono"."""
    return CHRONO if value == CHRONO else canonical_number(value)


def gate_bias_label(bias: str | None) -> str:
    """The tables' gate_bias label of a point's gate bias (as `gate_bias_text` spells it, None for rnn)."""
    return NO_GATE_BIAS if bias is None else bias


def gate_bias_value(label: str) -> float | None:
    """The tables' gate_bias_value of a gate_bias label: the bias as a number; None (stored as null, read
    as NaN by pandas) for chrono and none, which are not numbers."""
    return None if label in (CHRONO, NO_GATE_BIAS) else float(label)


def variants(cell: str, recurrent_init: list[str], gate_bias: list) -> list[tuple[str, str | None]]:
    """(recurrent_init, gate_bias text or None) of one cell kind, in grid order."""
    if cell not in GATED:
        return [(init, None) for init in recurrent_init]
    biases = [gate_bias_text(b) for b in gate_bias if b != CHRONO or cell == "lstm"]
    return [(init, b) for init in recurrent_init if init != IDENTITY for b in biases]


def main_variant(cell: str, recurrent_init: list[str], gate_bias: list) -> tuple[str, str | None] | None:
    """The variant of `cell` the report's norm figures show (None if the cell has none): the first
    listed initialisation other than identity (the IRNN, a remedy shown beside it), identity if it
    is the only one; for the gated cells with the first gate bias that applies."""
    pairs = variants(cell, recurrent_init, gate_bias)
    return next((p for p in pairs if p[0] != IDENTITY), pairs[0] if pairs else None)


def jobs(grid: dict) -> list[tuple[str, str, int]]:
    """(cell, activation, seq_len) of every job of `grid` with at least one point, in grid order."""
    return [
        (c, a, int(t))
        for c, a, t in itertools.product(grid["cell"], grid["activation"], grid["seq_len"])
        if variants(c, grid["recurrent_init"], grid["gate_bias"])
    ]


def points(grid: dict, cell: str) -> list[tuple[float, str, str | None]]:
    """(radius, recurrent_init, gate_bias) of every point of one of `cell`'s jobs, in grid order."""
    return [
        (float(r), init, bias)
        for r in grid["radius"]
        for init, bias in variants(cell, grid["recurrent_init"], grid["gate_bias"])
    ]


def job_settings(grid: dict, cell: str) -> dict[str, list]:
    """The recurrent_init and gate_bias lists that apply to `cell`, and the radii: what a job of
    `cell` takes (so an edit of a value that does not apply to it leaves its settings alone)."""
    pairs = variants(cell, grid["recurrent_init"], grid["gate_bias"])
    return {
        "radius": list(grid["radius"]),
        "recurrent_init": list(dict.fromkeys(init for init, _ in pairs)),
        "gate_bias": list(dict.fromkeys(b for _, b in pairs if b is not None)) or ["0"],
    }
