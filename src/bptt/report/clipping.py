"""The clipping study in the report: divergence against the learning rate, with and without clipping.

Inputs are the collected tables as DataFrames: `runs` (results/clipping.parquet, one row per run, the
perturbed reruns marked by perturbation > 0) and `traces` (results/clipping_traces.parquet, one row per SGD
step of each unperturbed run). Figures are `matplotlib.figure.Figure`s; sentences are made of the tables'
numbers. Words used throughout:
  - a run diverged when it left float64 or its final held-out loss ended above divergence_factor times its
    loss at initialisation (the table's `diverged`);
  - the stable range of a model and clip setting is the learning rates of the sweep from the smallest up
    to the last one at which no seed diverged, every smaller one included; its top is the largest stable
    learning rate (none if the smallest already diverges);
  - a flip is a perturbed rerun whose verdict (diverged or not) differs from its original's.
"""

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bptt.report.figures import page_width
from bptt.report.findings import power_of_ten
from bptt.report.intervals import wilson
from bptt.report.training import model_label

OFF = "off"
KEYS = ["model", "clip", "learning_rate"]
COLOURS = {OFF: "crimson", "clip": "tab:blue"}
SPIKE_FACTOR = 10.0  # a spike: a norm above this many times the run's median norm


def originals(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs themselves, without their perturbed reruns."""
    return runs[runs["perturbation"] == 0]


def clip_name(clip: str) -> str:
    """ "no clipping" or "clipping at c = 10"."""
    return "no clipping" if clip == OFF else f"clipping at c = {clip}"


def clip_order(runs: pd.DataFrame) -> list[str]:
    """The clip settings of `runs`: off first, then the thresholds from small to large."""
    thresholds = sorted({c for c in runs["clip"] if c != OFF}, key=float)
    return ([OFF] if (runs["clip"] == OFF).any() else []) + thresholds


def labels(runs: pd.DataFrame) -> dict[str, str]:
    """Model name -> its reader's label, in the config's order."""
    return {row["model"]: model_label(row) for _, row in runs.drop_duplicates("model").iterrows()}


def divergence_rates(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model, clip setting and learning rate (unperturbed runs): `runs`, `diverged`, `fraction` and its
    Wilson 95 % interval `low`, `high`, and the median share of steps clipped, `clipped_share`."""
    table = originals(runs)
    table = table.assign(share=table["clipped_steps"] / table["steps"].clip(lower=1))
    rates = (
        table.groupby(KEYS, sort=False)
        .agg(runs=("seed", "size"), diverged=("diverged", "sum"), clipped_share=("share", "median"))
        .reset_index()
    )
    low, high = wilson(rates["diverged"], rates["runs"])
    return rates.assign(fraction=rates["diverged"] / rates["runs"], low=low, high=high)


def largest_stable(rates: pd.DataFrame) -> pd.DataFrame:
    """Per model and clip setting: `stable`, the largest stable learning rate (NaN if none), `unstable`, the
    first learning rate at which some seed diverged (NaN if none), and the sweep's `smallest` and `largest`."""
    rows = []
    for (model, clip), group in rates.groupby(["model", "clip"], sort=False):
        group = group.sort_values("learning_rate")
        bad = group.loc[group["diverged"] > 0, "learning_rate"]
        first_bad = bad.min() if len(bad) else math.nan
        clean = group.loc[group["learning_rate"] < first_bad if len(bad) else slice(None), "learning_rate"]
        rows.append(
            (
                model,
                clip,
                clean.max() if len(clean) else math.nan,
                first_bad,
                group["learning_rate"].min(),
                group["learning_rate"].max(),
            )
        )
    return pd.DataFrame(rows, columns=["model", "clip", "stable", "unstable", "smallest", "largest"])


def flips(runs: pd.DataFrame) -> pd.DataFrame:
    """Every perturbed rerun beside its original: KEYS, seed, `diverged`, `perturbed_diverged` and `flipped`."""
    again = runs[runs["perturbation"] > 0][KEYS + ["seed", "diverged"]]
    pairs = originals(runs)[KEYS + ["seed", "diverged"]].merge(
        again, on=KEYS + ["seed"], suffixes=("", "_again"), validate="one_to_one"
    )
    pairs = pairs.rename(columns={"diverged_again": "perturbed_diverged"})
    return pairs.assign(flipped=pairs["diverged"] != pairs["perturbed_diverged"])


def perturbed_verdicts(runs: pd.DataFrame) -> pd.DataFrame:
    """The unperturbed runs with each perturbed rerun's verdict in place of its original's."""
    pairs = flips(runs).set_index(KEYS + ["seed"])["perturbed_diverged"]
    table = originals(runs).set_index(KEYS + ["seed"])
    table.loc[pairs.index, "diverged"] = pairs
    return table.reset_index()


def _lr(value: float) -> str:
    return f"{value:g}"


def _percent(share: float) -> str:
    """A share as a percentage to two significant digits: 0.5%, 32%."""
    return f"{100 * share:.2g}%"


def _count(diverged: int, total: int, low: float, high: float) -> str:
    """ "5 of 8 (95 % interval 31–86 %)"."""
    return f"{diverged} of {total} ({low:.0%}–{high:.0%})"


def _range(row) -> str:
    """The stable range of one largest_stable row, in words."""
    if math.isnan(row["stable"]):
        return f"none: runs diverged already at the sweep's smallest learning rate, {_lr(row['smallest'])}"
    if math.isnan(row["unstable"]):
        return f"every learning rate tried, up to {_lr(row['largest'])}"
    return f"up to {_lr(row['stable'])} (the first divergence at {_lr(row['unstable'])})"


def _number(value: float) -> str:
    """A positive number as the report writes it: 3.33, or 3.3 × 10³."""
    return power_of_ten(math.log10(value))


def widening(off, clipped, sweep: list[float]) -> str:
    """How far clipping moved the top of the stable range, from two largest_stable rows and the sweep's rates."""
    if math.isnan(off["stable"]) and math.isnan(clipped["stable"]):
        return "neither setting has a stable learning rate in the sweep"
    if math.isnan(off["stable"]):
        top = _lr(clipped["stable"])
        ratio = _number(clipped["stable"] / off["smallest"])
        return f"clipping opens a stable range where there was none, up to {top}, {ratio} times the smallest rate"
    if math.isnan(clipped["stable"]):
        return "clipping closes the stable range"
    steps = sweep.index(clipped["stable"]) - sweep.index(off["stable"])
    if steps == 0:
        return "clipping does not widen it"
    ratio = clipped["stable"] / off["stable"]
    finer = max(b / a for a, b in zip(sweep, sweep[1:]))
    beyond = " or more: no run with clipping diverged in the sweep" if math.isnan(clipped["unstable"]) else ""
    moved = "widens" if steps > 0 else "narrows"
    return (
        f"clipping {moved} it by {abs(steps)} step{'s' if abs(steps) > 1 else ''} of the sweep, a factor of "
        f"{_number(max(ratio, 1 / ratio))}{beyond} (the sweep cannot resolve less than its steps, a factor of up to "
        f"{_number(finer)})"
    )


def stable_sentences(runs: pd.DataFrame) -> list[str]:
    """Per model: the stable range without and with clipping, how far clipping moved it, and whether the
    perturbed reruns' verdicts leave it where it is."""
    names, order = labels(runs), clip_order(runs)
    rates = divergence_rates(runs)
    ranges = largest_stable(rates).set_index(["model", "clip"])
    again = largest_stable(divergence_rates(perturbed_verdicts(runs))).set_index(["model", "clip"])
    seeds = int(rates["runs"].max())
    sentences = []
    for model in names:
        parts = [f"{clip_name(clip)}, {_range(ranges.loc[(model, clip)])}" for clip in order]
        text = f"{names[model]}, plain SGD, stable learning rates ({seeds} seeds each): " + "; ".join(parts)
        if len(order) == 2:
            sweep = sorted(rates.loc[rates["model"] == model, "learning_rate"].unique())
            how = widening(ranges.loc[(model, order[0])], ranges.loc[(model, order[1])], sweep)
            text += f". So {how}"
        moved = [clip for clip in order if not _same(ranges.loc[(model, clip)], again.loc[(model, clip)])]
        text += (
            "; with the perturbed reruns' verdicts in place of their originals' the ranges are the same."
            if not moved
            else f"; with the perturbed reruns' verdicts the range with {', '.join(map(clip_name, moved))} moves, "
            "so it rests on a count that rounding flips."
        )
        sentences.append(text)
    return sentences


def _same(a, b) -> bool:
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in ("stable", "unstable"))


def valve_sentence(runs: pd.DataFrame, traces: pd.DataFrame) -> str:
    """How often clipping acted at the stable learning rates (a safety valve, or a normalisation), beside the
    norm of each model's first gradient (step 1, before any update: the same for every learning rate)."""
    rates = divergence_rates(runs)
    clipped = rates[(rates["clip"] != OFF) & (rates["diverged"] == 0)]
    names = labels(runs)
    parts = []
    for model, group in clipped.groupby("model", sort=False):
        low, high = group.loc[group["clipped_share"].idxmin()], group.loc[group["clipped_share"].idxmax()]
        first = traces.loc[(traces["model"] == model) & (traces["step"] == 1), "grad_norm"]
        parts.append(
            f"the {names[model]} a median of {_percent(low['clipped_share'])} of its steps at learning rate "
            f"{_lr(low['learning_rate'])} to {_percent(high['clipped_share'])} at {_lr(high['learning_rate'])} "
            f"(its first gradient's norm: {_number(first.median())} in the median run, {_number(first.min())} to "
            f"{_number(first.max())})"
        )
    if not parts:
        return "With clipping, some run diverged at every learning rate."
    return (
        "At the learning rates where no run with clipping diverged, clipping acted on "
        + "; ".join(parts)
        + f", against c = {clipped['clip'].iloc[0]}."
    )


def flip_sentence(runs: pd.DataFrame) -> str:
    """How many perturbed reruns changed their verdict, and where."""
    pairs = flips(runs)
    if pairs.empty:
        return "No run was repeated from perturbed initial weights."
    n, k = len(pairs), int(pairs["flipped"].sum())
    perturbation = runs["perturbation"].max()
    low, high = wilson(k, n)
    where = pairs[pairs["flipped"]]
    names = labels(runs)
    detail = "; ".join(
        f"{len(g)} of the {names[m]}'s runs {'without clipping' if c == OFF else 'with ' + clip_name(c)} at "
        f"learning rate {_lr(lr)}"
        for (m, c, lr), g in where.groupby(KEYS, sort=False)
    )
    return (
        f"Rerun from initial weights scaled entrywise by 1 + {perturbation:g} × (standard normal noise), "
        f"{k} of {n} runs changed their verdict (flip rate {_percent(k / n)}, 95 % interval "
        f"{_percent(low)}–{_percent(high)})" + (f": {detail}." if k else ".")
    )


def spike_sentence(runs: pd.DataFrame) -> str:
    """The largest gradient norms met, without clipping and with it."""
    table = originals(runs)
    parts = []
    for clip in clip_order(table):
        mine = table[table["clip"] == clip]
        top = mine["max_grad_norm"].max()
        parts.append(f"{'without clipping' if clip == OFF else 'with ' + clip_name(clip)}, {_number(top)}")
    return (
        "The largest gradient norm met before clipping, over the sweep: "
        + "; ".join(parts)
        + " (with clipping, each such step moved the weights by at most the learning rate times c)."
    )


def findings(runs: pd.DataFrame, traces: pd.DataFrame) -> list[str]:
    """Every clipping finding, in reading order."""
    return [*stable_sentences(runs), valve_sentence(runs, traces), flip_sentence(runs), spike_sentence(runs)]


def rate_table(runs: pd.DataFrame) -> dict:
    """The per-learning-rate divergence counts as the template's table: columns (model label, clip name), rows
    learning rates, each cell "k of n (low–high)"."""
    rates = divergence_rates(runs)
    names, order = labels(runs), clip_order(runs)
    columns = [(model, clip) for model in names for clip in order]
    cells = rates.set_index(KEYS)
    rows = []
    for lr in sorted(rates["learning_rate"].unique()):
        entries = []
        for model, clip in columns:
            if (model, clip, lr) in cells.index:
                r = cells.loc[(model, clip, lr)]
                entries.append(_count(int(r["diverged"]), int(r["runs"]), r["low"], r["high"]))
            else:
                entries.append("")
        rows.append({"learning_rate": _lr(lr), "cells": entries})
    return {
        "models": [{"label": names[m], "span": len(order)} for m in names],
        "clips": [clip_name(c) for _ in names for c in order],
        "rows": rows,
    }


def divergence_figure(runs: pd.DataFrame) -> Figure:
    """Share of seeds that diverged against the learning rate (log axis), a panel per model, a line per clip
    setting with its Wilson 95 % interval; the shaded band is each setting's stable range."""
    rates, names, order = divergence_rates(runs), labels(runs), clip_order(runs)
    ranges = largest_stable(rates).set_index(["model", "clip"])
    figure = Figure(figsize=(page_width(3.6 * len(names) + 1.8), 3.0), layout="constrained")
    axes = figure.subplots(1, len(names), squeeze=False, sharey=True)[0]
    for ax, model in zip(axes, names):
        for i, clip in enumerate(order):
            colour = COLOURS[OFF if clip == OFF else "clip"]
            line = rates[(rates["model"] == model) & (rates["clip"] == clip)].sort_values("learning_rate")
            shift = 1.06 ** (i - (len(order) - 1) / 2)  # keep the two intervals apart
            x = line["learning_rate"] * shift
            error = [line["fraction"] - line["low"], line["high"] - line["fraction"]]
            ax.errorbar(x, line["fraction"], yerr=error, color=colour, marker="o", ms=3.5, lw=1.3, capsize=2)
            top = ranges.loc[(model, clip), "stable"]
            if not math.isnan(top):
                ax.axvspan(
                    line["learning_rate"].min() / 1.3,
                    top * 1.15,
                    ymin=0.92 - 0.06 * i,
                    ymax=0.97 - 0.06 * i,
                    color=colour,
                    alpha=0.5,
                    lw=0,
                )
        ax.set_xscale("log")
        ax.set_ylim(-0.05, 1.1)
        ax.set_title(names[model], fontsize=9)
        ax.set_xlabel("SGD learning rate")
    axes[0].set_ylabel("share of seeds that diverged")
    handles = [
        Line2D([], [], color=COLOURS[OFF if c == OFF else "clip"], marker="o", label=clip_name(c)) for c in order
    ]
    handles.append(Line2D([], [], color="0.5", lw=5, alpha=0.5, label="stable range"))
    figure.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    return figure


def first_spike(norm: np.ndarray, baseline: int = 1) -> int | None:
    """Index of the first step whose ‖g‖ (1-D, in step order) exceeds SPIKE_FACTOR times the median of every
    step before it, from step `baseline` on; None if there is none."""
    for k in range(baseline, len(norm)):
        if norm[k] > SPIKE_FACTOR * np.median(norm[:k]):
            return k
    return None


def steepest_rise(norm: np.ndarray) -> float:
    """The largest one-step ratio ‖g_k‖ / ‖g_{k-1}‖ of a trace (non-finite norms left out); 0 if none."""
    finite = norm[np.isfinite(norm) & (norm > 0)]
    return float(np.max(finite[1:] / finite[:-1])) if len(finite) > 1 else 0.0


def traced_runs(runs: pd.DataFrame, traces: pd.DataFrame) -> pd.DataFrame:
    """Per model, the run whose traces the report shows: among the (learning rate, seed) in the stable range
    with clipping whose unclipped run diverged, the one whose unclipped ‖g‖ rose most steeply in one step.
    Columns: model, learning_rate, seed, clip (the threshold), rise. A model with no such run is left out."""
    table, order = originals(runs), clip_order(runs)
    columns = ["model", "learning_rate", "seed", "clip", "rise"]
    if len(order) < 2 or order[0] != OFF:
        return pd.DataFrame(columns=columns)
    verdict = table.pivot_table(index=["model", "learning_rate", "seed"], columns="clip", values="diverged")
    top = largest_stable(divergence_rates(runs)).set_index(["model", "clip"])["stable"].xs(order[1], level="clip")
    within = verdict.index.get_level_values("learning_rate") <= top.reindex(verdict.index.get_level_values("model"))
    contrast = verdict[(verdict[OFF] == 1) & within.to_numpy()].index
    unclipped = traces[traces["clip"] == OFF].groupby(["model", "learning_rate", "seed"])["grad_norm"]
    rows = []
    for model, lr, seed in contrast:
        rows.append((model, lr, seed, order[1], steepest_rise(unclipped.get_group((model, lr, seed)).to_numpy())))
    found = pd.DataFrame(rows, columns=columns)
    best = found.loc[found.groupby("model", sort=False)["rise"].idxmax()] if len(found) else found
    return best.set_index("model").reindex([m for m in labels(runs) if m in set(best["model"])]).reset_index()


def trace_figure(runs: pd.DataFrame, traces: pd.DataFrame) -> Figure:
    """log10 ‖g‖ before clipping against the SGD step for the runs of `traced_runs`, a panel per model: the
    same seed and learning rate without clipping (a cross where it left float64) and with it (ticks at the
    clipped steps; the threshold c dashed). The circle marks the unclipped run's first spike (`first_spike`);
    the square the largest gradient that clipping bounded, with its norm."""
    chosen, names = traced_runs(runs, traces), labels(runs)
    figure = Figure(figsize=(page_width(3.8 * max(len(chosen), 1) + 2.4), 3.0), layout="constrained")
    axes = figure.subplots(1, max(len(chosen), 1), squeeze=False)[0]
    for ax, row in zip(axes, chosen.itertuples()):
        for clip in (OFF, row.clip):
            run = traces[
                (traces["model"] == row.model)
                & (traces["learning_rate"] == row.learning_rate)
                & (traces["seed"] == row.seed)
                & (traces["clip"] == clip)
            ].sort_values("step")
            colour = COLOURS[OFF if clip == OFF else "clip"]
            norm = run["grad_norm"].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                log_norm = np.where(np.isfinite(norm), np.log10(norm), np.nan)
            ax.plot(run["step"], log_norm, color=colour, lw=1.0)
            if clip == OFF:
                spike = first_spike(norm)
                if spike is not None:
                    ax.plot(run["step"].iloc[spike], log_norm[spike], "o", mfc="none", color=colour, ms=7)
                finite = np.flatnonzero(np.isfinite(log_norm))
                if len(finite) < len(norm) or len(norm) < run["step"].max():  # it left float64
                    ax.plot(run["step"].iloc[finite[-1]], log_norm[finite[-1]], "x", color=colour, ms=8, mew=1.5)
            else:
                hits = run[run["clipped"]]
                ax.plot(hits["step"], np.zeros(len(hits)), "|", color=colour, ms=6, transform=ax.get_xaxis_transform())
                ax.axhline(np.log10(float(clip)), color=colour, ls="--", lw=0.8)
                if len(hits):
                    top = hits.loc[hits["grad_norm"].idxmax()]
                    ax.plot(top["step"], np.log10(top["grad_norm"]), "s", mfc="none", color="black", ms=6)
                    ax.annotate(
                        f"‖g‖ = {top['grad_norm']:.2g} → {clip}",
                        (top["step"], np.log10(top["grad_norm"])),
                        xytext=(5, 4),
                        textcoords="offset points",
                        fontsize=7,
                    )
        ax.set_title(f"{names[row.model]}, learning rate {_lr(row.learning_rate)}, seed {row.seed}", fontsize=8)
        ax.set_xlabel("SGD step")
    axes[0].set_ylabel("log₁₀ ‖g‖ before clipping")
    handles = [
        Line2D([], [], color=COLOURS[OFF], label="no clipping"),
        Line2D([], [], color=COLOURS["clip"], label="clipping (ticks: clipped steps)"),
        Line2D([], [], color="0.3", marker="o", mfc="none", ls="", label="first spike"),
        Line2D([], [], color="0.3", marker="x", ls="", label="left float64"),
        Line2D([], [], color="black", marker="s", mfc="none", ls="", label="largest ‖g‖ clipped"),
    ]
    figure.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
    return figure
