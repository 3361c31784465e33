"""The page's opening findings ("In short"): the run's main results, each with its spread and its figure.

Every number comes from the collected tables through `bptt.report.data` and the trainability and
clipping modules, like every other sentence of the page. Brackets are the smallest and largest over
the grid's seeds (each seed's value itself a median over its batch of sequences) unless the sentence
names another interval; `bptt.report.intervals` prints them with the digits their spread supports.
A finding the data cannot support (no Elman runs, no study, no clipping runs) is left out, not faked.
"""

import math
from typing import NamedTuple

import pandas as pd

from bptt.pipeline import grid
from bptt.report import clipping, data, trainability
from bptt.report.findings import kept_text, variant_words
from bptt.report.intervals import bracket


class Finding(NamedTuple):
    """One opening finding: its sentence and the id of the figure (render.FIGURES) it rests on."""

    text: str
    figure: str


def rate_text(point: pd.Series) -> str:
    """The median decay rate of a `data.point_medians` row and its range over the seeds."""
    return bracket(*(10 ** point[c] for c in ("log10_decay", "log10_decay_low", "log10_decay_high")))


def crossing_text(move: pd.Series) -> str:
    """Where one cell and activation's rate reaches 1, from a `data.transitions` row, seed by seed."""
    if math.isnan(move["below"]):
        return "never reaches 1 in the grid" if move["last_rate"] < 1 else "is at least 1 at every radius"
    where = f"between ρ = {move['below']:g} and {move['above']:g}"
    if move["seeds_agree"]:
        return f"reaches 1 {where} for every seed"
    parts = [
        f"{n} between {b:g} and {a:g}" if not math.isnan(b) else f"{n} never in the grid"
        for b, a, n in move["seed_brackets"]
    ]
    return f"reaches 1 {where} for the median, but the seeds disagree ({'; '.join(parts)})"


def elman_rate(summary: pd.DataFrame) -> Finding | None:
    """The Elman cell's rate against the radius, for tanh (else the first activation), and where it reaches 1."""
    points = data.point_medians(summary)
    points = points[points["cell"] == "rnn"]
    if points.empty:
        return None
    activation = "tanh" if "tanh" in set(points["activation"]) else points["activation"].iloc[0]
    mine = points[points["activation"] == activation].sort_values("radius")
    radii = [mine["radius"].min(), data.nearest(mine["radius"], 1.0), mine["radius"].max()]
    rates = [f"{rate_text(mine[mine['radius'] == r].iloc[0])} at ρ = {r:g}" for r in dict.fromkeys(radii)]
    move = data.transitions(summary).set_index(["cell", "activation"]).loc[("rnn", activation)]
    return Finding(
        f"The Elman RNN with {activation} keeps a factor per step back of " + ", ".join(rates) + f" (median "
        f"[range] over {int(mine['seeds'].max())} seeds); the rate {crossing_text(move)}.",
        "phase_diagram",
    )


def elman_theory(summary: pd.DataFrame, theory: pd.DataFrame, hidden_size: int) -> Finding | None:
    """Mean-field's Elman rate against the measured one at the radius nearest 1, per activation: the
    prediction, the grid's networks of `hidden_size` units (median [range] over seeds) and the theory
    table's one large network."""
    points = data.theory_against_measurement(summary, theory)
    if points.empty:
        return None
    radius = data.nearest(points["radius"].unique(), 1.0)
    at = points[points["radius"] == radius]
    large = bool(at["large_h_rate"].notna().all())
    parts = [
        f"{row.activation} {row.rate:.3g}, {bracket(row.median, row.min, row.max)}"
        + (f", {row.large_h_rate:.3g}" if large else "")
        for row in at.itertuples()
    ]
    size = f", then in one network of {int(at['large_h'].iloc[0])} units (one draw: no spread)" if large else ""
    return Finding(
        "Mean-field theory predicts that rate from the mean squared slope of the activation. At "
        f"ρ = {radius:g}, predicted, then measured in the grid's networks of {hidden_size} units{size}: "
        + "; ".join(parts)
        + ".",
        "rate_hierarchy",
    )


def remedies(shapes: pd.DataFrame, radius: float, main: dict[str, tuple[str, str]]) -> Finding | None:
    """The share each cell keeps at the kept lag at `radius` (how each curve gets there is in the remedies'
    sentences), its main variant first (cell -> (recurrent_init,
    gate_bias)), then its remedies: the gate biases of the LSTM and the GRU (tanh), the identity
    initialisation of the Elman ReLU cell (the IRNN)."""
    rows = shapes[shapes["radius"] == radius]
    rows = rows[
        (rows["cell"].isin(["lstm", "gru"]) & (rows["activation"] == "tanh"))
        | ((rows["cell"] == "rnn") & (rows["activation"] == "relu"))
    ]
    parts = []
    for cell, group in rows[rows["cell"].isin(main)].groupby("cell", sort=False):
        first = (group["recurrent_init"] == main[cell][0]) & (group["gate_bias"] == main[cell][1])
        group = pd.concat([group[first], group[~first]])
        name = "the Elman ReLU cell" if cell == "rnn" else f"the {data.CELL_NAMES[cell]} (tanh)"
        kept = [f"{kept_text(r)} {variant_words(cell, r)}" for _, r in group.iterrows()]
        parts.append(f"{name} {', '.join(kept[:-1])}{' and ' if len(kept) > 1 else ''}{kept[-1]}")
    if not parts:
        return None
    lag = int(rows["kept_lag"].iloc[0])
    return Finding(
        f"Gates and their remedies: at ρ = {radius:g}, the share of the last step's gradient kept {lag} steps back "
        f"is, for " + "; for ".join(parts) + ".",
        "remedies",
    )


def learning(runs: pd.DataFrame | None, summary: pd.DataFrame | None = None) -> Finding | None:
    """The trainability study's bridge: Spearman's rank correlation between the gradient timescale at
    initialisation and the longest length learned, with its bootstrap interval and the budget check
    (`summary`, the per-model table); None without a study."""
    needed = {"run", "task", "model", "seed", "seq_len", "timescale_init", "solved"}
    if runs is None or runs.empty or not needed <= set(runs.columns) or not (runs["run"] == "study").any():
        return None
    b = trainability.bridge(runs)
    if math.isnan(b["rho"]):
        return Finding(
            f"Across {b['points']} (model, task) points the longest length learned does not vary (or the "
            "timescale does not), so this run cannot say whether the gradient timescale predicts it.",
            "trainability_bridge",
        )
    direction = "rises" if b["low"] > 0 else "falls" if b["high"] < 0 else "shows no clear direction"
    return Finding(
        f"Learning: across {b['points']} (model, task) points the longest sequence learned {direction} with the "
        f"gradient timescale at initialisation, Spearman's rank correlation {bracket(b['rho'], b['low'], b['high'])} "
        "(95 % bootstrap interval over seeds)." + trainability.budget_clause(summary, runs),
        "trainability_bridge",
    )


def clipped(runs: pd.DataFrame | None) -> Finding | None:
    """How far clipping moved the top of plain SGD's stable learning-rate range, per model."""
    if runs is None or runs.empty:
        return None
    order = clipping.clip_order(runs)
    if len(order) != 2 or order[0] != clipping.OFF:
        return None
    rates = clipping.divergence_rates(runs)
    ranges = clipping.largest_stable(rates).set_index(["model", "clip"])
    names = clipping.labels(runs)
    parts = []
    for model, name in names.items():
        sweep = sorted(rates.loc[rates["model"] == model, "learning_rate"].unique())
        parts.append(
            f"{name}: {clipping.widening(ranges.loc[(model, order[0])], ranges.loc[(model, order[1])], sweep)}"
        )
    seeds = int(rates["runs"].max())
    return Finding(
        f"Clipping and the stable learning rates of plain SGD (those below the first at which some of {seeds} seeds "
        f"diverged), {clipping.clip_name(order[1])}: " + "; ".join(parts) + ".",
        "clipping_divergence",
    )


def findings(t, main, config: dict) -> list[Finding]:
    """The opening findings of tables `t` (`main`: restricted to the main variant), in the page's order."""
    shapes = data.curve_shapes(t.summary)
    radius = data.nearest(shapes["radius"].unique(), 1.0)
    biases = [grid.gate_bias_text(b) for b in config["grid"]["gate_bias"]]
    variants = data.main_variants(config["grid"]["recurrent_init"], biases)
    out = [
        elman_rate(main.summary),
        elman_theory(main.summary, t.theory, config["hidden_size"]),
        remedies(shapes, radius, variants),
        learning(getattr(t, "trainability", None), getattr(t, "trainability_summary", None)),
        clipped(getattr(t, "clipping", None)),
    ]
    return [f for f in out if f is not None]
