"""The report's "Your models" section: results/audit.parquet (bptt.audit) in, one figure and findings per model out.

Every sentence is computed from the table: the timescale with its interquartile range over sequences, the
value at the longest lag against lag 0, the lag from which float32 autograd must read exactly 0, the upcast
of half-precision weights and the share of entries whose digits were lost.
"""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bptt.report.figures import page_width

QUANTITIES = {
    "state": "‖vᵀ ∂h_last/∂h_k‖ (no loss)",
    "state_c": "‖vᵀ ∂h_last/∂c_k‖ (no loss)",
    "loss_h": "‖∂L/∂h_k‖",
    "loss_c": "‖∂L/∂c_k‖",
    "jacobian": "‖∂s_last/∂s_k‖₂ within the layer",
}
TITLES = {  # the same, as matplotlib's mathtext for the figure
    "state": r"no loss: $\|v^\top\partial h_{T-1}/\partial h_k\|$",
    "state_c": r"no loss: $\|v^\top\partial h_{T-1}/\partial c_k\|$",
    "loss_h": r"$\|\partial L/\partial h_k\|$",
    "loss_c": r"$\|\partial L/\partial c_k\|$",
    "jacobian": r"layer's own $\|\partial s_{T-1}/\partial s_k\|_2$",
}
# Below 2^-150 (half float32's smallest subnormal, 2^-149) every entry of a vector rounds to 0 in float32.
LOG10_FLOAT32_ZERO = -150 * np.log10(2.0)
KIND_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}


def models(audit: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(audit["model"]))


def figure(rows: pd.DataFrame) -> Figure:
    """One model: a panel per quantity, log10 norm against lag, a line per layer (median) with its IQR band."""
    quantities = [q for q in QUANTITIES if q in set(rows["quantity"])]
    fig = Figure(figsize=(page_width(3.2 * len(quantities)), 3.0), layout="constrained")
    axes = fig.subplots(1, len(quantities), squeeze=False)[0]
    layers = sorted(rows["layer"].unique())
    for ax, quantity in zip(axes, quantities):
        for layer in layers:
            part = rows[(rows["quantity"] == quantity) & (rows["layer"] == layer)]
            wide = part.pivot(index="lag", columns="summary", values="log10_norm").sort_index()
            (line,) = ax.plot(wide.index, wide["median"], lw=1.2, label=f"layer {layer}")
            ax.fill_between(wide.index, wide["q25"], wide["q75"], color=line.get_color(), alpha=0.25, lw=0)
        ax.axhline(LOG10_FLOAT32_ZERO, color="0.4", ls=":", lw=0.8, label="2⁻¹⁵⁰: float32 reads 0 below")
        ax.set_title(TITLES[quantity], fontsize=9)
        ax.set_xlabel("lag = T − 1 − k")
    axes[0].set_ylabel("log₁₀ norm (median, IQR band)")
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def _number(value: float) -> str:
    """A timescale in steps, two significant digits (the spread over sequences supports no more)."""
    return "∞" if np.isinf(value) else f"{float(f'{value:.2g}'):g}"


def _power(log10: float) -> str:
    """A norm from its log10: 10⁻⁶⁴ far from 1, 0.42 near it (two digits: the quartiles differ beyond them)."""
    if np.isneginf(log10):
        return "0"
    if np.isnan(log10):
        return "not measurable"
    if abs(log10) < 3:
        return f"{float(f'{10**log10:.2g}'):g}"
    return "10" + f"{log10:.0f}".translate(_SUPERSCRIPT)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def findings(audit: pd.DataFrame, model: str) -> dict:
    """What the section says about one model: a description and one list of sentences per layer."""
    rows = audit[audit["model"] == model]
    first = rows.iloc[0]
    n_steps = int(first["seq_len"])
    dtypes = str(first["weights_dtype"]).split(",")
    half = [d for d in dtypes if d in ("float16", "bfloat16")]
    main = "loss_h" if "loss_h" in set(rows["quantity"]) else "state"
    sentences = []
    for layer in sorted(rows["layer"].unique()):
        out = []
        for quantity in [q for q in QUANTITIES if q in set(rows["quantity"])]:
            part = rows[(rows["layer"] == layer) & (rows["quantity"] == quantity)]
            wide = part.pivot(index="lag", columns="summary", values="log10_norm").sort_index()
            fit = part.iloc[0]
            text = f"{QUANTITIES[quantity]}: "
            if not np.isnan(fit["timescale"]):
                text += (
                    f"timescale {_number(fit['timescale'])} steps (IQR {_number(fit['timescale_q25'])}–"
                    f"{_number(fit['timescale_q75'])} over {int(fit['sequences'])} samples); "
                )
            end = wide.index.max()
            if end > 0 and np.isfinite(wide.loc[0, "median"]):
                text += (
                    f"at lag {end} the median is {_power(wide.loc[end, 'median'])} (IQR {_power(wide.loc[end, 'q25'])}"
                    f" to {_power(wide.loc[end, 'q75'])}), against {_power(wide.loc[0, 'median'])} at lag 0"
                )
            zero = wide.index[wide["max"] < LOG10_FLOAT32_ZERO]
            if len(zero):
                lag = int(zero.min())
                text += (
                    f"; from lag {lag} on even the largest sequence's norm is below 2⁻¹⁵⁰, so float32 autograd "
                    f"reads exactly 0 there (at the latest; the exact median at lag {lag} is "
                    f"{_power(wide.loc[lag, 'median'])})"
                )
            lost = part["unmeasurable_fraction"].max()
            if lost > 0:
                text += f"; up to {lost:.0%} of sequences lost their digits at saturated steps at some lag (left out)"
            out.append(text + ".")
        sentences.append({"layer": int(layer), "sentences": out})
    return {
        "name": model,
        "kind": KIND_NAMES[first["kind"]],
        "activation": first["activation"],
        "layers": int(first["n_layers"]),
        "seq_len": n_steps,
        "sequences": int(rows.loc[rows["quantity"] == main, "sequences"].iloc[0]),
        "with_loss": main == "loss_h",
        "dtypes": ", ".join(dtypes),
        "upcast": ", ".join(half),
        "layer_findings": sentences,
        "depth": _depth_sentence(rows, main),
    }


def _depth_sentence(rows: pd.DataFrame, quantity: str) -> str | None:
    """How much less reaches the bottom layer than the top at lag 0 (medians), for a stack."""
    at0 = rows[(rows["quantity"] == quantity) & (rows["summary"] == "median") & (rows["lag"] == 0)]
    if at0["layer"].nunique() < 2:
        return None
    top, bottom = at0.loc[at0["layer"].idxmax(), "log10_norm"], at0.loc[at0["layer"].idxmin(), "log10_norm"]
    if not (np.isfinite(top) and np.isfinite(bottom)):
        return None
    return (
        f"At lag 0 the median {QUANTITIES[quantity]} of layer 0 is {_power(bottom - top)} times that of the top "
        "layer: at the last step a gradient reaches layer 0 only through the input weights of the layers above."
    )
