"""The trainability study in the report: does the gradient timescale at initialisation predict the
longest length each network learns? Figures and findings from the study's two tables.

Inputs: `runs` (results/trainability.parquet, one row per run) and `summary`
(results/trainability_summary.parquet, one row per task and model), as DataFrames, and the models'
specs (config.yaml's trainability.models) for their names. Every sentence is made of the tables'
numbers. Words: a run is solved when a held-out evaluation met the criterion; a model solves a
length when at least half of its seeds at its chosen learning rate solved it (`bptt.pipeline.study`).
"""

import math

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from bptt.pipeline import study
from bptt.pipeline.grid import gate_bias_text
from bptt.report.data import CELL_NAMES
from bptt.report.figures import PAGE_WIDTH_IN
from bptt.report.training import TASK_NAMES, model_label

MARKERS = {"adding": "o", "recall": "s"}
# The ladder figure's markers and line styles, by a model's place within its cell kind's panel.
LADDER_MARKERS = ("o", "s", "^", "D", "v")
LADDER_STYLES = ("-", "--", ":", "-.", (0, (5, 1)))
KIND_NAMES = {"rnn": "Elman and ReLU networks", "lstm": "LSTMs", "gru": "GRUs"}
BOOTSTRAP = 2000
# A model is named as off the trend when its rank in longest solved length and its rank in timescale
# differ by at least this share of the number of points.
OFF_TREND = 0.25


def labels(specs: dict) -> dict[str, str]:
    """Model name -> the reader's name (`bptt.report.training.model_label`)."""
    return {n: model_label({**s, "gate_bias": gate_bias_text(s["gate_bias"])}) for n, s in specs.items()}


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank)."""
    return pd.DataFrame(a.reshape(-1, a.shape[-1])).rank(axis=1).to_numpy().reshape(a.shape)


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of x and y along the last axis (NaN where a rank is constant)."""
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(axis=-1, keepdims=True), ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rx * ry).sum(axis=-1) / np.sqrt((rx * rx).sum(axis=-1) * (ry * ry).sum(axis=-1))


def bridge(runs: pd.DataFrame, rng: np.random.Generator | None = None) -> dict:
    """Spearman's rho between the median timescale at initialisation and the longest solved length
    over every (task, model), and its bootstrap 95 % interval: the seeds resampled with replacement,
    independently per point, the chosen learning rate's runs (both quantities recomputed)."""
    rng = rng or np.random.default_rng(0)
    chosen = study.at_chosen(runs[runs["run"] == "study"])
    tau, length, boot_tau, boot_len = [], [], [], []
    ladders = runs.groupby("task")["seq_len"].unique()
    for (task, _), group in chosen.groupby(["task", "model"]):
        table, ladder = study.solved_table(group, ladders[task])
        per_seed = group.groupby("seed")["timescale_init"].median().to_numpy()  # the seed's network, over T
        picks = rng.integers(0, len(table), (BOOTSTRAP, len(table)))
        tau.append(np.median(per_seed))
        length.append(study.longest(table, ladder))
        boot_tau.append(np.median(per_seed[picks], axis=1))
        boot_len.append(study.longest(table[picks], ladder))
    keep = np.isfinite(np.array(tau)) | np.isinf(np.array(tau))  # a point whose timescale was unmeasurable: out
    tau, length = np.array(tau)[keep], np.array(length, dtype=float)[keep]
    rho = float(spearman(tau, length))
    boot = spearman(np.array(boot_tau)[keep].T, np.array(boot_len)[keep].T.astype(float))
    boot = boot[np.isfinite(boot)]
    low, high = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
    return {"rho": rho, "low": float(low), "high": float(high), "points": len(tau), "left_out": int((~keep).sum())}


def bridge_figure(summary: pd.DataFrame, specs: dict) -> Figure:
    """Longest solved length against the timescale at initialisation, log axes, a point per model and
    task (marker: task; colour: model), bars: the bootstrap interval over seeds. A model that solved no
    length sits on the floor (half the first rung, open marker); an infinite timescale at the right edge."""
    names = labels(specs)
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    finite = summary["timescale_init"].replace(np.inf, np.nan).dropna()
    right = finite.max() * 3 if len(finite) else 10.0
    solved = summary.loc[summary["longest_solved"] > 0, "longest_solved"]
    floor = (solved.min() if len(solved) else 2) / 2
    colours = dict(zip(names, colormaps["tab10"].colors))
    for row in summary.itertuples():
        x = right if np.isinf(row.timescale_init) else row.timescale_init
        y = row.longest_solved if row.longest_solved > 0 else floor
        low = max(row.longest_solved_low, floor) if row.longest_solved_low > 0 else floor
        high = max(row.longest_solved_high, floor)
        colour = colours.get(row.model, "k")
        ax.errorbar(x, y, yerr=[[y - low], [high - y]], color=colour, lw=0.8, capsize=2)
        face = colour if row.longest_solved > 0 else "white"
        ax.plot(x, y, MARKERS.get(row.task, "^"), ms=7, mfc=face, mec=colour)
    ax.set_xscale("log")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("gradient timescale at initialisation (steps per factor e)")
    ax.set_ylabel("longest length T solved")
    rungs = sorted({int(n) for n in solved} | {int(h) for h in summary["longest_solved_high"] if h > 0})
    ax.set_yticks([floor, *rungs], ["none", *map(str, rungs)])
    ax.minorticks_off()
    ax.set_ylim(floor / 1.4, max(rungs, default=floor) * 1.4)
    ax.axhline(floor, color="0.7", lw=0.6, ls=":")
    handles = [ax.plot([], [], "o", color=colours[m], label=names[m])[0] for m in names if m in set(summary["model"])]
    handles += [ax.plot([], [], MARKERS[t], mfc="white", mec="k", label=TASK_NAMES[t])[0] for t in MARKERS]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


def ladder_figure(runs: pd.DataFrame, specs: dict) -> Figure:
    """Share of seeds solved against T at each model's chosen learning rate, with Wilson 95 % intervals: a
    row per task, a column per cell kind, so that no panel holds more than that kind's models. Within a panel
    each model has its own colour (as in the bridge figure), marker and line style and is shifted sideways,
    so lines that agree (all at 0 or 1) stay visible side by side instead of hiding under each other."""
    names = labels(specs)
    chosen = study.at_chosen(runs[runs["run"] == "study"])
    task_list = list(dict.fromkeys(chosen["task"]))
    colours = dict(zip(names, colormaps["tab10"].colors))
    kinds = {cell: [m for m in names if specs[m]["cell"] == cell] for cell in CELL_NAMES}
    kinds = {cell: models for cell, models in kinds.items() if models}
    fig = Figure(figsize=(PAGE_WIDTH_IN, 2.1 * len(task_list) + 0.9), layout="constrained")
    grid = fig.subplots(len(task_list), len(kinds), squeeze=False, sharex=True, sharey=True)
    for i, task in enumerate(task_list):
        rates = chosen[chosen["task"] == task].groupby(["model", "seq_len"])["solved"].agg(["sum", "size"])
        for ax, (cell, models) in zip(grid[i], kinds.items()):
            for j, model in enumerate(models):
                if model not in rates.index.get_level_values(0):
                    continue
                line = rates.loc[model]
                low, high = study.wilson(line["sum"], line["size"])
                shift = 2 ** (0.12 * (j - (len(models) - 1) / 2))  # sideways on the log2 axis, by model
                p = line["sum"] / line["size"]
                ax.errorbar(
                    line.index.to_numpy() * shift,
                    p,
                    yerr=[p - low, high - p],
                    color=colours[model],
                    lw=1.0,
                    capsize=2,
                    marker=LADDER_MARKERS[j % len(LADDER_MARKERS)],
                    ms=4,
                    ls=LADDER_STYLES[j % len(LADDER_STYLES)],
                    label=names[model] if i == 0 else None,
                )
            ax.set_xscale("log", base=2)
            lengths = sorted(chosen["seq_len"].unique())
            ax.set_xticks(lengths, [str(n) for n in lengths])
            ax.minorticks_off()
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{TASK_NAMES[task]}, {CELL_NAMES[cell]}", fontsize=8)
        grid[i, 0].set_ylabel("share of seeds solved", fontsize=8)
    for ax in grid[-1]:
        ax.set_xlabel("sequence length T", fontsize=8)
    fig.legend(
        handles=[h for ax in grid[0] for h in ax.get_legend_handles_labels()[0]],
        fontsize=7,
        loc="outside lower center",
        ncols=min(len(names), 5),
        frameon=False,
    )
    return fig


def _length(value: int) -> str:
    return "no length" if value == 0 else f"T = {value}"


def findings(runs: pd.DataFrame, summary: pd.DataFrame, specs: dict) -> list[str]:
    """The study's sentences: the bridge, each task's longest lengths, the models off the trend, what
    training does to the timescale, divergences, the budget check and the robustness test."""
    names = labels(specs)
    main = runs[runs["run"] == "study"]
    out = []
    b = bridge(runs)
    points = f"Across {b['points']} points (model and task" + (
        f"; {b['left_out']} left out, their timescale not measurable" if b["left_out"] else ""
    )
    if math.isnan(b["rho"]):  # a constant rank: every point has one longest length (or one timescale)
        out.append(
            f"{points}), Spearman's rank correlation between the gradient timescale at initialisation and the "
            "longest length solved is undefined: the points do not differ in one of the two, so this run cannot "
            "say whether the timescale predicts what is learned."
        )
    else:
        sign = "rises" if b["low"] > 0 else "falls" if b["high"] < 0 else "shows no clear direction"
        out.append(
            f"{points}), Spearman's rank correlation between the gradient "
            f"timescale at initialisation and the longest length solved is {b['rho']:.2f} (95 % bootstrap interval "
            f"over seeds {b['low']:.2f} to {b['high']:.2f}): the longest length learned {sign} with the timescale"
            + ("." if sign != "shows no clear direction" else ", the interval includes 0.")
            + budget_clause(summary, runs)
        )
    flipped = {(t, m) for t, m, _ in rung_changes(runs)}
    for task, rows in summary.groupby("task", sort=False):
        parts = []
        for row in rows.itertuples():
            interval = f"{row.longest_solved_low:g} to {row.longest_solved_high:g}"
            parts.append(
                f"{names.get(row.model, row.model)} {_length(row.longest_solved)} "
                f"(interval {interval}; learning rate {row.learning_rate:g}; timescale {row.timescale_init:.3g}; "
                f"{_survives(row, (task, row.model) in flipped)})"
            )
        ladder = sorted(main.loc[main["task"] == task, "seq_len"].unique())
        out.append(
            f"On {TASK_NAMES[task]} (rungs some model trained at: T = {', '.join(map(str, ladder))}), the longest "
            "length solved by at least half of the seeds at each model's chosen learning rate: "
            + "; ".join(parts)
            + "."
        )
    out += off_trend(runs, summary, names)
    trained = main[main["solved"] & np.isfinite(main["timescale_trained"]) & np.isfinite(main["timescale_init"])]
    if len(trained):
        longer = int((trained["timescale_trained"] > trained["timescale_init"]).sum())
        ratio = (trained["timescale_trained"] / trained["timescale_init"]).quantile([0.25, 0.5, 0.75])
        low, high = study.wilson(longer, len(trained))
        out.append(
            f"Training lengthens the timescale in {longer / len(trained):.0%} of the {len(trained)} solved runs whose "
            f"timescale is finite before and after (95 % interval {low:.0%} to {high:.0%}; trained / initial: median "
            f"{ratio[0.5]:.2f}, IQR {ratio[0.25]:.2f} to {ratio[0.75]:.2f}), measured on the same held-out inputs. "
            + by_cell(trained, specs)
        )
    diverged = int(main["diverged"].sum())
    low, high = study.wilson(diverged, len(main))
    out.append(
        f"{diverged} of {len(main)} runs diverged (95 % interval {max(low, 0):.1%} to {high:.1%})"
        + ("; each was frozen where it diverged." if diverged else ".")
    )
    out.append(edges(runs, summary, names))
    out += checks(summary, runs, names)
    return out


def by_cell(trained: pd.DataFrame, specs: dict) -> str:
    """Per cell kind, the solved runs' median timescale at initialisation and after training, with its IQR."""
    cell = trained["model"].map({n: s["cell"] for n, s in specs.items()})
    parts = []
    for kind, name in KIND_NAMES.items():
        runs = trained[cell == kind]
        if len(runs):
            q0, q1 = (runs[c].quantile([0.25, 0.5, 0.75]) for c in ("timescale_init", "timescale_trained"))
            parts.append(
                f"{name} ({len(runs)} runs) from {q0[0.5]:.3g} (IQR {q0[0.25]:.3g} to {q0[0.75]:.3g}) to "
                f"{q1[0.5]:.3g} (IQR {q1[0.25]:.3g} to {q1[0.75]:.3g})"
            )
    return "Median timescale of the solved runs, steps per factor e, at initialisation and after training: " + (
        "; ".join(parts) + "."
    )


def _survives(row, flips: bool) -> str:
    """Whether one point's longest length survives the budget check and the perturbation test, in words."""
    if pd.isna(row.budget_rungs_moved):
        budget = "the ladder's top, not budget-checked"
    else:
        budget = (
            "one rung longer at the budget check's steps" if row.budget_rungs_moved else "holds at the budget check"
        )
    return budget + ("; its solved rungs change when perturbed" if flips else "")


def edges(runs: pd.DataFrame, summary: pd.DataFrame, names: dict) -> str:
    """Where the chosen learning rates sit in the sweep: the points at its smallest or largest rate are
    named (their best rate may lie outside it); points with no solved run are counted apart, their
    rate chosen by loss alone."""
    main = runs[runs["run"] == "study"]
    sweep = np.sort(main["learning_rate"].unique())
    solved = main.groupby(["task", "model"])["solved"].any()
    scored = summary[[bool(solved.get((r.task, r.model), False)) for r in summary.itertuples()]]
    text = (
        f"The chosen learning rate lies inside the sweep ({sweep[0]:g} to {sweep[-1]:g}) for "
        f"{int(scored['learning_rate'].between(sweep[0], sweep[-1], inclusive='neither').sum())} of the "
        f"{len(scored)} points with a solved run"
    )
    for rate, word in ((sweep[0], "smallest"), (sweep[-1], "largest")):
        at = scored[scored["learning_rate"] == rate]
        if len(at):
            text += f"; at its {word} ({rate:g}) for " + ", ".join(
                f"{names.get(r.model, r.model)} on {TASK_NAMES[r.task]}" for r in at.itertuples()
            )
    if scored["learning_rate"].isin(sweep[[0, -1]]).any():
        text += ": for those the best rate may lie outside the sweep"
    unsolved = len(summary) - len(scored)
    return text + (
        f". {unsolved} {'point' if unsolved == 1 else 'points'} solved no run at any rate." if unsolved else "."
    )


def off_trend(runs: pd.DataFrame, summary: pd.DataFrame, names: dict) -> list[str]:
    """The points whose rank in length and in timescale differ by OFF_TREND of the points, and what
    their initial held-out loss was against chance (a state that grows shows there first)."""
    ranked = summary.assign(
        r_tau=summary["timescale_init"].rank(), r_len=summary["longest_solved"].rank(), n=len(summary)
    )
    far = ranked[(ranked["r_tau"] - ranked["r_len"]).abs() >= OFF_TREND * len(ranked)]
    if far.empty:
        return [f"No point's rank in length differs from its rank in timescale by {OFF_TREND:.0%} of the points."]
    main = runs[runs["run"] == "study"]
    chance = {"adding": 1 / 6}
    parts = []
    for row in far.itertuples():
        direction = "long timescale, short length" if row.r_tau > row.r_len else "short timescale, long length"
        initial = main[(main["task"] == row.task) & (main["model"] == row.model)]["initial_loss"].median()
        why = (
            f"; timescale {row.timescale_init:.3g} at initialisation, {row.timescale_trained:.3g} after training"
            f"; median initial held-out loss {initial:.3g}"
            + (f", {initial * 6:.3g} times chance" if row.task in chance else "")
        )
        parts.append(f"{names.get(row.model, row.model)} on {TASK_NAMES[row.task]} ({direction}{why})")
    return [
        f"Far off the trend (ranks in timescale and in length {OFF_TREND:.0%} of the points apart or more): "
        + "; ".join(parts)
        + "."
    ]


def rung_changes(runs: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(task, model, T) where the perturbed reruns change whether the model solves the rung (at least
    half of its seeds at its chosen learning rate): a count that flips."""
    rates = study.chosen_rates(runs[runs["run"] == "study"]).rename("chosen").reset_index()
    keys = ["task", "model", "learning_rate", "seq_len"]
    runs = runs.merge(rates, on=["task", "model"])
    runs = runs[runs["learning_rate"] == runs["chosen"]]
    share = runs.groupby(["run", *keys])["solved"].mean().unstack("run")
    if "perturbed" not in share:
        return []
    share = share.dropna(subset=["perturbed", "study"])
    changed = share[(share["study"] >= 0.5) != (share["perturbed"] >= 0.5)]
    return [(task, model, int(n)) for task, model, _, n in changed.index]


def budget(summary: pd.DataFrame | None, runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, float] | None:
    """The budget check: (the points checked, those that solve a longer rung at more steps, the factor of
    steps), or None where the study has no check."""
    if summary is None or "budget_rungs_moved" not in summary or "steps" not in runs:
        return None
    checked = summary.dropna(subset=["budget_rungs_moved"])
    if not len(checked):
        return None
    factor = runs.loc[runs["run"] == "budget", "steps"].max() / runs.loc[runs["run"] == "study", "steps"].max()
    return checked, checked[checked["budget_rungs_moved"] > 0], factor


def budget_clause(summary: pd.DataFrame | None, runs: pd.DataFrame) -> str:
    """The budget check in one sentence beside the bridge ('' without a check): a length learned is
    what the study's steps allow wherever more steps learn a longer one."""
    found = budget(summary, runs)
    if found is None:
        return ""
    checked, moved, factor = found
    steps = int(runs.loc[runs["run"] == "study", "steps"].max())
    if len(moved) <= 1:
        return (
            f" At {factor:g} times the {steps} steps, {len(moved)} of {len(checked)} points below the ladder's top "
            "learned a longer length: the lengths are not budget-limited at this resolution."
        )
    return (
        f" The lengths are what {steps} steps allow: at {factor:g} times the steps, {len(moved)} of {len(checked)} "
        "points below the ladder's top learn at least one rung longer."
    )


def checks(summary: pd.DataFrame, runs: pd.DataFrame, names: dict) -> list[str]:
    """The budget check's and the robustness test's sentences."""
    out = []
    found = budget(summary, runs)
    if found is not None:
        checked, moved, factor = found
        verdict = (
            "the lengths are not budget-limited at this resolution"
            if len(moved) <= 1
            else "so the longest solved lengths are budget-limited: with more steps these are at least one rung longer"
        )
        out.append(
            f"Budget check: at {factor:g} times the steps, {len(moved)} of {len(checked)} (model, task) points below "
            f"the ladder's top solve the rung above their longest solved length ({verdict})"
            + (
                ": " + "; ".join(f"{names.get(r.model, r.model)} on {TASK_NAMES[r.task]}" for r in moved.itertuples())
                if len(moved)
                else ""
            )
            + "."
        )
    tested = summary.dropna(subset=["perturbed_runs"])
    if len(tested) and tested["perturbed_runs"].sum():
        flips, total = int(tested["perturbed_flips"].sum()), int(tested["perturbed_runs"].sum())
        low, high = study.wilson(flips, total)
        rungs = "T = " + ", ".join(map(str, sorted(runs.loc[runs["run"] == "perturbed", "seq_len"].unique())))
        changed = rung_changes(runs)
        out.append(
            f"Robustness: at {rungs}, {flips} of {total} runs change solved when the initial weights are perturbed by "
            f"a relative 1e-12 (flip rate 95 % interval {max(low, 0):.1%} to {high:.1%}); "
            + (
                "no model's solved rungs change, so no longest solved length rests on a count that flips."
                if not changed
                else "whether a model solves a rung changes for "
                + "; ".join(f"{names.get(m, m)} on {TASK_NAMES[t]} at T = {n}" for t, m, n in changed)
                + ": those counts rest on rounding."
            )
        )
    return out
