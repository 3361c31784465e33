"""Synthetic collected tables with the contract's columns, for the report's tests and benchmark.

The model is deliberately simple so tests can predict the findings: a run of cell c, activation a,
variant v (recurrent_init for rnn, gate_bias for lstm and gru) and radius rho loses the same factor
decay = rho * GAIN[a] * CELL_GAIN[c] * VARIANT_GAIN[v] at every step back (times a per-seed
jitter), so log10 ||dL/dh_k|| = lag * log10(decay), and the decay rate crosses 1 exactly at
rho = 1 / (GAIN[a] * CELL_GAIN[c] * VARIANT_GAIN[v]) when jitter is 0. The recurrent matrix is taken
as normal (spectral norm = radius), so Pascanu's factor per step is gamma_bound * rho (Elman only).
The mean-field table predicts MEANFIELD[a] * rho, a little above the Elman model's rate; for the
gated cells (tanh and sigmoid, numeric gate biases) it predicts GATED_MEANFIELD times the model's
rate, and its 512-unit measurement meets that prediction to 0.001 below radius 1 and misses it by
0.02 (above) from radius 1 on.
"""

import pathlib
import sys

import numpy as np
import pandas as pd

from bptt.pipeline import grid
from bptt.report.render import Tables

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "train"))
import synthetic_trainability  # noqa: E402
import synthetic_training  # noqa: E402
from synthetic_clipping import tables as clipping_tables  # noqa: E402

GAIN = {"tanh": 0.7, "sigmoid": 0.2, "relu": 0.5, "linear": 1.0}
GAMMA_BOUND = {"tanh": 1.0, "sigmoid": 0.25, "relu": 1.0, "linear": 1.0}
CELL_GAIN = {"rnn": 1.0, "lstm": 1.25, "gru": 1.1}
VARIANTS = {
    "rnn": [("orthogonal", None), ("identity", None)],
    "lstm": [("orthogonal", b) for b in ("0", "1", "chrono")],
    "gru": [("orthogonal", b) for b in ("0", "1")],
}
VARIANT_GAIN = {
    ("orthogonal", None): 1.0,
    ("identity", None): 1.3,
    ("orthogonal", "0"): 1.0,
    ("orthogonal", "1"): 1.3,
    ("orthogonal", "chrono"): 1.5,
}
MEANFIELD = {"tanh": 0.75, "sigmoid": 0.22, "relu": 1 / np.sqrt(2), "linear": 1.0}
GATED_MEANFIELD = 0.95
OVERFLOW_LOG10 = 308.0


# References the page cites whatever the data (the setting's sources): both page tests check them.
ALWAYS_CITED = (
    "brown2017",
    "d2l-bptt",
    "qiu2020",
    "elman1990",
    "bengio1994",
    "hochreiter1997",
    "cho2014",
    "pascanu2013",
)


def decay(cell: str, activation: str, radius: float, jitter: float, variant=("orthogonal", None)) -> float:
    """The model's decay rate per step."""
    if cell != "rnn" and variant == ("orthogonal", None):
        variant = ("orthogonal", "0")
    return radius * GAIN[activation] * CELL_GAIN[cell] * VARIANT_GAIN[variant] * (1.0 + jitter)


def tables(
    *,
    cells=("rnn", "lstm", "gru"),
    activations=("tanh", "sigmoid", "relu", "linear"),
    radii=(0.5, 0.9, 1.1, 2.0),
    seq_lens=(20, 120),
    seeds=(0, 1),
    jitter: float = 0.0,
) -> Tables:
    """Collected tables (gradients, summary, eigenvalues, theory) with exactly the Parquet's columns."""
    rng = np.random.default_rng(0)
    grad_parts, summary_rows = [], []
    for cell in cells:
        for activation in activations:
            for variant in VARIANTS[cell]:
                for radius in radii:
                    for seq_len in seq_lens:
                        for seed in seeds:
                            rate = decay(cell, activation, radius, jitter * rng.uniform(-1, 1), variant)
                            key = (cell, activation, radius, *variant, seq_len, seed)
                            grad_parts.append(_gradient_rows(*key, rate))
                            summary_rows.append(_summary_row(*key, rate))
    gradients = pd.concat(grad_parts, ignore_index=True)
    summary = pd.DataFrame(summary_rows)
    training, training_summary = synthetic_training.tables()
    return Tables(
        gradients,
        summary,
        eigenvalues(),
        theory(activations, radii),
        training,
        training_summary,
        *synthetic_training.cliff(),
        *every_step(cells),
        *clipping_tables(),
        *synthetic_trainability.tables(),
    )


EVERY_STEP_RATE = {"rnn": 0.6, "lstm": 0.8, "gru": 0.7}


def every_step(cells=("rnn", "lstm", "gru"), seq_len: int = 30) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables like rule every_step's: per cell, log10 ||dL_t/dh_k|| = (t - k) log10 r exactly, with
    r = EVERY_STEP_RATE; ||G_tau|| = 10**0.5 r**tau (0 at tau = T-1); the total's norm 0.1 k / T."""
    pairs, lags = [], []
    for cell in cells:
        key = {
            "cell": cell,
            "activation": "tanh",
            "radius": 1.0,
            "recurrent_init": "orthogonal",
            "gate_bias": "none" if cell == "rnn" else "0",
            "gate_bias_value": np.nan if cell == "rnn" else 0.0,
            "seq_len": seq_len,
        }
        t, k = np.tril_indices(seq_len)
        log_r = np.log10(EVERY_STEP_RATE[cell])
        pairs.append(pd.DataFrame({**key, "t": t, "k": k, "log10_source_grad_h": (t - k) * log_r}))
        lag = np.arange(seq_len)
        g = 0.5 + lag * log_r
        g[-1] = -np.inf
        total = 0.1 * (seq_len - 1 - lag) / seq_len
        lags.append(
            pd.DataFrame(
                {**key, "lag": lag, "log10_source_grad": lag * log_r, "log10_lag_grad": g, "log10_grad_h": total}
            )
        )
    return pd.concat(pairs, ignore_index=True), pd.concat(lags, ignore_index=True)


def theory(activations=tuple(GAIN), radii=(0.5, 0.9, 1.1, 2.0)) -> pd.DataFrame:
    """A mean-field table like rule theory's: rate MEANFIELD[a] * rho, on the grid and between."""
    rows = []
    for activation in activations:
        curve = sorted(set(radii) | set(np.geomspace(min(radii) / 1.25, max(radii) * 1.25, 12).tolist()))
        for radius in curve:
            on_grid = radius in radii
            rate = MEANFIELD[activation] * radius
            rows.append(
                {
                    "activation": activation,
                    "radius": radius,
                    "on_grid": on_grid,
                    "q_star": 1.0,
                    "chi1": rate**2,
                    "rate": rate,
                    "critical_radius": 1 / MEANFIELD[activation],
                    "large_h": 512,
                    "large_h_rate": rate * 0.999 if on_grid else np.nan,
                    "cell": "rnn",
                    "gate_bias": None,
                    "transient_rate": np.nan,
                    "dmft_rate": np.nan,
                    "dmft_spread": np.nan,
                }
            )
        for cell in ("lstm", "gru") if activation in ("tanh", "sigmoid") else ():
            for _, bias in VARIANTS[cell]:
                if bias == "chrono":
                    continue
                for radius in curve:
                    on_grid = radius in radii
                    rate = GATED_MEANFIELD * decay(cell, activation, radius, 0.0, ("orthogonal", bias))
                    rows.append(
                        {
                            "activation": activation,
                            "radius": radius,
                            "on_grid": on_grid,
                            "q_star": 1.0,
                            "chi1": rate**2,
                            "rate": rate,
                            "critical_radius": np.nan,
                            "large_h": 512,
                            "large_h_rate": (rate + (0.001 if radius < 1 else 0.02)) if on_grid else np.nan,
                            "cell": cell,
                            "gate_bias": bias,
                            "transient_rate": 0.1 if cell == "lstm" else 0.0,
                            # the LSTM's closes the large network's gap at rho > 1, the GRU's does not
                            "dmft_rate": (rate + (0.019 if cell == "lstm" and radius > 1 else 0.0))
                            if on_grid
                            else np.nan,
                            "dmft_spread": 0.002 if on_grid else np.nan,
                        }
                    )
    return pd.DataFrame(rows)


def _value(gate_bias) -> float:
    """gate_bias_value as pandas reads it: NaN where the file holds null (chrono, rnn)."""
    value = grid.gate_bias_value(grid.gate_bias_label(gate_bias))
    return np.nan if value is None else value


def _gradient_rows(cell, activation, radius, recurrent_init, gate_bias, seq_len, seed, rate) -> pd.DataFrame:
    step = np.arange(seq_len)
    lag = seq_len - 1 - step
    log10_h = lag * np.log10(rate)
    log10_h = np.where(log10_h > OVERFLOW_LOG10, np.inf, log10_h)
    return pd.DataFrame(
        {
            "cell": cell,
            "activation": activation,
            "radius": float(radius),
            "recurrent_init": recurrent_init,
            "gate_bias": grid.gate_bias_label(gate_bias),
            "gate_bias_value": _value(gate_bias),
            "seq_len": seq_len,
            "seed": seed,
            "step": step,
            "lag": lag,
            "log10_grad_h": log10_h,
            "log10_grad_h_relative": log10_h - log10_h[-1],
            "log10_grad_c": 0.5 * log10_h if cell == "lstm" else np.nan,
            "log10_jac": log10_h,
            "log10_dW_hh_contrib": log10_h - 0.3,
            "gamma_step": np.full(seq_len, rate),
            "log10_pascanu_bound": lag * np.log10(GAMMA_BOUND[activation] * radius) if cell == "rnn" else np.nan,
            "log10_source_grad": np.nan,  # loss_at last
            "log10_lag_grad": np.nan,
        }
    )


def _summary_row(cell, activation, radius, recurrent_init, gate_bias, seq_len, seed, rate) -> dict:
    overflow = (seq_len - 1) * np.log10(rate) > OVERFLOW_LOG10
    return {
        "cell": cell,
        "activation": activation,
        "radius": float(radius),
        "recurrent_init": recurrent_init,
        "gate_bias": grid.gate_bias_label(gate_bias),
        "gate_bias_value": _value(gate_bias),
        "seq_len": seq_len,
        "seed": seed,
        "decay_rate": rate,
        "timescale": -1 / np.log(rate) if rate < 1 else np.inf,
        "log10_end_to_end": (seq_len - 1) * np.log10(rate),
        "log10_grad_norm_weight_ih": 0.0,
        "log10_grad_norm_weight_hh": 0.5,
        "log10_grad_norm_bias_ih": -0.5,
        "log10_grad_norm_bias_hh": -0.5,
        "spectral_radius": float(radius),
        "spectral_norm": float(radius),
        "gamma_bound": GAMMA_BOUND[activation],
        "pascanu_bound": GAMMA_BOUND[activation] * radius if cell == "rnn" else np.nan,
        "regime": "vanishing" if rate < 0.99 else "exploding" if rate > 1.01 else "stable",
        "overflow": bool(overflow),
        "overflow_step": int(seq_len - 1 - np.ceil(OVERFLOW_LOG10 / np.log10(rate))) if overflow else -1,
        "unmeasurable_steps": 0,
        "loss": 2.3,
        "loss_at": "last",
        "log10_first_step": np.log10(rate),
        "decay_rate_after_first": rate,
        "kept_lag": min(100, seq_len - 1),
        "log10_kept": min(100, seq_len - 1) * np.log10(rate),
    }


def eigenvalues(radii=(0.5, 1.0, 1.5), seeds=(0,), hidden_size: int = 16) -> pd.DataFrame:
    """An eigenvalue table like rule spectrum's: orthogonal spectra on the circle of radius rho,
    'gaussian' spectra inside it with one eigenvalue on it and a norm twice the radius."""
    rng = np.random.default_rng(1)
    rows = []
    for init in ("orthogonal", "gaussian"):
        for radius in radii:
            for seed in seeds:
                angle = rng.uniform(0, 2 * np.pi, hidden_size)
                modulus = np.ones(hidden_size) if init == "orthogonal" else rng.uniform(0, 1, hidden_size)
                modulus[0] = 1.0
                values = radius * modulus * np.exp(1j * angle)
                norm = radius * (1.0 if init == "orthogonal" else 2.0)
                for index, value in enumerate(values):
                    rows.append((init, float(radius), seed, hidden_size, index, value.real, value.imag, norm))
    columns = ["init", "radius", "seed", "hidden_size", "index", "real", "imag", "spectral_norm"]
    return pd.DataFrame(rows, columns=columns)
