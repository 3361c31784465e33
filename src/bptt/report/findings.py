"""The report's findings: sentences written from the numbers `bptt.report.data` selects.

Nothing here is typed by hand: every number in a sentence comes from the tables, and a
sentence that the data do not support is not written (a grid without Elman runs gets no
Pascanu sentences; a point whose seeds disagree is called mixed).
"""

import math

import numpy as np
import pandas as pd

from bptt.report import data, intervals
from bptt.report.intervals import bracket, decades, power_of_ten

# A first step back that changes the gradient by more than this many decades beyond the rate after it
# (a factor of 2) is named: one fitted rate would misdescribe that curve.
FIRST_STEP_APART = 0.3
# A large network's rate within this of the mean-field rate counts as the theory holding (issue 19's target).
THEORY_HOLDS = 0.005


def name(cell: str) -> str:
    return data.CELL_NAMES.get(cell, cell)


def regime_sentences(counts: dict) -> list[str]:
    """How many runs vanish, stay stable or explode; overflows and unmeasurable steps."""
    text = (
        f"Over all {counts['runs']} runs, {counts['vanishing']} vanish, {counts['stable']} stay stable "
        f"and {counts['exploding']} explode"
    )
    if counts["no_regime"]:
        text += f"; {counts['no_regime']} have no regime (T = 1, or fewer than two measurable lags)"
    if counts["overflowed"]:
        text += f"; {counts['overflowed']} overflowed float64 (the earliest at step {counts['first_overflow']})"
    else:
        text += "; no run overflowed float64"
    sentences = [text + "."]
    if counts["unmeasurable_runs"]:
        sentences.append(
            f"In {counts['unmeasurable_runs']} runs, {counts['unmeasurable_steps']} steps in all could not be "
            "measured: a gate or a slope had left float64's range and the norm fell below it. They are gaps "
            "in the figures, never zeros."
        )
    return sentences


def transition_sentences(transitions: pd.DataFrame) -> list[str]:
    """Where vanishing turns into exploding: a sentence per cell and activation whose rate reaches 1 in the grid
    (seed by seed, with no interpolated radius where the seeds disagree), and one sentence each for all those
    that vanish at every radius and all those that never vanish (their rates at the end of the grid, median
    [range] over seeds)."""
    sentences, everywhere, nowhere, unfitted = [], [], [], []
    for row in transitions.itertuples():
        who = f"{name(row.cell)} with {row.activation}"
        if not math.isnan(row.below):
            where = f"between ρ = {row.below:g} and ρ = {row.above:g}"
            if row.seeds_agree:
                text = f"{who}: the decay rate per step crosses 1 {where} for every seed"
                if not math.isnan(row.radius):
                    text += f" (interpolated from the median, ρ ≈ {row.radius:.2f})"
            else:
                text = f"{who}: the median decay rate crosses 1 {where}, but the seeds disagree: " + ", ".join(
                    f"{n} cross{'es' if n == 1 else ''} between ρ = {b:g} and {a:g}"
                    if not math.isnan(b)
                    else f"{n} never within the grid"
                    for b, a, n in row.seed_brackets
                )
            if row.cell == "rnn" and not math.isnan(row.pascanu_radius):
                text += f"; Pascanu's factor γ_f σ_max(U) reaches 1 at ρ ≈ {row.pascanu_radius:.2f}"
            sentences.append(text + ".")
        elif math.isnan(row.first_rate) and math.isnan(row.last_rate):
            unfitted.append(who)
        elif row.first_rate >= 1:
            nowhere.append(f"{who} {bracket(row.first_rate, row.first_rate_low, row.first_rate_high)}")
        else:
            text = f"{who} {bracket(row.last_rate, row.last_rate_low, row.last_rate_high)}"
            if row.cell == "rnn" and row.pascanu_top < 1:
                text += f" (γ_f σ_max(U) = {row.pascanu_top:.2g} < 1 there, so Pascanu's condition proves it)"
            everywhere.append(text)
    if everywhere:
        radius = transitions["largest_radius"].max()
        sentences.append(
            f"Vanishing at every radius of the grid, with the decay rate per step at the largest, ρ = {radius:g} "
            "(median [range] over seeds): " + "; ".join(everywhere) + "."
        )
    if nowhere:
        radius = transitions["smallest_radius"].min()
        sentences.append(
            f"Not vanishing even at the smallest radius, ρ = {radius:g}, with the decay rate per step there: "
            + "; ".join(nowhere)
            + "."
        )
    if unfitted:
        sentences.append(
            "No decay rate could be fitted (T = 1, or fewer than two measurable lags) for " + ", ".join(unfitted) + "."
        )
    return sentences


def kept_text(shape: pd.Series) -> str:
    """The share kept at the kept lag of a `data.curve_shapes` row, with its range over the seeds."""
    return decades(shape["log10_kept"], shape["log10_kept_low"], shape["log10_kept_high"])


def first_step_text(shape: pd.Series) -> str:
    """', after losing 1.3 [1.2, 1.4] decades in the first step, 0.984 [0.98, 0.99] per step thereafter' where
    the first step is FIRST_STEP_APART away from the rate after it; '' otherwise."""
    first, after = shape["log10_first_step"], shape["decay_rate_after_first"]
    if not (math.isfinite(first) and 0 < after < math.inf) or abs(first - math.log10(after)) <= FIRST_STEP_APART:
        return ""
    verb = "losing" if first < 0 else "gaining"
    size = bracket(abs(first), *sorted(abs(shape[f"log10_first_step_{e}"]) for e in ("low", "high")))
    rate = bracket(after, shape["decay_rate_after_first_low"], shape["decay_rate_after_first_high"])
    return f" ({verb} {size} decades in the first step back, then {rate} per step)"


def survival_sentences(shapes: pd.DataFrame, radius: float) -> list[str]:
    """One sentence per cell, its main variant at `radius`: the share of ‖∂L/∂h‖ kept at the kept lag per
    activation, median [range] over seeds, with the first step named where it differs from the rest.
    `shapes` from data.curve_shapes of the main variant's summary."""
    at = shapes[shapes["radius"] == radius]
    if at.empty:
        return []
    lag, seeds = int(at["kept_lag"].iloc[0]), int(at["seeds"].max())
    sentences = []
    for cell, group in at.groupby("cell", sort=False):
        parts = [f"{kept_text(r)} ({r['activation']}){first_step_text(r)}" for _, r in group.iterrows()]
        sentences.append(
            f"{name(cell)} at ρ = {radius:g}: {lag} steps back, ‖∂L/∂h‖ is "
            + ", ".join(parts)
            + f" times its value at the last step (median [range] over {seeds} seeds)."
        )
    return sentences


def pascanu_sentences(counts: dict | None) -> list[str]:
    """How the Elman runs bear out Pascanu's sufficient and necessary conditions (none without them)."""
    if counts is None:
        return []
    sentences = []
    if counts["small"]:
        text = (
            f"Sufficient condition: of the {counts['small']} Elman runs with γ_f σ_max(U) < 1, "
            f"{counts['small_vanishing']} vanish"
        )
        rest = counts["small"] - counts["small_vanishing"]
        if rest:
            text += f"; the other {rest} decay too slowly to pass the vanishing tolerance, as the bound allows"
        sentences.append(text + ".")
    if counts["exploding"]:
        sentences.append(
            f"Necessary condition: of the {counts['exploding']} Elman runs that explode, "
            f"{counts['exploding_large']} have γ_f σ_max(U) > 1."
        )
    if counts["large"]:
        text = (
            f"Not sufficient: of the {counts['large']} Elman runs with γ_f σ_max(U) > 1, "
            f"only {counts['large_exploding']} explode"
        )
        if counts["at_one"]:
            text += (
                f" (the {counts['at_one']} runs with γ_f σ_max(U) = 1 exactly satisfy neither condition"
                " and are left out)"
            )
        sentences.append(text + ".")
    return sentences


def normality_sentence(ratios: pd.DataFrame) -> str:
    """Spectral norm against spectral radius for each initialisation: median [range] over seeds and radii."""
    parts = [
        f"‖U‖₂/ρ = {bracket(r['median'], r['min'], r['max'])} for the {init} initialisation"
        for init, r in ratios.iterrows()
    ]
    return (
        "Scaled to the same spectral radius, the matrices differ in norm (median [range] over the drawn matrices): "
        + "; ".join(parts)
        + "."
    )


def summary_table(summary: pd.DataFrame, transitions: pd.DataFrame) -> dict:
    """The report's summary table: a row per cell and activation, a column per radius.

    Each radius holds the median decay rate over seeds, its range over them, and the seeds' regime (or "mixed", with
    the counts, where they disagree); the row ends with where the rate reaches 1 (the share of the
    gradient kept, with its spread, is in the survival sentences, not repeated here).
    """
    medians = data.point_medians(summary).set_index(data.POINT)
    move = transitions.set_index(["cell", "activation"])
    radii = sorted(medians.index.get_level_values("radius").unique())
    rows = []
    for (cell, activation), group in data.in_order(
        summary[["cell", "activation", "gamma_bound"]].drop_duplicates()
    ).groupby(["cell", "activation"], sort=False):
        entries = []
        for r in radii:
            point = medians.loc[(cell, activation, r)] if (cell, activation, r) in medians.index else None
            regime = "" if point is None else point["regime"]
            rate, spread = ("—", "") if point is None else _rate_parts(point)
            entries.append(
                {
                    "rate": rate,
                    "spread": spread,
                    "regime": regime,
                    "detail": _counts(point) if regime == "mixed" else "",
                }
            )
        rows.append(
            {
                "cell": cell,
                "first_of_cell": not rows or rows[-1]["cell"] != cell,
                "activation": activation,
                "gamma_bound": float(group["gamma_bound"].iloc[0]),
                "rates": entries,
                "transition": _radius_text(move.loc[(cell, activation)]),
            }
        )
    return {"radii": radii, "rows": rows}


def _rate_parts(point: pd.Series) -> tuple[str, str]:
    """A point's median rate and its range over the seeds, apart, with the digits the range supports ('' for
    the range where every seed prints alike); a rate beyond float64 (an overflow) in words."""
    values = [10 ** point[c] for c in ("log10_decay", "log10_decay_low", "log10_decay_high")]
    if not all(math.isfinite(v) for v in values):
        return power_of_ten(point["log10_decay"]), ""
    rate, spread = intervals.parts(*values)
    return rate, spread if spread.startswith("[") else ""


def _counts(point: pd.Series) -> str:
    """The seeds per regime of a point of `bptt.report.data.point_medians`: n_exploding 1, n_vanishing 2
    -> '1e 2v' (the regimes in alphabetical order, those without a seed left out)."""
    return " ".join(f"{point[f'n_{r}']}{r[0]}" for r in sorted(data.REGIMES) if point[f"n_{r}"])


def _radius_text(move: pd.Series) -> str:
    """The interpolated radius where every seed crosses 1 in the same bracket; the bracket where they do not."""
    if math.isnan(move["below"]):
        return "none in grid"
    if math.isnan(move["radius"]) or not move["seeds_agree"]:
        seeds = "" if move["seeds_agree"] else " (seeds differ)"
        return f"{move['below']:g}–{move['above']:g}{seeds}"
    return f"{move['radius']:.2f}"


def theory_sentences(points: pd.DataFrame, hidden_size: int) -> list[str]:
    """Per Elman activation: how the measured rates compare with mean-field theory at the grid's size,
    and at the large size of the theory table's own measurement."""
    sentences = []
    for activation, g in points.groupby("activation", sort=False):
        text = f"Elman RNN with {activation}: at H = {hidden_size}, "
        fitted = g.dropna(subset=["median"])
        gap = fitted["median"] - fitted["rate"]
        if fitted.empty:
            text += "no rate could be fitted (T = 1, or fewer than two measurable lags)"
        elif len(fitted) < len(g):
            text += f"a rate could be fitted at {len(fitted)} of {len(g)} radii; there it "
            text += "equals the prediction" if (gap.abs() < 1e-6).all() else f"is within {gap.abs().max():.3f} of it"
        elif (gap.abs() < 1e-6).all():
            text += "the measured rate equals the prediction at every radius"
        else:
            text += (
                f"the measured rate lies below the prediction at {int((gap < 0).sum())} of {len(g)} radii "
                f"and above it at {int((gap > 0).sum())}"
            )
            far = fitted[gap.abs() > 0.05]
            near = gap[gap.abs() <= 0.05].abs()
            if len(near):
                text += f", within {near.max():.3f} of it" + (" elsewhere" if len(far) else "")
            if len(far):
                text += "; far from it at " + ", ".join(
                    f"ρ = {r.radius:g} ({r.median:.3g} against {r.rate:.3g})" for r in far.itertuples()
                )
        large = g.dropna(subset=["large_h_rate"])
        if len(large):
            text += ". " + _large_h_clause(large)
        sentences.append(text + ".")
    return sentences


def gated_theory_sentences(points: pd.DataFrame, hidden_size: int) -> list[str]:
    """Per gated cell, activation and gate bias: where the dynamical mean-field rate of bptt.theory.dmft
    meets the rate measured with many units and where it does not (largest gap, with its sign and radius),
    how far the static mean field of bptt.theory.gated (steps independent) is off beside it, then how the
    grid's small networks compare. `points` from data.gated_theory_against_measurement."""
    sentences = []
    for (cell, activation, bias), g in points.groupby(["cell", "activation", "gate_bias"], sort=False):
        name = f"{data.CELL_NAMES.get(cell, cell)} with {activation}, gate bias {bias}"
        large = g.dropna(subset=["large_h_rate", "dmft_rate"])
        if large.empty:
            continue
        gap = large["large_h_rate"] - large["dmft_rate"]
        size = int(large["large_h"].iloc[0])
        held = large[gap.abs() <= THEORY_HOLDS]
        missed = large[gap.abs() > THEORY_HOLDS]
        text = f"{name}: with {size} units the measured rate is "
        if missed.empty:
            text += f"{_within(gap.abs().max())} of the dynamical mean-field prediction at every radius"
        else:
            worst = large.loc[gap.abs().idxmax()]
            side = "above" if worst.large_h_rate > worst.dmft_rate else "below"
            if len(held):
                text += f"{_within(gap[held.index].abs().max())} of the dynamical mean-field prediction at ρ = "
                text += ", ".join(f"{r:g}" for r in held["radius"])
                text += f"; off by more than {THEORY_HOLDS:g} at {len(missed)} radi{'us' if len(missed) == 1 else 'i'}"
            else:
                text += f"off the dynamical mean-field prediction by more than {THEORY_HOLDS:g} at every radius"
            text += f", most at ρ = {worst.radius:g}, where it is {worst.large_h_rate:.3f}, "
            text += f"{side} the predicted {worst.dmft_rate:.3f}"
        text += f" (its range over Monte Carlo seeds: up to {large['dmft_spread'].max():.3f})"
        text += "; " + _static_clause(large)
        fitted = g.dropna(subset=["median"])
        if len(fitted):
            small = (fitted["median"] - fitted["dmft_rate"]).abs()
            text += f"; at H = {hidden_size} the grid's median rate is {_within(small.max())} of it"
        sentences.append(text + ".")
    return sentences


def _static_clause(large: pd.DataFrame) -> str:
    """The static mean field beside the dynamical one: its largest gap to the large network's rate, the
    side it lies on, and whether the dynamical prediction is closer at every radius, some, or none."""
    static = large["large_h_rate"] - large["rate"]
    closer = int(((large["large_h_rate"] - large["dmft_rate"]).abs() < static.abs()).sum())
    worst = static.abs().idxmax()
    text = f"the static mean field (steps independent) is off by up to {abs(static[worst]):.3f} "
    text += f"({'below' if static[worst] > 0 else 'above'} the measured rate at ρ = {large.radius[worst]:g})"
    if closer == len(large):
        return text + ", further than the dynamical one at every radius"
    if closer == 0:
        return text + ", no further than the dynamical one at any radius"
    return text + f", further than the dynamical one at {closer} of {len(large)} radii"


def _within(d: float) -> str:
    return f"within {d:.4f}" if d >= 1e-4 else "within 0.0001"


def _large_h_clause(large: pd.DataFrame) -> str:
    """How the large network's measured rate meets the prediction: at the radii with a stationary
    state, and (named one by one only where they are further off) at those without one. The large network
    is one draw, so beside it stands how far the grid's seeds (columns min, max) differ at one radius."""
    dev = (large["large_h_rate"] - large["rate"]).abs()
    steady = np.isfinite(large["q_star"]).to_numpy()
    spread = (large["max"] - large["min"]).max()  # NaN where the grid fitted no rate (T = 1)
    seeds = "" if np.isnan(spread) else f"; the grid's seeds differ by up to {spread:.2g} at one radius"
    text = (
        f"One network of {int(large['large_h'].iloc[0])} units and inputs (one draw, so no spread over networks"
        f"{seeds}) is "
    )
    if steady.all() or not steady.any():
        return text + _within(dev.max()) + " at every radius"
    text += _within(dev[steady].max()) + " at every radius with a stationary state"
    off = [(r, d) for r, d, s in zip(large["radius"], dev, steady) if not s and d > max(dev[steady].max(), 1e-4)]
    if not off:
        return text + ", and as close where the state grows without bound"
    return (
        text
        + ", and "
        + ", ".join(f"{d:.3f} off at ρ = {r:g}" for r, d in off)
        + ", where the state grows without bound"
    )


def critical_sentences(table: pd.DataFrame) -> list[str]:
    """Where mean-field theory puts the edge of chaos for each Elman activation, against the grid."""
    sentences = []
    for row in table.itertuples():
        where = (
            "inside the grid"
            if row.smallest <= row.predicted <= row.largest
            else f"{'beyond the largest' if row.predicted > row.largest else 'below the smallest'} radius of the grid"
        )
        text = (
            f"Elman RNN with {row.activation}: mean-field theory puts the edge of chaos at ρc = {row.predicted:.3g}, "
            f"{where}"
        )
        if not math.isnan(row.below):
            text += f"; the measured median rate crosses 1 between ρ = {row.below:g} and ρ = {row.above:g}"
            text += "" if row.seeds_agree else ", though not every seed does there (above)"
        sentences.append(text + ".")
    return sentences


def variant_words(cell: str, row: pd.Series) -> str:
    """'with gate bias 1', 'with chrono', 'with the identity initialisation': a row's variant in words."""
    if cell == "rnn":
        return f"with the {row['recurrent_init']} initialisation" + (
            " (the IRNN)" if row["recurrent_init"] == "identity" else ""
        )
    return "with chrono" if row["gate_bias"] == "chrono" else f"with gate bias {row['gate_bias']}"


def remedy_sentences(shapes: pd.DataFrame, radius: float, main: dict[str, tuple[str, str]]) -> list[str]:
    """One sentence per remedy at `radius`: the share of ‖∂L/∂h‖ kept at the kept lag by each variant other than
    the cell's main one (cell -> (recurrent_init, gate_bias), whose share survival_sentences gives): the Elman
    ReLU cell by recurrent initialisation, the LSTM and the GRU with tanh by gate bias."""
    at = shapes[shapes["radius"] == radius]
    at = at[
        ((at["cell"] == "rnn") & (at["activation"] == "relu"))
        | (at["cell"].isin(["lstm", "gru"]) & (at["activation"] == "tanh"))
    ]
    sentences = []
    for (cell, activation), group in at[at["cell"].isin(main)].groupby(["cell", "activation"], sort=False):
        base = (group["recurrent_init"] == main[cell][0]) & (group["gate_bias"] == main[cell][1])
        if base.all():
            continue
        parts = [f"{kept_text(r)} {variant_words(cell, r)}{first_step_text(r)}" for _, r in group[~base].iterrows()]
        sentences.append(
            f"{name(cell)} with {activation} at ρ = {radius:g}: the share of ‖∂L/∂h‖ kept "
            f"{int(group['kept_lag'].iloc[0])} steps back is "
            + "; ".join(parts)
            + f" (and {variant_words(cell, group[base].iloc[0])}, the share in section 3)."
        )
    return sentences
