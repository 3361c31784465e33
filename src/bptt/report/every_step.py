"""A loss at every step (as in the derivation the report follows) in the report: its two figures and their findings.

Tables from `bptt.pipeline.every_step`: `pairs` (one row per cell and pair t >= k, log10 ||dL_t/dh_k||,
median over the batch) and `lags` (one row per cell and lag tau: the median source, ||G_tau||_F and
the total ||dL/dh_k|| of L = sum_t L_t). One network per cell, so no bands: the heatmap is one draw.
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bptt.pipeline.collect import decay_slope
from bptt.report.data import CELL_NAMES
from bptt.report.figures import page_width
from bptt.report.intervals import bracket

# ||G_tau|| below this fraction of the largest part counts as a negligible dependency length.
NEGLIGIBLE = 1e-3


def _cells(table: pd.DataFrame) -> list[str]:
    return [c for c in CELL_NAMES if c in set(table["cell"])]


def heatmaps(pairs: pd.DataFrame) -> Figure:
    """log10 ||dL_t/dh_k|| over (k, t), one panel per cell, on one colour scale; blank for t < k."""
    cells = _cells(pairs)
    figure = Figure(figsize=(page_width(3.0 * max(len(cells), 1) + 0.8), 3.2), layout="constrained")
    axes = figure.subplots(1, max(len(cells), 1), squeeze=False)[0]
    finite = pairs["log10_source_grad_h"][np.isfinite(pairs["log10_source_grad_h"])]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (-1.0, 0.0)
    image = None
    for ax, cell in zip(axes, cells):
        rows = pairs[pairs["cell"] == cell]
        n = int(rows["seq_len"].iloc[0])
        grid = np.full((n, n), np.nan)  # [t, k]
        grid[rows["t"], rows["k"]] = rows["log10_source_grad_h"]
        image = ax.imshow(
            grid,
            origin="lower",
            cmap="viridis",
            vmin=low,
            vmax=high,
            extent=(-0.5, n - 0.5, -0.5, n - 0.5),
            interpolation="none",  # one pixel per pair, embedded as is: not resampled to the SVG's dpi
        )
        first = rows.iloc[0]
        ax.set_title(f"{CELL_NAMES[cell]} ({first['activation']}, ρ = {first['radius']:g})", fontsize=9)
        ax.set_xlabel("$k$ (the state)")
    axes[0].set_ylabel("$t$ (the loss term)")
    if image is not None:
        figure.colorbar(image, ax=list(axes), label=r"$\log_{10} \|\partial L_t/\partial h_k\|$", shrink=0.9)
    else:
        _none_drawn(axes[0])
    return figure


def _none_drawn(ax) -> None:
    ax.text(0.5, 0.5, "no network stayed within float64\n(logs/every_step.log)", ha="center", va="center")
    ax.set_axis_off()


def lag_figure(lags: pd.DataFrame) -> Figure:
    """Against the lag tau, per cell: left, the median over t of log10 ||dL_t/dh_{t-tau}|| and the
    total log10 ||dL/dh_{T-1-tau}|| of the summed loss; right, log10 ||G_tau||_F."""
    figure = Figure(figsize=(8.0, 3.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    for index, cell in enumerate(_cells(lags)):
        rows = lags[lags["cell"] == cell]
        colour = f"C{index}"
        left.plot(
            rows["lag"],
            rows["log10_source_grad"],
            color=colour,
            label=rf"{CELL_NAMES[cell]}: one term $L_t$",
        )
        left.plot(
            rows["lag"],
            rows["log10_grad_h"],
            color=colour,
            ls="--",
            label=rf"{CELL_NAMES[cell]}: the sum $L$",
        )
        right.plot(rows["lag"], rows["log10_lag_grad"], color=colour, label=CELL_NAMES[cell])
    if lags.empty:
        _none_drawn(left)
        right.set_axis_off()
        return figure
    left.set(xlabel=r"lag $\tau$", ylabel=r"$\log_{10} \|\partial L_t/\partial h_{t-\tau}\|$ (median over $t$)")
    right.set(
        xlabel=r"lag $\tau$",
        ylabel=r"$\log_{10} \|G_\tau\|$ (the part of $\partial L/\partial U$ of lag $\tau$)",
    )
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    return figure


def cell_numbers(lags: pd.DataFrame) -> pd.DataFrame:
    """Per cell: the fitted per-step factor of the median source, the spread (decades) of the total
    ||dL/dh_k|| over k, the first lag from which ||G_tau|| stays below NEGLIGIBLE of its largest part
    (NaN if none), and the bound sum_{tau >= that lag} ||G_tau|| / max ||G_tau|| (the triangle
    inequality's bound on the norm of all longer dependencies together, relative to the largest part)."""
    out = []
    for cell in _cells(lags):
        rows = lags[lags["cell"] == cell].sort_values("lag")
        slope = decay_slope(rows["lag"].to_numpy(), rows["log10_source_grad"].to_numpy()[None])[0]
        g = rows["log10_lag_grad"].to_numpy()
        relative = g - np.nanmax(np.where(np.isfinite(g), g, np.nan)) if np.isfinite(g).any() else g
        small = ~(relative >= np.log10(NEGLIGIBLE))  # -inf and below the threshold
        tail = np.flatnonzero(~small)
        # G_{T-1} is 0 by construction (its one term multiplies h_{-1} = 0): it does not count.
        first = int(tail[-1] + 1) if len(tail) and tail[-1] + 1 < len(g) - 1 else np.nan
        with np.errstate(under="ignore"):
            share = float((10.0 ** relative[int(first) :]).sum()) if np.isfinite(first) else np.nan
        total = rows["log10_grad_h"].to_numpy()
        out.append(
            {
                "cell": cell,
                "activation": rows["activation"].iloc[0],
                "radius": float(rows["radius"].iloc[0]),
                "seq_len": int(rows["seq_len"].iloc[0]),
                "rate": 10.0**slope,
                "total_spread": float(np.nanmax(total) - np.nanmin(total)),
                "measured_parts": int(np.isfinite(g).sum()),
                "negligible_from": first,
                "tail_share": share,
            }
        )
    return pd.DataFrame(out)


def grid_spread(lags: pd.DataFrame, summary: pd.DataFrame) -> dict[str, str]:
    """Cell -> how much the grid's seeds differ at the point the one network was drawn from: the fitted decay
    rate, median [range] over seeds, of `summary` (the grid's collected summary) at the same point; cells whose
    point the grid lacks are left out. The networks here are one draw each, so this is the spread they lack."""
    keys = ["cell", "activation", "radius", "recurrent_init", "gate_bias", "seq_len"]
    points = lags[keys].drop_duplicates()
    runs = summary.merge(points, on=keys)
    out = {}
    for cell, group in runs.groupby("cell", sort=False):
        rate = group["decay_rate"]
        out[cell] = f"{bracket(rate.median(), rate.min(), rate.max())} over the grid's {len(group)} seeds"
    return out


def findings(lags: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """One sentence per cell from `cell_numbers`: one network each (seed 0), so each names the spread of the
    grid's seeds at the same point (`grid_spread`), which this single draw cannot show."""
    sentences = []
    spread = grid_spread(lags, summary) if len(lags) else {}
    for row in cell_numbers(lags).itertuples():
        name = f"{CELL_NAMES[row.cell]} ({row.activation}, ρ = {row.radius:g}, T = {row.seq_len}; one network"
        name += (
            f", so no spread over networks: the same point's fitted rate is {spread[row.cell]})"
            if row.cell in spread
            else ", so no spread over networks)"
        )
        parts = []
        if np.isfinite(row.rate):
            parts.append(
                f"a single term L_t keeps a factor {row.rate:.3g} of its gradient per step back (fit to the "
                f"median over t), while ‖∂L/∂h_k‖ of the sum varies by only {row.total_spread:.2g} decades over k"
            )
        if np.isfinite(row.negligible_from):
            parts.append(
                f"from τ = {int(row.negligible_from)} on, every ‖G_τ‖ is below {NEGLIGIBLE:g} of the largest, and "
                f"all those longer dependencies together weigh at most {row.tail_share:.2g} of it"
            )
        elif row.measured_parts > 1:
            parts.append(f"‖G_τ‖ stays above {NEGLIGIBLE:g} of the largest part up to the longest lag measured")
        if not parts:
            continue
        text = f"{name}: " + "; ".join(parts) + "."
        sentences.append(text)
    return sentences
