"""What the report shows, selected and computed from the collected tables: numbers, never sentences.

Every function takes the collected DataFrames (columns as in `bptt.pipeline.tables`) and
returns plain values or DataFrames; `bptt.report.figures` draws them and
`bptt.report.findings` writes them out. Medians are over seeds; decay rates come from the
longest sequence length in the grid, where the fit has the most lags.
"""

import math

import numpy as np
import pandas as pd

from bptt.pipeline import grid

RUN = ["cell", "activation", "radius", "recurrent_init", "gate_bias", "seq_len", "seed"]
POINT = ["cell", "activation", "radius"]
CELL_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}
ACTIVATION_ORDER = ("tanh", "sigmoid", "relu", "linear")
REGIMES = ("vanishing", "stable", "exploding")  # the summary's regime values (bptt.pipeline.collect)
AT_ONE = 1e-9  # |gamma_f sigma_max(U) - 1| below this counts as exactly 1 (rho = 1, orthogonal U)


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


def main_variant(table: pd.DataFrame, recurrent_init: list[str], gate_bias: list[str]) -> pd.DataFrame:
    """The rows the report's norm figures use: per cell, `bptt.pipeline.grid.main_variant`."""
    keep = pd.Series(False, index=table.index)
    for cell in table["cell"].unique():
        variant = grid.main_variant(cell, recurrent_init, gate_bias)
        if variant is not None:
            init, bias = variant
            same_bias = table["gate_bias"] == grid.gate_bias_label(bias)
            keep |= (table["cell"] == cell) & (table["recurrent_init"] == init) & same_bias
    return table[keep]


def main_variants(recurrent_init: list[str], gate_bias: list[str]) -> dict[str, tuple[str, str]]:
    """Cell -> (recurrent_init, gate_bias label) of its main variant (`bptt.pipeline.grid.main_variant`), for
    each cell that has one; gate_bias as `bptt.pipeline.grid.gate_bias_text` spells the grid's values."""
    variants = {cell: grid.main_variant(cell, recurrent_init, gate_bias) for cell in CELL_NAMES}
    return {cell: (v[0], grid.gate_bias_label(v[1])) for cell, v in variants.items() if v is not None}


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


def point_medians(summary: pd.DataFrame) -> pd.DataFrame:
    """Per cell, activation and radius at the longest T: median log10 decay rate over seeds (and its
    smallest and largest, log10_decay_low and log10_decay_high, over the `seeds` seeds), how many
    seeds fell in each regime (n_vanishing, n_stable, n_exploding), their common regime ("mixed" where
    they disagree, "" where none has one), and the median Pascanu factor gamma_f sigma_max(U) (NaN for
    the gated cells, which it does not bound)."""
    runs = longest(summary).assign(
        log10_decay=lambda t: log10_decay(t),
        **{f"n_{r}": lambda t, r=r: t["regime"].eq(r).astype(int) for r in REGIMES},
    )
    grouped = runs.groupby(POINT, sort=False)
    out = grouped.agg(
        log10_decay=("log10_decay", "median"),
        log10_decay_low=("log10_decay", "min"),
        log10_decay_high=("log10_decay", "max"),
        seeds=("seed", "nunique"),
        pascanu_bound=("pascanu_bound", "median"),
        **{f"n_{r}": (f"n_{r}", "sum") for r in REGIMES},
    )
    found = out[[f"n_{r}" for r in REGIMES]] > 0
    out["regime"] = np.select(
        [found.sum(axis=1) > 1, found.sum(axis=1) == 1],
        ["mixed", found.idxmax(axis=1).str.removeprefix("n_")],
        "",
    )
    return in_order(out.reset_index().sort_values("radius", kind="stable"))


def transitions(summary: pd.DataFrame) -> pd.DataFrame:
    """Per cell and activation, where the median decay rate turns from below 1 to at least 1.

    Columns cell, activation, below, above, radius (interpolated), first_rate, last_rate (median
    rates at the smallest and largest radius), and for the Elman cell pascanu_radius (where the
    Pascanu factor reaches 1, NaN outside the grid) and pascanu_top (that factor at the largest
    radius); NaN for gated cells. The seeds, one by one: seed_brackets, a tuple of (below, above, seeds) per
    bracket their own rates cross 1 in ((nan, nan, n): n seeds do not cross in the grid), and seeds_agree,
    true when every seed crosses where the median does (or none does); last_rate_low/high and
    first_rate_low/high are the seeds' smallest and largest rate at the largest and smallest radius.
    """
    rows = []
    per_seed = seed_crossings(summary)
    for (cell, activation), group in point_medians(summary).groupby(["cell", "activation"], sort=False):
        radii, log_rate = group["radius"].to_numpy(), group["log10_decay"].to_numpy()
        below, above, radius = crossing(radii, log_rate)
        seeds = per_seed[(per_seed["cell"] == cell) & (per_seed["activation"] == activation)]
        bound = group["pascanu_bound"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pascanu = crossing(radii, np.log10(bound))[2] if cell == "rnn" else math.nan
        rows.append(
            {
                "cell": cell,
                "activation": activation,
                "below": below,
                "above": above,
                "radius": radius,
                "first_rate": 10 ** log_rate[0],
                "last_rate": 10 ** log_rate[-1],
                "last_rate_low": 10 ** group["log10_decay_low"].iloc[-1],
                "last_rate_high": 10 ** group["log10_decay_high"].iloc[-1],
                "first_rate_low": 10 ** group["log10_decay_low"].iloc[0],
                "first_rate_high": 10 ** group["log10_decay_high"].iloc[0],
                "largest_radius": radii[-1],
                "smallest_radius": radii[0],
                "seed_brackets": _brackets(seeds),
                "seeds_agree": seeds["below"].nunique(dropna=False) <= 1
                and (seeds["below"].isna().all() or seeds["below"].eq(below).all()),
                "pascanu_radius": pascanu,
                "pascanu_top": bound[-1] if cell == "rnn" else math.nan,
            }
        )
    return pd.DataFrame(rows)


def seed_crossings(summary: pd.DataFrame) -> pd.DataFrame:
    """Per cell, activation and seed at the longest T: where that seed's own decay rate first rises through 1
    as the radius grows (columns cell, activation, seed, below, above; NaN where it does not in the grid)."""
    runs = longest(summary).assign(log10_decay=lambda t: log10_decay(t)).sort_values("radius", kind="stable")
    rows = []
    for (cell, activation, seed), group in runs.groupby(["cell", "activation", "seed"], sort=False):
        below, above, _ = crossing(group["radius"].to_numpy(), group["log10_decay"].to_numpy())
        rows.append({"cell": cell, "activation": activation, "seed": seed, "below": below, "above": above})
    return pd.DataFrame(rows, columns=["cell", "activation", "seed", "below", "above"])


def _brackets(seeds: pd.DataFrame) -> tuple:
    """((below, above, number of seeds), ...) over the distinct brackets of `seed_crossings` rows, in radius
    order, the seeds that never cross last as (nan, nan, n)."""
    counts = seeds.groupby(["below", "above"], dropna=False).size().reset_index(name="n")
    counts = counts.sort_values("below", na_position="last")
    return tuple((float(r.below), float(r.above), int(r.n)) for r in counts.itertuples())


def survival(gradients: pd.DataFrame, lag: int = 100) -> pd.DataFrame:
    """log10 of the share of ||dL/dh|| left after `lag` steps back, median over seeds.

    Uses the longest sequence; if it is shorter than lag + 1 steps, its longest lag instead.
    Returns columns cell, activation, radius, recurrent_init, gate_bias, lag, log10_survival
    (NaN where either end was not measurable; -inf where the gradient that far back is exactly 0,
    as when every unit of a ReLU network was inactive at some step between).
    """
    runs = longest(gradients).sort_values(RUN, kind="stable")
    lag = min(lag, int(runs["lag"].max()))
    last, back = runs[runs["lag"] == 0], runs[runs["lag"] == lag]  # one row per run each, in the same order
    with np.errstate(invalid="ignore"):
        values = back["log10_grad_h"].to_numpy() - last["log10_grad_h"].to_numpy()
    share = last[RUN].assign(log10_survival=values)
    keys = ["cell", "activation", "radius", "recurrent_init", "gate_bias"]
    medians = share.groupby(keys, sort=False, dropna=False)["log10_survival"].median()
    return in_order(medians.reset_index().sort_values("radius", kind="stable")).assign(lag=lag)


def nearest(values, target: float) -> float:
    """The element of `values` closest to `target` on a log scale."""
    values = np.asarray(values, dtype=float)
    return float(values[np.argmin(np.abs(np.log(values / target)))])


def pascanu_counts(summary: pd.DataFrame) -> dict[str, int] | None:
    """How the Elman runs at the longest T bear out Pascanu's conditions; None without Elman runs.

    small: gamma_f sigma_max(U) < 1 (vanishing is then proved); at_one: = 1 (neither condition
    says anything); large: > 1 (needed for exploding); with how many of each vanish or explode.
    """
    runs = longest(summary)
    runs = runs[(runs["cell"] == "rnn") & runs["regime"].notna()]
    if runs.empty:
        return None
    bound = runs["pascanu_bound"]
    small, large = runs[bound < 1 - AT_ONE], runs[bound > 1 + AT_ONE]
    exploding = runs[runs["regime"] == "exploding"]
    return {
        "small": len(small),
        "small_vanishing": int((small["regime"] == "vanishing").sum()),
        "at_one": len(runs) - len(small) - len(large),
        "large": len(large),
        "large_exploding": int((large["regime"] == "exploding").sum()),
        "exploding": len(exploding),
        "exploding_large": int((exploding["pascanu_bound"] > 1 + AT_ONE).sum()),
    }


def regime_counts(summary: pd.DataFrame) -> dict:
    """Runs per regime over the whole grid, overflows, and runs with unmeasurable steps."""
    counts = summary["regime"].value_counts()
    overflowed = summary[summary["overflow"].astype(bool)]
    unmeasurable = summary[summary["unmeasurable_steps"] > 0]
    return {
        "runs": len(summary),
        **{r: int(counts.get(r, 0)) for r in REGIMES},
        "no_regime": int(summary["regime"].isna().sum()),
        "overflowed": len(overflowed),
        "first_overflow": int(overflowed["overflow_step"].min()) if len(overflowed) else None,
        "unmeasurable_runs": len(unmeasurable),
        "unmeasurable_steps": int(unmeasurable["unmeasurable_steps"].sum()),
    }


def norm_ratios(eigenvalues: pd.DataFrame) -> pd.DataFrame:
    """||U||_2 / rho per initialisation (from the eigenvalue table): columns median, min and max over the
    table's seeds and radii."""
    return (
        eigenvalues.drop_duplicates(["init", "radius", "seed"])
        .assign(ratio=lambda t: t["spectral_norm"] / t["radius"])
        .groupby("init")["ratio"]
        .agg(["median", "min", "max"])
    )


def elman_theory(theory: pd.DataFrame) -> pd.DataFrame:
    """The theory table's Elman rows (bptt.theory.meanfield)."""
    return theory[theory["cell"] == "rnn"]


def gated_theory(theory: pd.DataFrame) -> pd.DataFrame:
    """The theory table's LSTM and GRU rows (bptt.theory.gated), one per cell, activation, gate bias, radius."""
    return theory[theory["cell"].isin(["lstm", "gru"])]


def theory_against_measurement(summary: pd.DataFrame, theory: pd.DataFrame) -> pd.DataFrame:
    """Per Elman activation and grid radius: the measured decay rate (median, min and max over seeds,
    at the longest T), the mean-field prediction, and the rate measured at large H."""
    runs = longest(summary)
    runs = runs[(runs["cell"] == "rnn") & ~runs["overflow"].astype(bool)]
    measured = runs.groupby(["activation", "radius"])["decay_rate"].agg(["median", "min", "max"]).reset_index()
    predicted = elman_theory(theory)[elman_theory(theory)["on_grid"]][
        ["activation", "radius", "q_star", "rate", "large_h", "large_h_rate", "critical_radius"]
    ]
    return in_order(measured.merge(predicted, on=["activation", "radius"]).assign(cell="rnn"))


def gated_theory_against_measurement(summary: pd.DataFrame, theory: pd.DataFrame) -> pd.DataFrame:
    """Per gated cell, activation, numeric gate bias and grid radius (orthogonal U, as the theory assumes):
    the measured decay rate at the longest T (median, min and max over seeds), the static and the dynamical
    mean-field rates, and the rate measured at large H. Columns cell, activation, gate_bias, radius, median,
    min, max, rate, transient_rate, dmft_rate, dmft_spread, large_h, large_h_rate."""
    runs = longest(summary)
    runs = runs[
        runs["cell"].isin(["lstm", "gru"]) & (runs["recurrent_init"] == "orthogonal") & ~runs["overflow"].astype(bool)
    ]
    keys = ["cell", "activation", "gate_bias", "radius"]
    measured = runs.groupby(keys)["decay_rate"].agg(["median", "min", "max"]).reset_index()
    gated = gated_theory(theory)
    predicted = gated[gated["on_grid"]][
        [*keys, "rate", "transient_rate", "dmft_rate", "dmft_spread", "large_h", "large_h_rate"]
    ]
    return in_order(measured.merge(predicted, on=keys))


def critical_radii(theory: pd.DataFrame, transitions: pd.DataFrame) -> pd.DataFrame:
    """Per Elman activation: mean-field's critical radius, the grid's range, and where the measured
    median rate crosses 1 (NaN if it does not within the grid), with whether every seed crosses there."""
    theory = elman_theory(theory)
    critical = theory.groupby("activation", sort=False)["critical_radius"].first().rename("predicted")
    elman = transitions[transitions["cell"] == "rnn"].set_index("activation")
    radii = theory[theory["on_grid"]]["radius"]
    out = pd.DataFrame({"predicted": critical}).join(elman[["below", "above", "radius", "seeds_agree"]])
    return out.assign(smallest=radii.min(), largest=radii.max()).reset_index()


SHAPE = ["log10_first_step", "decay_rate_after_first", "log10_kept"]  # bptt.pipeline.collect.shape's columns


def curve_shapes(summary: pd.DataFrame) -> pd.DataFrame:
    """What each point's curve does at the longest T, beyond its fitted rate: per cell, activation, radius,
    recurrent_init and gate_bias, the median over seeds of each SHAPE column and its smallest and largest
    (`<column>_low`, `<column>_high`), kept_lag, the number of seeds and the seeds' regimes ("vanishing" where all
    agree, "mixed" otherwise). A rate after the first step of a run that overflowed counts as +inf."""
    runs = longest(summary)
    runs = runs.assign(
        decay_rate_after_first=runs["decay_rate_after_first"].mask(runs["overflow"].astype(bool), np.inf)
    )
    keys = ["cell", "activation", "radius", "recurrent_init", "gate_bias"]
    grouped = runs.groupby(keys, sort=False, dropna=False)
    out = grouped[SHAPE].median()
    for column in SHAPE:
        out[f"{column}_low"] = grouped[column].min()
        out[f"{column}_high"] = grouped[column].max()
    out["kept_lag"] = grouped["kept_lag"].first()
    out["seeds"] = grouped["seed"].nunique()
    out["regime"] = grouped["regime"].agg(lambda r: r.iloc[0] if r.nunique(dropna=False) == 1 else "mixed")
    return in_order(out.reset_index().sort_values("radius", kind="stable"))
