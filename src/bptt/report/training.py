"""The training experiments in the report: figures and findings from the training tables.

Inputs are the collected tables as DataFrames (columns as in the training section of
`bptt.pipeline.tables`): `training` (one row per evaluation), `summary` (one row per run), and the
cliff's `surface` and `paths`. Figures are `matplotlib.figure.Figure`s built directly, as in
`bptt.report.figures` (serialise them with its `to_svg`); findings are sentences made of the
tables' numbers, nothing typed by hand. Words used throughout:
  - a run is solved when its final held-out metric is within the collect step's solved_fraction of
    chance's distance from a perfect score (the summary's `solved`);
  - a model solves a task at a length when at least half of its seeds are solved there;
  - a spike is a gradient norm above SPIKE_FACTOR times the median norm of its run.
"""

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps, colors, ticker
from matplotlib.figure import Figure

from bptt.report.data import CELL_NAMES
from bptt.report.figures import PAGE_WIDTH_IN
from bptt.report.findings import power_of_ten

TASK_NAMES = {"adding": "the adding problem", "recall": "the recall task"}
METRIC_NAMES = {"adding": "held-out MSE", "recall": "held-out accuracy"}
SPIKE_FACTOR = 10.0
OFF = "no clipping"


def model_label(spec) -> str:
    """A reader's name for a model from its summary row: "Elman tanh RNN", "IRNN", "LSTM (forget bias 1)", ...

    What differs from the usual (tanh, orthogonal, rho = 1) is named; the IRNN is ReLU with U = I.
    """
    cell, activation, init, radius, bias = (
        spec[k] for k in ("cell", "activation", "recurrent_init", "radius", "gate_bias")
    )
    if cell == "rnn" and activation == "relu" and init == "identity" and radius == 1:
        return "IRNN"
    details = [] if cell == "rnn" or activation == "tanh" else [activation]
    details += [] if init == "orthogonal" else [init]
    details += [] if radius == 1 else [f"ρ = {radius:g}"]
    if cell == "rnn":
        return f"Elman {activation} RNN" + (f" ({', '.join(details)})" if details else "")
    gate = "chrono" if bias == "chrono" else f"{'forget' if cell == 'lstm' else 'update'} bias {bias}"
    return f"{CELL_NAMES[cell]} ({', '.join([gate, *details])})"


def model_labels(summary: pd.DataFrame) -> dict[str, str]:
    """Model name -> its label, in the order the models first appear (the config's)."""
    first = summary.drop_duplicates("model")
    return {row["model"]: model_label(row) for _, row in first.iterrows()}


def clip_label(clip) -> str:
    """ "no clipping" for a null threshold, "clipping at c = 1" otherwise."""
    return OFF if clip is None or (isinstance(clip, float) and math.isnan(clip)) else f"clipping at c = {clip:g}"


def clip_phrase(label: str) -> str:
    """A clipping label as it reads in a sentence: "without clipping", "with clipping at c = 1"."""
    return "without clipping" if label == OFF else f"with {label}"


def _labelled(table: pd.DataFrame) -> pd.DataFrame:
    """`table` with a `clipping` label column (null clip thresholds cannot be grouped by pandas)."""
    return table.assign(clipping=[clip_label(c) for c in table["clip"]])


def clip_order(table: pd.DataFrame) -> list[str]:
    """The clipping labels of `table`: no clipping first, then the thresholds from small to large."""
    thresholds = sorted(c for c in table["clip"].dropna().unique())
    return ([OFF] if table["clip"].isna().any() else []) + [clip_label(c) for c in thresholds]


def spikes(training: pd.DataFrame) -> pd.DataFrame:
    """The evaluation rows whose grad_norm exceeds SPIKE_FACTOR times the median grad_norm of their run."""
    keys = ["task", "model", "seq_len", "clip", "seed"]
    median = training.groupby(keys, dropna=False)["grad_norm"].transform("median")
    return training[training["grad_norm"] > SPIKE_FACTOR * median]


def gradient_traces(training: pd.DataFrame, summary: pd.DataFrame, task: str, seq_len: int) -> Figure:
    """‖g‖ before clipping (largest since the previous evaluation) against step, at one task and T:
    a column per model, a row per clipping setting, a line per seed. Circles mark spikes, ticks at the
    bottom the evaluations after which some steps were clipped (a row of ticks per seed, in its colour; the
    threshold is dashed), crosses where a run diverged (at its last evaluation before). Each model's column
    has its own y-range, shared by its clipping settings: one model's explosion does not flatten the others.
    The figure is the page's width, so its 7-pt text is 9.3 px at 1280 px (figures.page_px)."""
    labels, clippings = model_labels(summary), clip_order(summary)
    table = _labelled(training[(training["task"] == task) & (training["seq_len"] == seq_len)])
    marked = _labelled(spikes(training[(training["task"] == task) & (training["seq_len"] == seq_len)]))
    ended = _labelled(summary[(summary["task"] == task) & (summary["seq_len"] == seq_len) & summary["diverged"]])
    seeds = sorted(summary["seed"].unique())
    shades = dict(zip(seeds, colormaps["viridis"](np.linspace(0.1, 0.8, len(seeds)))))
    figure = Figure(figsize=(PAGE_WIDTH_IN, 1.9 * len(clippings) + 0.7), layout="constrained")
    grid = figure.subplots(len(clippings), len(labels), squeeze=False, sharex=True, sharey="col")
    for i, clipping in enumerate(clippings):
        for j, model in enumerate(labels):
            ax = grid[i, j]
            ax.set_label(f"{labels[model]}, {clipping}")  # the panel's name; the page shows it as title and row label
            mine = table[(table["clipping"] == clipping) & (table["model"] == model)]
            for seed, run in mine.groupby("seed"):
                ax.plot(run["step"], run["grad_norm"], color=shades[seed], lw=0.9)
                clipped = run[run["clipped"] > 0]
                ax.plot(
                    clipped["step"],
                    np.full(len(clipped), 0.05 + 0.07 * seeds.index(seed)),  # inside the panel, a row per seed
                    "|",
                    color=shades[seed],
                    ms=6,
                    mew=1.5,
                    transform=ax.get_xaxis_transform(),
                )
            spiky = marked[(marked["clipping"] == clipping) & (marked["model"] == model)]
            ax.plot(spiky["step"], spiky["grad_norm"], "o", mfc="none", color="crimson", ms=5)
            for _, run in ended[(ended["clipping"] == clipping) & (ended["model"] == model)].iterrows():
                last = mine[mine["seed"] == run["seed"]].tail(1)
                ax.plot(last["step"], last["grad_norm"].fillna(1.0), "x", color="crimson", ms=8, mew=1.5)
            threshold = mine["clip"].dropna()
            if len(threshold):
                ax.axhline(threshold.iloc[0], color="0.3", ls="--", lw=0.8)
            ax.set_yscale("log")
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(labels[model], fontsize=8)
        grid[i, 0].set_ylabel(f"{clipping}\n‖g‖ before clipping", fontsize=8)
    for ax in grid[0]:  # a column's range, shared by its rows
        _room_for_ticks(ax, len(seeds))
    for ax in grid[-1]:
        ax.set_xlabel("training step", fontsize=8)
    figure.suptitle(f"{TASK_NAMES.get(task, task).capitalize()}, T = {seq_len}", fontsize=10)
    return figure


def _room_for_ticks(ax, seeds: int) -> None:
    """Lower a log-scaled panel's floor so that its rows of clipping ticks (the bottom 0.05 + 0.07 * seeds of
    the panel) lie below the lines; label 1, 2 and 5 of each decade where the range is under two decades."""
    low, high = ax.get_ylim()
    span = np.log10(high / low)
    share = 0.05 + 0.07 * seeds
    ax.set_ylim(low / 10 ** (span * share / (1 - share)), high)
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    if span < 2:
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))


def cliff_figure(surface: pd.DataFrame, paths: pd.DataFrame) -> Figure:
    """Pascanu's cliff: log10 of the exact loss over (w, b), with the SGD paths from each start, a panel
    without clipping and one with it. Paths may leave the panel (an unclipped step on the wall)."""
    grid = surface.pivot(index="b", columns="w", values="loss")
    clippings = clip_order(paths)
    table = _labelled(paths)
    figure = Figure(figsize=(4.0 * len(clippings) + 1.0, 3.6), layout="constrained")
    axes = figure.subplots(1, len(clippings), squeeze=False, sharey=True)[0]
    norm = colors.Normalize(vmin=float(np.log10(grid.to_numpy().min())), vmax=float(np.log10(grid.to_numpy().max())))
    for ax, clipping in zip(axes, clippings):
        image = ax.pcolormesh(
            grid.columns,
            grid.index,
            np.log10(grid.to_numpy()),
            cmap="viridis",
            norm=norm,
            shading="nearest",
            rasterized=True,  # one embedded image: as vector cells the surface made a 10 MB SVG
        )
        for _, path in table[table["clipping"] == clipping].groupby("start"):
            path = path.sort_values("step")
            ax.plot(path["w"], path["b"], color="white", lw=1.0, marker=".", ms=3)
            ax.plot(path["w"].iloc[:1], path["b"].iloc[:1], "o", color="white", mec="black", ms=5)
        ax.set_xlim(grid.columns.min(), grid.columns.max())
        ax.set_ylim(grid.index.min(), grid.index.max())
        rate = table["learning_rate"].iloc[0]
        ax.set_title(f"SGD, learning rate {rate:g}, {clipping}", fontsize=9)
        ax.set_xlabel("w")
    axes[0].set_ylabel("b")
    bar = figure.colorbar(image, ax=list(axes), shrink=0.9)
    bar.set_label(f"log₁₀ L, T = {int(surface['seq_len'].iloc[0])}")
    return figure


def spike_sentence(training: pd.DataFrame, summary: pd.DataFrame) -> str:
    """The largest gradient norm before clipping, where it occurred, and how common spikes were."""
    labels = model_labels(summary)
    top = summary.loc[summary["max_grad_norm"].idxmax()]
    runs_with = spikes(training).groupby(["task", "model", "seq_len", "clip", "seed"], dropna=False).ngroups
    return (
        f"The largest gradient norm before clipping was {power_of_ten(math.log10(top['max_grad_norm']))} "
        f"({labels[top['model']]}, {TASK_NAMES.get(top['task'], top['task'])}, T = {top['seq_len']}, "
        f"{clip_label(top['clip'])}); {runs_with} of {len(summary)} runs had a spike above "
        f"{SPIKE_FACTOR:g} times their median norm, and {int((summary['clipped_steps'] > 0).sum())} of "
        f"{int(summary['clip'].notna().sum())} runs with clipping were clipped at least once."
    )


def cliff_sentence(paths: pd.DataFrame) -> str:
    """What clipping did on Pascanu's cliff: the largest step of each kind, and where the paths ended."""
    table = _labelled(paths).sort_values(["clipping", "start", "step"])
    moves = table.groupby(["clipping", "start"])[["w", "b"]].diff()
    table = table.assign(move=np.hypot(moves["w"], moves["b"]))
    parts = []
    for clipping in clip_order(paths):
        mine = table[table["clipping"] == clipping]
        final = mine.groupby("start")["loss"].last()
        parts.append(
            f"{clip_phrase(clipping)}, the largest step in (w, b) was {mine['move'].max():.3g} and the "
            f"{len(final)} path{'s' if len(final) > 1 else ''} ended at losses "
            f"from {final.min():.3g} to {final.max():.3g}"
        )
    steep = paths["grad_norm"].max()
    rate = paths["learning_rate"].iloc[0]
    return (
        f"On Pascanu's one-unit RNN (plain SGD, learning rate {rate:g}; the steepest gradient met on a "
        f"path was {steep:.3g}): " + "; ".join(parts) + "."
    )


def findings(training: pd.DataFrame, summary: pd.DataFrame, paths: pd.DataFrame) -> list[str]:
    """Every training finding, in reading order: the gradient norms met in training and Pascanu's cliff.
    Which lengths each model learns, and whether clipping widens the stable learning rates, are the
    trainability and clipping studies' (`bptt.report.trainability`, `bptt.report.clipping`): with their
    search over learning rates, intervals and robustness checks, they supersede counts of this grid's runs."""
    return [spike_sentence(training, summary), cliff_sentence(paths)]
