"""Findings written from the data: measured numbers, the sentences that state them, the summary table.

Every function takes the collected tables (columns as in the README's schema section) and returns
plain values; nothing here is typed by hand. Medians are over seeds; decay rates come from the
longest sequence length in the grid, where the fit has the most lags.
"""

import math

import numpy as np
import pandas as pd

RUN = ["cell", "activation", "radius", "seq_len", "seed"]
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
CELL_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}
ACTIVATION_ORDER = ("tanh", "sigmoid", "relu", "linear")


def ordered(values, preferred) -> list:
    """The distinct `values` in the `preferred` order, unknown ones after them, sorted."""
    present = set(values)
    return [v for v in preferred if v in present] + sorted(present - set(preferred))


def in_order(table: pd.DataFrame) -> pd.DataFrame:
    """`table` sorted by cell, then activation, in the report's reading order (stable)."""
    rank = {
        "cell": {v: i for i, v in enumerate(ordered(table["cell"], CELL_NAMES))},
        "activation": {v: i for i, v in enumerate(ordered(table["activation"], ACTIVATION_ORDER))},
    }
    return table.sort_values(["cell", "activation"], key=lambda c: c.map(rank[c.name]), kind="stable")


def longest(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of `table` at its longest sequence length, in reading order."""
    return in_order(table[table["seq_len"] == table["seq_len"].max()])


def log10_decay(summary: pd.DataFrame) -> pd.Series:
    """log10 of the fitted decay rate per run; a run that overflowed float64 counts as +inf."""
    with np.errstate(divide="ignore"):
        values = np.log10(summary["decay_rate"].astype(float))
    return values.mask(summary["overflow"].astype(bool) & values.isna(), np.inf)


def crossing(x: np.ndarray, y: np.ndarray, level: float = 0.0) -> tuple[float, float, float]:
    """Where y first rises through `level` as x grows: (x below, x above, x interpolated).

    x: (n,) increasing positive values, y: (n,) values (may be +-inf). The estimate is linear in
    log10 x and NaN when either neighbour is infinite. All three are NaN when y never crosses.
    """
    below = np.asarray(y) < level
    for i in range(len(x) - 1):
        if below[i] and not below[i + 1]:
            y0, y1 = y[i], y[i + 1]
            if not (np.isfinite(y0) and np.isfinite(y1)):
                return x[i], x[i + 1], math.nan
            t = (level - y0) / (y1 - y0)
            return x[i], x[i + 1], 10 ** ((1 - t) * math.log10(x[i]) + t * math.log10(x[i + 1]))
    return math.nan, math.nan, math.nan


def transitions(summary: pd.DataFrame) -> pd.DataFrame:
    """Per cell and activation, where the median decay rate turns from below 1 to at least 1.

    Returns columns cell, activation, below, above, radius (interpolated), first_rate, last_rate
    (median decay rates at the smallest and largest radius), pascanu_radius (where the median
    per-step bound gamma_f * sigma_max(U) reaches 1, NaN outside the grid), pascanu_top (that
    bound at the largest radius).
    """
    runs = longest(summary).assign(log10_decay=lambda t: log10_decay(t))
    medians = (
        runs.groupby(["cell", "activation", "radius"], sort=False)
        .agg(log10_decay=("log10_decay", "median"), pascanu_bound=("pascanu_bound", "median"))
        .reset_index()
        .sort_values("radius", kind="stable")
    )
    medians = in_order(medians)
    rows = []
    for (cell, activation), group in medians.groupby(["cell", "activation"], sort=False):
        radii = group["radius"].to_numpy()
        below, above, radius = crossing(radii, group["log10_decay"].to_numpy())
        pascanu = crossing(radii, np.log10(group["pascanu_bound"].to_numpy()))[2]
        rates = 10 ** group["log10_decay"].to_numpy()
        top = group["pascanu_bound"].iloc[-1]
        rows.append((cell, activation, below, above, radius, rates[0], rates[-1], pascanu, top))
    columns = ["cell", "activation", "below", "above", "radius", "first_rate", "last_rate"]
    return pd.DataFrame(rows, columns=[*columns, "pascanu_radius", "pascanu_top"])


def survival(gradients: pd.DataFrame, lag: int = 100) -> pd.DataFrame:
    """log10 of the share of ||dL/dh|| left after `lag` steps back, median over seeds.

    Uses the longest sequence; if it is shorter than lag + 1 steps, its longest lag instead.
    Returns columns cell, activation, radius, lag, log10_survival.
    """
    runs = longest(gradients)
    lag = min(lag, int(runs["lag"].max()))
    ends = runs[runs["lag"].isin([0, lag])].pivot_table(
        index=RUN, columns="lag", values="log10_grad_h", aggfunc="first"
    )
    share = (ends[lag] - ends[0]).rename("log10_survival").reset_index()
    medians = share.groupby(["cell", "activation", "radius"], sort=False)["log10_survival"].median()
    return in_order(medians.reset_index().sort_values("radius", kind="stable")).assign(lag=lag)


def power_of_ten(log10_value: float) -> str:
    """'3.2 × 10⁻⁴' for log10_value = log10(3.2e-4); words for the infinite cases."""
    if math.isnan(log10_value):
        return "not measurable"
    if math.isinf(log10_value):
        return "beyond float64 (overflow)" if log10_value > 0 else "exactly zero"
    exponent = math.floor(log10_value)
    mantissa = 10 ** (log10_value - exponent)
    if round(mantissa, 1) >= 10:
        mantissa, exponent = 1.0, exponent + 1
    if -2 <= exponent <= 2:
        return f"{10**log10_value:.3g}"
    return f"{mantissa:.1f} × 10{str(exponent).translate(SUPERSCRIPT)}"


def nearest(values: np.ndarray, target: float) -> float:
    """The element of `values` closest to `target` on a log scale."""
    values = np.asarray(values, dtype=float)
    return float(values[np.argmin(np.abs(np.log(values / target)))])


def transition_sentences(moves: pd.DataFrame) -> list[str]:
    """One sentence per cell and activation on where vanishing turns into exploding."""
    sentences = []
    for row in moves.itertuples():
        who = f"{CELL_NAMES.get(row.cell, row.cell)} with {row.activation}"
        if not math.isnan(row.below):
            where = f"between ρ = {row.below:g} and ρ = {row.above:g}"
            if not math.isnan(row.radius):
                where += f" (interpolated ρ ≈ {row.radius:.2f})"
            text = f"{who}: the decay rate per step crosses 1 {where}"
        elif row.first_rate >= 1:
            text = f"{who}: no vanishing in the grid; the decay rate is already {row.first_rate:.3g} at the smallest radius"
        else:
            text = f"{who}: vanishes at every radius; the decay rate is still {row.last_rate:.3g} at the largest radius"
        if not math.isnan(row.pascanu_radius):
            text += f"; Pascanu's bound γ_f‖U‖₂ reaches 1 at ρ ≈ {row.pascanu_radius:.2f}"
        elif row.pascanu_top < 1:
            text += f"; γ_f‖U‖₂ stays below 1 ({row.pascanu_top:.2g} at the largest radius), so vanishing is guaranteed"
        sentences.append(text + ".")
    return sentences


def survival_sentences(kept: pd.DataFrame) -> list[str]:
    """One sentence per cell: gradient share left after the measured lag at the radius nearest 1."""
    radius = nearest(kept["radius"].unique(), 1.0)
    at_one = kept[kept["radius"] == radius]
    lag = int(kept["lag"].iloc[0])
    sentences = []
    for cell, group in at_one.groupby("cell", sort=False):
        parts = [f"{power_of_ten(v)} ({a})" for a, v in zip(group["activation"], group["log10_survival"])]
        name = CELL_NAMES.get(cell, cell)
        sentences.append(
            f"{name} at ρ = {radius:g}: {lag} steps back, ‖∂L/∂h‖ is " + ", ".join(parts)
            + " times its value at the last step."
        )
    return sentences


def pascanu_sentences(summary: pd.DataFrame) -> list[str]:
    """How the Elman runs bear out Pascanu's sufficient and necessary conditions."""
    runs = longest(summary)
    runs = runs[runs["cell"] == "rnn"]
    if runs.empty:
        return []
    small = runs[runs["pascanu_bound"] < 1]
    large = runs[runs["pascanu_bound"] >= 1]
    exploding = runs[runs["regime"] == "exploding"]
    return [
        f"Sufficient condition: of the {len(small)} Elman runs with γ_f‖U‖₂ < 1, "
        f"{int((small['regime'] == 'vanishing').sum())} vanish.",
        f"Necessary condition: of the {len(exploding)} Elman runs that explode, "
        f"{int((exploding['pascanu_bound'] >= 1).sum())} have γ_f‖U‖₂ ≥ 1.",
        f"Not sufficient: of the {len(large)} Elman runs with γ_f‖U‖₂ ≥ 1, "
        f"only {int((large['regime'] == 'exploding').sum())} explode.",
    ]


def regime_sentence(summary: pd.DataFrame) -> str:
    """Counts of runs per regime and of float64 overflows over the whole grid."""
    counts = summary["regime"].value_counts()
    overflowed = summary[summary["overflow"].astype(bool)]
    text = (
        f"Over all {len(summary)} runs, {counts.get('vanishing', 0)} vanish, "
        f"{counts.get('stable', 0)} stay stable and {counts.get('exploding', 0)} explode"
    )
    if overflowed.empty:
        return text + "; no run overflowed float64."
    first = int(overflowed["overflow_step"].min())
    return text + f"; {len(overflowed)} overflowed float64 (the earliest at step {first})."


def normality_sentence(eigenvalues: pd.DataFrame) -> str:
    """Spectral norm against spectral radius for each initialisation (from the eigenvalue table)."""
    ratios = (
        eigenvalues.drop_duplicates(["init", "radius", "seed"])
        .assign(ratio=lambda t: t["spectral_norm"] / t["radius"])
        .groupby("init")["ratio"]
        .median()
    )
    parts = [f"‖U‖₂/ρ = {ratio:.2f} for the {init} initialisation" for init, ratio in ratios.items()]
    return "Scaled to the same spectral radius, the matrices differ in norm: " + "; ".join(parts) + "."


def summary_table(summary: pd.DataFrame, kept: pd.DataFrame, moves: pd.DataFrame) -> dict:
    """The report's summary table: a row per cell and activation, a column per radius.

    Each radius cell holds the median decay rate over seeds and the most common regime; the row
    ends with the interpolated transition radius and the gradient share left after the measured lag
    at the radius nearest 1. Returns {'radii': [...], 'lag': int, 'radius_one': float, 'rows': [...]}.
    """
    runs = longest(summary).assign(log10_decay=lambda t: log10_decay(t))
    grouped = runs.groupby(["cell", "activation", "radius"], sort=True)
    medians = grouped["log10_decay"].median()
    regimes = grouped["regime"].agg(lambda r: r.value_counts().index[0])
    radius_one = nearest(kept["radius"].unique(), 1.0)
    left = kept[kept["radius"] == radius_one].set_index(["cell", "activation"])["log10_survival"]
    move = moves.set_index(["cell", "activation"])
    radii = sorted(runs["radius"].unique())
    rows = []
    for (cell, activation), group in runs.groupby(["cell", "activation"], sort=False):
        rows.append(
            {
                "cell": cell,
                "activation": activation,
                "gamma_bound": float(group["gamma_bound"].iloc[0]),
                "rates": [
                    {
                        "rate": power_of_ten(medians.get((cell, activation, r), math.nan)),
                        "regime": regimes.get((cell, activation, r), ""),
                    }
                    for r in radii
                ],
                "transition": _radius_text(move.loc[(cell, activation)]),
                "survival": power_of_ten(left.get((cell, activation), math.nan)),
            }
        )
    lag = int(kept["lag"].iloc[0])
    return {"radii": radii, "lag": lag, "radius_one": radius_one, "rows": rows}


def _radius_text(move: pd.Series) -> str:
    if math.isnan(move["below"]):
        return "none in grid"
    if math.isnan(move["radius"]):
        return f"{move['below']:g}–{move['above']:g}"
    return f"{move['radius']:.2f}"

