"""Recurrent cells: parameters in PyTorch's layout, and the forward pass.

Notation (DESIGN.md): x_t input (B, I), h_t hidden state (B, H), W = weight_ih,
U = weight_hh, f = the cell's `activation`, sigma = the logistic sigmoid.
Rows of W, U and the biases are stacked by gate in PyTorch's order:

  rnn   z_t = W x_t + b_ih + U h_{t-1} + b_hh;  h_t = f(z_t)
  lstm  [i, f, g, o] = [sigma, sigma, f, sigma](W x_t + b_ih + U h_{t-1} + b_hh)
        c_t = f_t * c_{t-1} + i_t * g_t;  h_t = o_t * f(c_t)
  gru   [r, z] = sigma(W_rz x_t + b_ih,rz + U_rz h_{t-1} + b_hh,rz)
        n_t = f(W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

`activation` replaces tanh in the candidate path only (the RNN's f, the LSTM's g
and the f of c_t, the GRU's n); gates stay sigmoid. Initial states are zero.
The state s_t is h_t, or (h_t, c_t) for the LSTM.
"""

import math
from typing import NamedTuple

import numpy as np

from bptt.core import activations, initialisation

KINDS = ("rnn", "lstm", "gru")
N_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}
# Index of the candidate-path block (the one f acts on) in the gate order.
CANDIDATE = {"rnn": 0, "lstm": 2, "gru": 2}
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class Cell(NamedTuple):
    """kind in KINDS, activation name, params {weight_ih, weight_hh, bias_ih, bias_hh}."""

    kind: str
    activation: str
    params: dict[str, np.ndarray]

    @property
    def hidden_size(self) -> int:
        return self.params["weight_hh"].shape[1]

    @property
    def input_size(self) -> int:
        return self.params["weight_ih"].shape[1]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return kind


def _check_size(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def make(
    kind: str,
    *,
    input_size: int,
    hidden_size: int,
    activation: str,
    radius: float,
    rng: np.random.Generator,
    recurrent_init: str = "orthogonal",
    forget_bias: float = 0.0,
) -> Cell:
    """A freshly initialised cell (see bptt.core.initialisation for the draws and their order).

    forget_bias (LSTM only) is added to the forget-gate block of bias_ih.
    """
    check_kind(kind)
    activations.get(activation)
    input_size = _check_size("input_size", input_size)
    hidden_size = _check_size("hidden_size", hidden_size)
    initialisation.check_radius(radius)
    initialisation.check_method(recurrent_init)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    if not isinstance(forget_bias, (int, float, np.integer, np.floating)) or not math.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be a finite number, got {forget_bias!r}")
    if kind != "lstm" and forget_bias != 0:
        raise ValueError(f"forget_bias applies to kind 'lstm' only; got forget_bias={forget_bias!r} for kind {kind!r}")
    params = initialisation.params(
        rng,
        n_blocks=N_BLOCKS[kind],
        input_size=input_size,
        hidden_size=hidden_size,
        radius=radius,
        recurrent_init=recurrent_init,
    )
    params["bias_ih"][hidden_size : 2 * hidden_size] += forget_bias
    return Cell(kind, activation, params)


def from_params(kind: str, params: dict, *, activation: str) -> Cell:
    """A cell from given parameters (copied to float64); ValueError on wrong keys or shapes."""
    check_kind(kind)
    activations.get(activation)
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {PARAM_NAMES}, got {got}")
    p = {name: np.array(params[name], dtype=np.float64) for name in PARAM_NAMES}
    hh = p["weight_hh"]
    rows = hh.shape[0] if hh.ndim == 2 else -1
    if hh.ndim != 2 or hh.shape[1] < 1 or rows != N_BLOCKS[kind] * hh.shape[1]:
        raise ValueError(
            f"params['weight_hh'] must have shape ({N_BLOCKS[kind]}*H, H) for kind {kind!r}, got {hh.shape}"
        )
    expected = {"weight_ih": (rows, None), "bias_ih": (rows,), "bias_hh": (rows,)}
    for name, shape in expected.items():
        a = p[name]
        if a.ndim != len(shape) or a.shape[0] != rows or (a.ndim == 2 and a.shape[1] < 1):
            want = f"({rows}, I)" if name == "weight_ih" else f"({rows},)"
            raise ValueError(f"params[{name!r}] must have shape {want} for kind {kind!r}, got {a.shape}")
    for name, a in p.items():
        if not np.isfinite(a).all():
            raise ValueError(f"params[{name!r}] must be finite (it holds NaN or inf)")
    return Cell(kind, activation, p)


def candidate_block(cell: Cell) -> np.ndarray:
    """U's (H, H) block of the candidate path (all of U for the RNN)."""
    hsz = cell.hidden_size
    k = CANDIDATE[cell.kind]
    return cell.params["weight_hh"][k * hsz : (k + 1) * hsz]


def zero_state(cell: Cell, batch: int) -> tuple[np.ndarray, ...]:
    """s_{-1}: (h,) or (h, c) for the LSTM, each (B, H) zeros."""
    n = 2 if cell.kind == "lstm" else 1
    return tuple(np.zeros((batch, cell.hidden_size)) for _ in range(n))


def _input_part(cell: Cell, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """W x_t + bias for all steps as one matrix product: x (K, B, I) -> (K, B, G, H)."""
    k, b, i = x.shape
    out = (x.reshape(k * b, i) @ cell.params["weight_ih"].T).reshape(k, b, -1, cell.hidden_size)
    out += bias.reshape(-1, cell.hidden_size)
    return out


def _rnn_forward(cell, act, x, state):
    """RNN forward over x (K, B, I) from state; the trace `trace` describes."""
    h = np.empty((x.shape[0] + 1, *state[0].shape))
    h[0] = state[0]
    h[1:] = _input_part(cell, x, cell.params["bias_ih"] + cell.params["bias_hh"])[:, :, 0]
    u_t = cell.params["weight_hh"].T
    for t in range(x.shape[0]):
        z = h[t + 1]
        z += h[t] @ u_t  # z_t = W x_t + b + U h_{t-1}
        act.f(z, out=z)  # h_t = f(z_t)
    return {"h": h}


def _lstm_forward(cell, act, x, state):
    """LSTM forward over x (K, B, I) from state; the trace `trace` describes."""
    k = x.shape[0]
    h = np.empty((k + 1, *state[0].shape))
    c = np.empty_like(h)
    h[0], c[0] = state
    fc = np.empty((k, *state[0].shape))
    # gates[t] holds a_t = W x_t + b + U h_{t-1}, then i_t, f_t, g_t, o_t in place.
    gates = _input_part(cell, x, cell.params["bias_ih"] + cell.params["bias_hh"])
    u_t = cell.params["weight_hh"].T
    sigmoid = activations.get("sigmoid").f
    for t in range(k):
        a = gates[t]
        a += (h[t] @ u_t).reshape(a.shape)  # a_t = W x_t + b + U h_{t-1}
        act.f(a[:, 2], out=fc[t])  # g_t = f(a_g), parked in fc[t] (free until f(c_t))
        sigmoid(a, out=a)  # i_t, f_t, o_t = sigma(a_i), sigma(a_f), sigma(a_o): one call on all
        a[:, 2] = fc[t]  # blocks is cheaper than two on strided ones; block g then gets g_t back
        np.multiply(a[:, 1], c[t], out=c[t + 1])
        c[t + 1] += a[:, 0] * a[:, 2]  # c_t = f_t * c_{t-1} + i_t * g_t
        act.f(c[t + 1], out=fc[t])  # f(c_t)
        np.multiply(a[:, 3], fc[t], out=h[t + 1])  # h_t = o_t * f(c_t)
    return {"h": h, "c": c, "fc": fc, "gates": gates}


def _gru_forward(cell, act, x, state):
    """GRU forward over x (K, B, I) from state; the trace `trace` describes."""
    hsz = cell.hidden_size
    k = x.shape[0]
    h = np.empty((k + 1, *state[0].shape))
    h[0] = state[0]
    b_hh = cell.params["bias_hh"]
    # b_hr, b_hz join the input part; b_hn stays inside r * (U_n h + b_hn).
    gates = _input_part(cell, x, cell.params["bias_ih"] + np.concatenate([b_hh[: 2 * hsz], np.zeros(hsz)]))
    un_h = np.empty((k, *state[0].shape))
    u_t = cell.params["weight_hh"].T
    sigmoid = activations.get("sigmoid").f
    for t in range(k):
        a = gates[t]
        uh = (h[t] @ u_t).reshape(a.shape)  # U h_{t-1}, blocks r, z, n
        a[:, :2] += uh[:, :2]
        sigmoid(a[:, :2], out=a[:, :2])  # r_t, z_t
        np.add(uh[:, 2], b_hh[2 * hsz :], out=un_h[t])  # U_n h_{t-1} + b_hn
        a[:, 2] += a[:, 0] * un_h[t]
        act.f(a[:, 2], out=a[:, 2])  # n_t = f(W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn))
        np.subtract(h[t], a[:, 2], out=h[t + 1])
        h[t + 1] *= a[:, 1]
        h[t + 1] += a[:, 2]  # h_t = n_t + z_t * (h_{t-1} - n_t)
    return {"h": h, "un_h": un_h, "gates": gates}


_FORWARD = {"rnn": _rnn_forward, "lstm": _lstm_forward, "gru": _gru_forward}


def trace(cell: Cell, x: np.ndarray, state: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """Forward pass over x (K, B, I) from state s_{-1}, keeping what the backward pass needs.

    Returns arrays indexed by step: "h" (K+1, B, H) with h[0] = the initial h and
    h[t+1] = h_t; the LSTM adds "c" (K+1, B, H), "fc" = f(c_t) (K, B, H) and
    "gates" (K, B, 4, H) = i, f, g, o; the GRU adds "gates" (K, B, 3, H) = r, z, n
    and "un_h" = U_n h_{t-1} + b_hn (K, B, H). Non-finite values are left as they
    come (the caller checks); numpy's overflow warnings are silenced here.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _FORWARD[cell.kind](cell, activations.get(cell.activation), x, state)


def final_state(cell: Cell, tr: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """s_{K-1} of a trace: (h,) or (h, c), copied (a view would keep the whole trace alive)."""
    return (tr["h"][-1].copy(), tr["c"][-1].copy()) if cell.kind == "lstm" else (tr["h"][-1].copy(),)


def forward(cell: Cell, x: np.ndarray, state: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
    """Hidden states h_t for x (T, B, I) from s_{-1} = state (zero by default): (T, B, H)."""
    x = np.asarray(x, dtype=np.float64)
    if state is None:
        state = zero_state(cell, x.shape[1])
    return trace(cell, x, state)["h"][1:]
