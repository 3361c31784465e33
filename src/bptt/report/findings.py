"""The report's findings: sentences written from the numbers `bptt.report.data` selects.

Nothing here is typed by hand: every number in a sentence comes from the tables, and a
sentence that the data do not support is not written (a grid without Elman runs gets no
Pascanu sentences; a point whose seeds disagree is called mixed).
"""

import math

import numpy as np
import pandas as pd

from bptt.report import data

SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# A large network's rate within this of the mean-field rate counts as the theory holding (issue 19's target).
THEORY_HOLDS = 0.005


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
    """One sentence per cell and activation on where vanishing turns into exploding."""
    sentences = []
    for row in transitions.itertuples():
        who = f"{name(row.cell)} with {row.activation}"
        if not math.isnan(row.below):
            where = f"between ρ = {row.below:g} and ρ = {row.above:g}"
            if not math.isnan(row.radius):
                where += f" (interpolated ρ ≈ {row.radius:.2f})"
            text = f"{who}: the decay rate per step crosses 1 {where}"
        elif math.isnan(row.first_rate) and math.isnan(row.last_rate):
            text = f"{who}: no decay rate could be fitted (T = 1, or fewer than two measurable lags)"
        elif row.first_rate >= 1:
            text = f"{who}: no vanishing in the grid; the decay rate is already {row.first_rate:.3g}"
            text += " at the smallest radius"
        else:
            text = f"{who}: vanishes at every radius; the decay rate is still {row.last_rate:.3g} at the largest radius"
        if row.cell == "rnn" and not math.isnan(row.pascanu_radius):
            text += f"; Pascanu's factor γ_f σ_max(U) reaches 1 at ρ ≈ {row.pascanu_radius:.2f}"
        elif row.cell == "rnn" and row.pascanu_top < 1:
            text += (
                f"; γ_f σ_max(U) stays below 1 ({row.pascanu_top:.2g} at the largest radius), "
                "so Pascanu's sufficient condition proves the vanishing"
            )
        sentences.append(text + ".")
    return sentences


def survival_sentences(survival: pd.DataFrame) -> list[str]:
    """One sentence per cell: gradient share left after the measured lag at the radius nearest 1."""
    radius = data.nearest(survival["radius"].unique(), 1.0)
    at_one = survival[survival["radius"] == radius]
    lag = int(survival["lag"].iloc[0])
    sentences = []
    for cell, group in at_one.groupby("cell", sort=False):
        parts = [f"{power_of_ten(v)} ({a})" for a, v in zip(group["activation"], group["log10_survival"])]
        sentences.append(
            f"{name(cell)} at ρ = {radius:g}: {lag} steps back, ‖∂L/∂h‖ is "
            + ", ".join(parts)
            + " times its value at the last step."
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


def normality_sentence(ratios: pd.Series) -> str:
    """Spectral norm against spectral radius for each initialisation."""
    parts = [f"‖U‖₂/ρ = {ratio:.2f} for the {init} initialisation" for init, ratio in ratios.items()]
    return "Scaled to the same spectral radius, the matrices differ in norm: " + "; ".join(parts) + "."


def summary_table(summary: pd.DataFrame, survival: pd.DataFrame, transitions: pd.DataFrame) -> dict:
    """The report's summary table: a row per cell and activation, a column per radius.

    Each radius holds the median decay rate over seeds and the seeds' regime (or "mixed", with
    the counts, where they disagree); the row ends with the interpolated transition radius
    and the gradient share left after the measured lag at the radius nearest 1.
    """
    medians = data.point_medians(summary).set_index(data.POINT)
    radius_one = data.nearest(survival["radius"].unique(), 1.0)
    left = survival[survival["radius"] == radius_one].set_index(["cell", "activation"])["log10_survival"]
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
            entries.append(
                {
                    "rate": "—" if point is None else power_of_ten(point["log10_decay"]),
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
                "survival": power_of_ten(left.get((cell, activation), math.nan)),
            }
        )
    return {"radii": radii, "lag": int(survival["lag"].iloc[0]), "radius_one": radius_one, "rows": rows}


def _counts(point: pd.Series) -> str:
    """The seeds per regime of a point of `bptt.report.data.point_medians`: n_exploding 1, n_vanishing 2
    -> '1e 2v' (the regimes in alphabetical order, those without a seed left out)."""
    return " ".join(f"{point[f'n_{r}']}{r[0]}" for r in sorted(data.REGIMES) if point[f"n_{r}"])


def _radius_text(move: pd.Series) -> str:
    if math.isnan(move["below"]):
        return "none in grid"
    if math.isnan(move["radius"]):
        return f"{move['below']:g}–{move['above']:g}"
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
            text += f"; at H = {hidden_size} the grid's median rate is within {small.max():.2f} of it"
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
    state, and (named one by one only where they are further off) at those without one."""
    dev = (large["large_h_rate"] - large["rate"]).abs()
    steady = np.isfinite(large["q_star"]).to_numpy()
    text = f"With {int(large['large_h'].iloc[0])} units and inputs it is "
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
            text += f"; the measured rate crosses 1 between ρ = {row.below:g} and ρ = {row.above:g}"
        sentences.append(text + ".")
    return sentences


def remedy_sentences(table: pd.DataFrame, radius: float) -> list[str]:
    """One sentence per remedy: the share of ||dL/dh|| left after the measured lag for each variant."""
    sentences = []
    for (cell, activation), group in table.groupby(["cell", "activation"], sort=False):
        what = "recurrent initialisation" if cell == "rnn" else "gate bias"
        parts = [
            f"{power_of_ten(v)} with {what} {variant}" for variant, v in zip(group["variant"], group["log10_survival"])
        ]
        lag = int(group["lag"].iloc[0])
        sentences.append(
            f"{name(cell)} with {activation} at ρ = {radius:g}: {lag} steps back, ‖∂L/∂h‖ is " + "; ".join(parts) + "."
        )
    return sentences
