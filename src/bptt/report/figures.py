"""The report's figures: one function per figure, DataFrame in, matplotlib Figure out.

Figures are built with `matplotlib.figure.Figure` directly (no pyplot, so no backend or global
figure registry is involved) and serialised by `to_svg`, which pins the settings that make the SVG
bytes deterministic. Medians and interquartile bands are over seeds. Colours encode the recurrent
spectral radius on a diverging scale: blue below 1, red above. Data selection lives in
`bptt.report.data`; `theory` is the mean-field table of `bptt.pipeline.theory` (Elman, LSTM and GRU rows).
"""

import base64
import io
import re

import numpy as np
import pandas as pd
from matplotlib import colormaps, colors, rc_context, ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from bptt.pipeline import grid
from bptt.pipeline.spectrum import few_radii
from bptt.report.data import (
    ACTIVATION_ORDER,
    CELL_NAMES,
    crossing,
    elman_theory,
    gated_theory,
    log10_decay,
    longest,
    ordered,
)

SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "bptt-report", "font.size": 9}
# Dense line work (artists drawn with rasterized=True) is embedded in the SVG as a PNG at this resolution:
# a figure is at most PAGE_WIDTH_IN wide on the page at 96 px/in, so twice that stays sharp on a 2x (HiDPI) screen.
RASTER_DPI = 192
DENSE = 50  # a line of more points than this is rasterised (a few hundred lags); sparse ones stay vector
PNG_COLOURS = 256  # embedded rasters are re-encoded with a palette this size: a third of the bytes, no visible change
EMBEDDED_PNG = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)")
# A marker per radius, in radius order, a few per line: neighbouring radii's shades of blue are told apart by shape.
RADIUS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")
MARKS_PER_LINE = 8
STEPS = 100  # the phase diagram colours the decades gained or lost over this many steps
# The page's text width at 1280 px: style.css's body max-width 60rem less 2 x 2rem padding, at 16 px/rem.
PAGE_WIDTH_IN = (60 - 4) * 16 / 96
SMALL_TEXT_PT = 7.0  # the phase diagram's numbers and labels: 9.3 px on the page, unscaled
PASCANU_FACTOR = r"$\gamma_f\,\sigma_{\max}(U)$"  # mathtext, as the page sets it
LOG10_LIMIT = 60.0  # y-axes stop here: beyond 10^±60 every curve has clearly vanished or exploded


def to_svg(figure: Figure) -> str:
    """The figure as SVG text; identical input gives identical bytes (no date, fixed ids). Artists drawn with
    rasterized=True are embedded as PNGs at RASTER_DPI, re-encoded with a palette of PNG_COLOURS."""
    buffer = io.StringIO()
    with rc_context(SVG_SETTINGS):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, dpi=RASTER_DPI)
    return EMBEDDED_PNG.sub(lambda found: "data:image/png;base64," + _palette_png(found.group(1)), buffer.getvalue())


def _palette_png(encoded: str) -> str:
    """A base64 PNG (RGBA, as matplotlib embeds rasterised artists) re-encoded with a palette of PNG_COLOURS."""
    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    out = io.BytesIO()
    image.quantize(PNG_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, format="png", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def page_width(width_in: float) -> float:
    """A figure's width in inches, at most the page's: wider, the page would scale it and its 7-pt text down
    below 9 px; at most PAGE_WIDTH_IN, every text of 7 pt or more is at least page_px(7, width) = 9.3 px."""
    return min(width_in, PAGE_WIDTH_IN)


def page_px(fontsize_pt: float, width_in: float) -> float:
    """CSS px on the page of text set at fontsize_pt in a figure width_in wide, at 1280 px or wider: the SVG is
    fontsize_pt * 96/72 px at its natural size and the page scales it down to fit PAGE_WIDTH_IN."""
    return fontsize_pt * 96 / 72 * min(1.0, PAGE_WIDTH_IN / width_in)


def radius_colours(radii) -> dict[float, tuple]:
    """A colour per radius: blues below 1 and reds above, darker further from 1; black at 1.

    (A plain diverging map would make radii near 1 almost white and invisible on the page.)
    """
    radii = sorted(set(float(r) for r in radii))
    span = max(float(np.abs(np.log10(radii)).max()), 1e-9)
    blues, reds = colormaps["Blues"], colormaps["Reds"]
    palette = {}
    for radius in radii:
        depth = 0.45 + 0.55 * abs(np.log10(radius)) / span
        palette[radius] = (0, 0, 0, 1) if radius == 1 else (blues if radius < 1 else reds)(depth)
    return palette


def lag_profiles(gradients: pd.DataFrame, theory: pd.DataFrame) -> Figure:
    """log10 ||dL/dh_k|| against lag at the longest T; for the Elman cell with Pascanu's bound and
    the mean-field prediction, at the smallest radius, the one nearest 1 and the largest (`few_radii`: all
    seven would stack 21 lines in a panel).

    Both reference lines start from the measured value at lag 0: Pascanu's bound (dotted) is
    lag * log10(gamma_f * sigma_max(U)), a worst case over directions; mean-field theory
    (dash-dot) predicts the rate, sqrt(chi_1) per step. Gated panels get the mean-field rate of
    `bptt.theory.gated` at their gate bias (its slow mode, for the LSTM), where the theory covers the
    activation (tanh, sigmoid) and the bias is a number; Pascanu's bound does not apply to them.
    """
    runs = longest(gradients)
    figure, axes = _cell_activation_grid(runs, "lag", "log10_grad_h")
    elman = runs[runs["cell"] == "rnn"]
    bound = _seed_median(elman, "log10_pascanu_bound", ["activation", "radius", "lag"])
    # The Elman cell has no gate bias: its label in the tables ("none"), null in the theory table.
    keys = ["cell", "activation", "gate_bias", "radius"]
    at_zero = runs[runs["lag"] == 0]
    start = _seed_median(at_zero, "log10_grad_h", keys)
    rate = theory.assign(gate_bias=theory["gate_bias"].fillna(grid.gate_bias_label(None))).set_index(keys)["rate"]
    palette = radius_colours(runs["radius"])
    lag = np.arange(runs["lag"].max() + 1)
    referenced = few_radii(runs["radius"].unique())
    for (cell, activation, bias, radius), offset in start.items():
        if radius not in referenced:
            continue
        ax, colour = axes[(cell, activation)], palette[radius]
        if cell == "rnn":
            line = bound.loc[(activation, radius)]
            ax.plot(line.index, offset + line.to_numpy(), ls=":", lw=1.0, color=colour, alpha=0.9)
        if (cell, activation, bias, radius) in rate.index:
            slope = np.log10(rate.loc[(cell, activation, bias, radius)])
            ax.plot(lag, offset + lag * slope, ls="-.", lw=0.8, color=colour)
    radii = ", ".join(f"{r:g}" for r in referenced)
    references = [(f"Pascanu bound (Elman),\nρ = {radii}", ":")] if len(elman) else []
    references += [(f"mean-field rate,\nρ = {radii}", "-.")] if len(theory) else []
    _finish_grid(figure, axes, r"lag $= T - 1 - k$", r"$\log_{10} \|\partial L/\partial h_k\|$", palette, references)
    return figure


def weight_contributions(gradients: pd.DataFrame) -> Figure:
    """log10 norm of step k's contribution to dL/dW_hh against lag, at the longest T."""
    runs = longest(gradients)
    figure, axes = _cell_activation_grid(runs, "lag", "log10_dW_hh_contrib")
    palette = radius_colours(runs["radius"])
    ylabel = r"$\log_{10} \|$term $k$ of $\partial L/\partial W_{hh}\|$"
    _finish_grid(figure, axes, r"lag $= T - 1 - k$", ylabel, palette, [])
    return figure


def end_to_end(summary: pd.DataFrame) -> Figure:
    """log10 ||dL/dh_0|| / ||dL/dh_{T-1}|| against the sequence length T."""
    figure, axes = _cell_activation_grid(summary, "seq_len", "log10_end_to_end")
    lengths = sorted(summary["seq_len"].unique())
    for ax in axes.values():  # linear in T: a constant rate per step draws a straight line
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.axhline(0.0, color="0.4", lw=0.6)
    palette = radius_colours(summary["radius"])
    _finish_grid(figure, axes, "sequence length T", "log₁₀ end-to-end ratio", palette, [])
    return figure


def phase_diagram(summary: pd.DataFrame, theory: pd.DataFrame) -> Figure:
    """Median fitted decay rate per step over radius x activation, a panel per cell.

    Colour is the size of the effect: the decades the error gains (red) or loses (blue) over STEPS steps
    at the median rate, STEPS * log10(rate), on a symmetric scale centred on 0 (white), linear within
    one decade and logarithmic beyond, so a rate of 0.84 (10^-8 over 100 steps) is strongly coloured
    and 10^-8 and 10^-80 still differ; the number in each square is the rate. In the Elman panel
    the black bar in each row marks where Pascanu's factor gamma_f * sigma_max(U) equals 1 (to its
    left vanishing is proved) and the triangle where mean-field theory puts the edge of chaos,
    sqrt(chi_1) = 1 (an arrow at the edge when it lies beyond the grid). In the gated panels the
    mean-field rate of `bptt.theory.gated` at the panel's gate bias is printed under the measured one
    (none where the theory does not cover the activation or the bias). Grey squares are grid points
    without a finite rate. The figure is at most the page's width, so its SMALL_TEXT_PT text lands at
    `page_px(SMALL_TEXT_PT, width)` >= 9 px.
    """
    runs = longest(summary).assign(log10_decay=lambda t: log10_decay(t))
    cells = ordered(runs["cell"], CELL_NAMES)
    activations = ordered(runs["activation"], ACTIVATION_ORDER)
    radii = sorted(runs["radius"].unique())
    values = runs.groupby(["cell", "activation", "radius"])["log10_decay"].median()
    bounds = runs.groupby(["cell", "activation", "radius"])["pascanu_bound"].median()
    critical = elman_theory(theory).groupby("activation")["critical_radius"].first()
    biases = runs.groupby("cell")["gate_bias"].first()  # the main variant's: one gate bias per gated cell
    predicted = gated_theory(theory).set_index(["cell", "activation", "gate_bias", "radius"])["rate"]
    decades = STEPS * values
    finite = decades[np.isfinite(decades)]
    span = max(float(np.abs(finite).max()) if len(finite) else 1.0, 1.0)
    norm = colors.SymLogNorm(linthresh=1.0, linscale=1.0, vmin=-span, vmax=span, base=10)
    cmap = colormaps["RdBu_r"].with_extremes(bad="0.8")
    width = min(2.9 * len(cells) + 1.6, PAGE_WIDTH_IN)
    figure = Figure(figsize=(width, 0.55 * len(activations) + 1.6), layout="constrained")
    axes = figure.subplots(1, len(cells), sharey=True, squeeze=False)[0]
    for ax, cell in zip(axes, cells):
        grid = np.array([[decades.get((cell, a, r), np.nan) for r in radii] for a in activations])
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
        for i, activation in enumerate(activations):
            for j, value in enumerate(grid[i]):
                label = f"{10 ** (value / STEPS):.2g}" if np.isfinite(value) else "—"
                ink = "white" if np.isfinite(value) and abs(norm(value) - 0.5) > 0.3 else "black"
                key = (cell, activation, biases.get(cell), radii[j])
                text = {"ha": "center", "va": "center", "fontsize": SMALL_TEXT_PT, "color": ink}
                if key in predicted.index:  # the mean-field rate, in italics under the measured one
                    ax.text(j, i + 0.24, f"{predicted.loc[key]:.2g}", style="italic", **text)
                    ax.text(j, i - 0.14, label, **text)
                else:
                    ax.text(j, i, label, **text)
            if cell == "rnn":
                _mark_elman_row(ax, i, radii, bounds, critical.get(activation, np.nan), activation)
        ax.set_title(CELL_NAMES.get(cell, cell))
        ax.set_xticks(range(len(radii)), [f"{r:g}" for r in radii], rotation=90)
        ax.set_yticks(range(len(activations)), activations)
        ax.set_xlabel("spectral radius ρ")
    bar = figure.colorbar(image, ax=list(axes), shrink=0.9)
    powers = 10.0 ** np.arange(int(np.floor(np.log10(span))) + 1)
    ticks = [*-powers[::-1], 0.0, *powers]
    bar.set_ticks(ticks, labels=[f"{t:+g}".replace("-", "−") if t else "0" for t in ticks])
    bar.set_label(f"decades gained (+) or lost (−)\nover {STEPS} steps: ${STEPS}\\,\\log_{{10}}\\,r$")
    return figure


def _mark_elman_row(ax, i, radii, bounds, critical, activation) -> None:
    """Pascanu's bar and the mean-field edge of chaos in row i of the Elman panel."""
    with np.errstate(divide="ignore", invalid="ignore"):
        line = np.log10([bounds.get(("rnn", activation, r), np.nan) for r in radii])
    position = _index_position(radii, line)
    if np.isfinite(position):  # two stubs, leaving the printed rate readable
        for ends in ([i - 0.5, i - 0.22], [i + 0.22, i + 0.5]):
            ax.plot([position, position], ends, color="black", lw=2.5)
    if not np.isfinite(critical):
        return
    if radii[0] <= critical <= radii[-1]:
        x = _index_position(radii, np.log10(np.asarray(radii) / critical))
        ax.plot([x], [i + 0.38], marker="^", color="black", ms=5)
    else:
        edge, arrow = (len(radii) - 0.5, "→") if critical > radii[-1] else (-0.5, "←")
        ax.text(
            edge,
            i + 0.38,
            rf"$\rho_c$={critical:.2g}{arrow}",
            ha="right" if arrow == "→" else "left",
            va="center",
            fontsize=SMALL_TEXT_PT,
        )


def eigenvalue_plane(eigenvalues: pd.DataFrame, run_inits=None) -> Figure:
    """Eigenvalues of U in the complex plane, a panel per initialisation and radius.

    The unit circle is solid, the circle of radius rho dashed; the title gives ||U||_2, which
    equals rho only for the orthogonal (normal) matrix. An initialisation not in `run_inits` (the grid's
    recurrent_init; None: all are) is titled "not run": it is drawn for contrast only.
    """
    inits = ordered(eigenvalues["init"], ("orthogonal", "gaussian"))
    radii = sorted(eigenvalues["radius"].unique())
    figure = Figure(figsize=(2.4 * len(radii), 2.5 * len(inits)), layout="constrained")
    axes = figure.subplots(len(inits), len(radii), squeeze=False, sharex=True, sharey=True)
    limit = 1.1 * max(1.0, float(np.hypot(eigenvalues["real"], eigenvalues["imag"]).max()))
    circle = np.linspace(0, 2 * np.pi, 256)
    for i, init in enumerate(inits):
        for j, radius in enumerate(radii):
            ax = axes[i, j]
            points = eigenvalues[(eigenvalues["init"] == init) & (eigenvalues["radius"] == radius)]
            ax.plot(np.cos(circle), np.sin(circle), color="0.3", lw=0.8)
            ax.plot(radius * np.cos(circle), radius * np.sin(circle), color="0.3", lw=0.8, ls="--")
            ax.scatter(points["real"], points["imag"], s=7, color="#1f3b73", lw=0)
            norm = points["spectral_norm"].median()
            name = init if run_inits is None or init in run_inits else f"{init} (not run)"
            ax.set_title(f"{name}, ρ = {radius:g}\n‖U‖₂ = {norm:.2f}", fontsize=8)
            ax.set_aspect("equal")
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
        axes[i, 0].set_ylabel("Im λ")
    for ax in axes[-1]:
        ax.set_xlabel("Re λ")
    return figure


def rate_hierarchy(gradients: pd.DataFrame, summary: pd.DataFrame, theory: pd.DataFrame) -> Figure:
    """Per activation against the radius: what bounds the per-step factor and what sets it; then,
    in a second row, the gated cells' measured rates beside their mean-field prediction.

    From the top: Pascanu's factor gamma_f sigma_max(U) (dotted), a bound on gamma_k; the median over
    steps of gamma_k = ||diag f'(z_k) U||_2 (points, bar from the smallest to the largest step), the
    most one step can amplify a gradient in its worst direction; the measured decay rate (solid,
    band over seeds); and the mean-field prediction sqrt(chi_1) (dash-dot), the rate of the mean
    squared norm at large H. Gated panels (each gated cell and activation the gated theory covers, at
    the main variant's gate bias): the measured rate (solid, band over seeds), the static mean-field rate
    of `bptt.theory.gated` (dash-dot), the dynamical mean field's of `bptt.theory.dmft` (circles, grid radii)
    and the rate measured with 512 units (crosses); Pascanu's factor and
    gamma_k are drawn for the Elman cell only.
    """
    gated = gated_panels(summary, theory)
    runs = longest(gradients)
    runs = runs[runs["cell"] == "rnn"]
    steps = runs.groupby(["activation", "radius", "seed"])["gamma_step"].agg(["median", "min", "max"])
    gamma = steps.groupby(level=[0, 1]).median()
    fits = longest(summary)
    fits = fits[fits["cell"] == "rnn"]
    rate = fits.groupby(["activation", "radius"])["decay_rate"].agg(["median", "min", "max"])
    bound = fits.groupby(["activation", "radius"])["pascanu_bound"].median()
    activations = ordered(runs["activation"], ACTIVATION_ORDER)
    columns = max(len(activations), len(gated), 1)
    rows = 1 + (len(gated) > 0)
    figure = Figure(figsize=(page_width(2.7 * columns + 0.4), 2.4 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, sharey=True, squeeze=False)
    axes = grid[0]
    for ax, (title, panel) in zip(grid[-1], gated.items()):
        _gated_panel(ax, title, panel)
    for ax in [*grid[0][len(activations) :], *(grid[1][len(gated) :] if rows > 1 else [])]:
        ax.set_visible(False)
    for ax, activation in zip(axes, activations):
        r = bound.loc[activation].index.to_numpy()
        ax.plot(r, bound.loc[activation], ls=":", color="black", lw=1.0, label=PASCANU_FACTOR)
        g = gamma.loc[activation]
        ax.errorbar(
            r,
            g["median"],
            yerr=[g["median"] - g["min"], g["max"] - g["median"]],
            fmt="o",
            ms=3,
            lw=0.6,
            color="#b35806",
            label=r"$\gamma_k$ (steps)",
        )
        m = rate.loc[activation]
        ax.fill_between(r, m["min"], m["max"], color="#1f4e8c", alpha=0.25, lw=0)
        ax.plot(r, m["median"], color="#1f4e8c", lw=1.4, label="measured rate")
        mf = elman_theory(theory)
        mf = mf[mf["activation"] == activation]
        ax.plot(mf["radius"], mf["rate"], ls="-.", color="#1b7837", lw=1.0, label="mean field √χ₁")
        ax.axhline(1.0, color="0.5", lw=0.6)
        ax.set_yscale("log")
        _radius_axis(ax, r)
        ax.set_title(f"Elman RNN, {activation}", fontsize=9)
    for row in grid:
        row[0].set_ylabel("factor per step")
    (axes[len(activations) - 1] if len(activations) else grid[-1][0]).legend(fontsize=7, loc="upper left")
    return figure


def gated_panels(summary: pd.DataFrame, theory: pd.DataFrame) -> dict[str, tuple]:
    """Title -> (measured median/min/max by radius, theory rows) per gated cell and activation of `summary`
    with a prediction at its gate bias."""
    fits = longest(summary)
    mf = gated_theory(theory)
    panels = {}
    for (cell, activation, bias), runs in fits[fits["cell"].isin(["lstm", "gru"])].groupby(
        ["cell", "activation", "gate_bias"], sort=False
    ):
        mine = mf[(mf["cell"] == cell) & (mf["activation"] == activation) & (mf["gate_bias"] == bias)]
        if len(mine):
            rate = runs.groupby("radius")["decay_rate"].agg(["median", "min", "max"])
            panels[f"{CELL_NAMES.get(cell, cell)}, {activation}, b = {bias}"] = (rate, mine)
    return dict(sorted(panels.items()))


def _gated_panel(ax, title: str, panel: tuple) -> None:
    """One gated panel of (f): measured band and median, the static mean-field curve, the dynamical mean
    field's rate (bptt.theory.dmft, grid radii) and the 512-unit measurement."""
    rate, mine = panel
    r = rate.index.to_numpy()
    ax.fill_between(r, rate["min"], rate["max"], color="#1f4e8c", alpha=0.25, lw=0)
    ax.plot(r, rate["median"], color="#1f4e8c", lw=1.4, label="measured rate")
    ax.plot(mine["radius"], mine["rate"], ls="-.", color="#1b7837", lw=1.0, label="static mean field")
    dynamical = mine.dropna(subset=["dmft_rate"])
    if len(dynamical):
        ax.plot(dynamical["radius"], dynamical["dmft_rate"], "o", mfc="none", color="#1b7837", ms=4, label="dynamical")
    large = mine.dropna(subset=["large_h_rate"])
    if len(large):
        label = f"measured, H = {int(large['large_h'].iloc[0])}"
        ax.plot(large["radius"], large["large_h_rate"], "x", color="black", ms=4, label=label)
    ax.axhline(1.0, color="0.5", lw=0.6)
    ax.set_yscale("log")
    _radius_axis(ax, r)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def remedies(survival: pd.DataFrame, theory: pd.DataFrame | None = None) -> Figure:
    """The gradient left after the measured lag against the radius, per remedy.

    Panels: the Elman ReLU cell with orthogonal and identity (IRNN) initialisation; the LSTM and the
    GRU (tanh) with each gate bias of the grid (chrono for the LSTM). One line per variant, median
    over seeds; missing panels had no such runs. Each numeric gate bias also gets its mean-field
    curve (dash-dot, same colour): lag * log10 of `bptt.theory.gated`'s rate. Chrono has none: it is
    a mixture over units with no single rate (bptt.theory.gated).
    """
    mf = gated_theory(theory) if theory is not None else None
    panels = [
        ("rnn", "relu", "recurrent_init", "Elman RNN, ReLU"),
        ("lstm", "tanh", "gate_bias", "LSTM, tanh"),
        ("gru", "tanh", "gate_bias", "GRU, tanh"),
    ]
    panels = [p for p in panels if ((survival["cell"] == p[0]) & (survival["activation"] == p[1])).any()]
    figure = Figure(figsize=(page_width(3.2 * max(len(panels), 1) + 0.3), 2.8), layout="constrained")
    axes = figure.subplots(1, max(len(panels), 1), sharey=True, squeeze=False)[0]
    lag = int(survival["lag"].iloc[0])
    for ax, (cell, activation, axis, title) in zip(axes, panels):
        mine = survival[(survival["cell"] == cell) & (survival["activation"] == activation)]
        for i, (variant, line) in enumerate(mine.groupby(axis, sort=False)):
            label = f"gate bias {variant}" if axis == "gate_bias" else str(variant)
            colour = colormaps["tab10"].colors[i]
            values = line["log10_survival"]
            zero = np.isneginf(values)
            ax.plot(
                line["radius"],
                values.mask(zero).clip(-LOG10_LIMIT, LOG10_LIMIT),
                marker="o",
                ms=3,
                lw=1.3,
                color=colour,
                label=label,
            )
            if mf is not None and axis == "gate_bias":
                curve = mf[(mf["cell"] == cell) & (mf["activation"] == activation) & (mf["gate_bias"] == variant)]
                ax.plot(curve["radius"], lag * np.log10(curve["rate"]), ls="-.", lw=0.9, color=colour)
            if zero.any():  # an exact zero has no logarithm: a marker on the floor of the panel
                ax.plot(line["radius"][zero], np.full(zero.sum(), -LOG10_LIMIT), "v", color=colour, ms=5, clip_on=False)
        if np.isneginf(mine["log10_survival"]).any():
            ax.plot([], [], "v", color="0.3", label="exactly 0")
        ax.axhline(0.0, color="0.5", lw=0.6)
        _radius_axis(ax, sorted(mine["radius"].unique()))
        if mf is not None and axis == "gate_bias" and len(mf):
            ax.plot([], [], ls="-.", color="0.3", label="mean field")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel(rf"$\log_{{10}}$ of $\|\partial L/\partial h\|$ {lag} steps" "\nback over its last value")
    return figure


def _radius_axis(ax, radii) -> None:
    """A log-scaled radius axis labelled at the grid's radii (matplotlib's own labels overlap there)."""
    ax.set_xscale("log")
    ax.set_xticks(list(radii), [f"{r:g}" for r in radii], rotation=90)
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlabel("spectral radius ρ")


def _seed_median(table: pd.DataFrame, column: str, by: list[str]) -> pd.Series:
    """Median of `column` over seeds (and anything else not in `by`), infinities as NaN."""
    values = table[column].replace([np.inf, -np.inf], np.nan)
    return values.groupby([table[b] for b in by]).median()


def _index_position(radii: list[float], log_bound: np.ndarray) -> float:
    """Where log_bound crosses 0, as a fractional column index of the heat map (NaN if never)."""
    below, above, radius = crossing(np.asarray(radii), log_bound)
    if np.isnan(radius):
        return np.nan
    i = radii.index(below)
    return i + np.log(radius / below) / np.log(above / below)


def _cell_activation_grid(table: pd.DataFrame, x: str, y: str):
    """A rows-by-cell, columns-by-activation grid with a median line (marked by radius) and IQR band per radius.

    Returns (figure, {(cell, activation): axes}); the y-range is shared by each row. Where some seed's
    value is not finite (not measurable, or an exact zero) the line and band have a gap: a median over a
    set of seeds that changed from one x to the next would jump.
    """
    cells = ordered(table["cell"], CELL_NAMES)
    activations = ordered(table["activation"], ACTIVATION_ORDER)
    # The page's width, so that 7-pt text lands at 9.3 px (page_px); the legend takes the right-hand 1.3 in.
    figure = Figure(figsize=(PAGE_WIDTH_IN, 1.6 * len(cells) + 0.6), layout="constrained")
    grid = figure.subplots(len(cells), len(activations), sharex=True, sharey="row", squeeze=False)
    values = table[y].replace([np.inf, -np.inf], np.nan)
    keys = [table["cell"], table["activation"], table["radius"], table[x]]
    stats = values.groupby(keys).quantile([0.25, 0.5, 0.75]).unstack()
    stats.loc[values.isna().groupby(keys).any().reindex(stats.index).to_numpy()] = np.nan
    palette = radius_colours(table["radius"])
    markers = dict(zip(palette, RADIUS_MARKERS * len(palette)))
    axes = {}
    for i, cell in enumerate(cells):
        for j, activation in enumerate(activations):
            ax = grid[i, j]
            axes[(cell, activation)] = ax
            if (cell, activation) not in stats.index.droplevel([2, 3]):
                continue
            for radius, band in stats.loc[(cell, activation)].groupby(level=0):
                band = band.droplevel(0)
                colour = palette[radius]
                dense = len(band) > DENSE
                ax.fill_between(band.index, band[0.25], band[0.75], color=colour, alpha=0.25, lw=0, rasterized=dense)
                every = max(len(band) // MARKS_PER_LINE, 1)
                ax.plot(
                    band.index,
                    band[0.5],
                    color=colour,
                    lw=1.3,
                    marker=markers[radius],
                    ms=3.5,
                    markevery=every,
                    rasterized=dense,
                )
            ax.set_title(f"{CELL_NAMES.get(cell, cell)}, {activation}", fontsize=9)
        finite = stats.loc[cell, 0.5].to_numpy() if cell in stats.index else np.array([])
        finite = finite[np.isfinite(finite)]
        if len(finite):
            low, high = max(finite.min(), -LOG10_LIMIT), min(finite.max(), LOG10_LIMIT)
            pad = 0.05 * max(high - low, 1.0)
            grid[i, 0].set_ylim(low - pad, high + pad)
    return figure, axes


def _finish_grid(figure, axes, xlabel, ylabel, palette, references: list[tuple[str, str]]):
    """Axis labels on the outer panels and one legend for the radii and the (label, style) references."""
    grid = np.array(list(axes.values())).reshape(len({k[0] for k in axes}), -1)
    for ax in grid[-1]:
        ax.set_xlabel(xlabel)
    for ax in grid[:, 0]:
        ax.set_ylabel(ylabel)
    markers = dict(zip(palette, RADIUS_MARKERS * len(palette)))
    handles = [Line2D([], [], color=c, lw=1.5, marker=markers[r], ms=4, label=f"ρ = {r:g}") for r, c in palette.items()]
    handles += [Line2D([], [], color="0.3", ls=style, lw=1.0, label=label) for label, style in references]
    figure.legend(handles=handles, loc="outside right center", fontsize=8, frameon=False)
