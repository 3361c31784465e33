"""One backward step per cell: the adjoint of s_t -> the adjoint of s_{t-1}.

This module mirrors `bptt.core.cells` line by line (read the two side by side): each
line computes the quantity named in its comment from the forward trace of step t.

Adjoints are arrays (..., H): (B, H) for the gradient, or (B, m, H) when m row
vectors per sample go through at once (the Jacobian products of
`bptt.core.gradients.profile`, which passes the trace values of `at` as (B, 1, H)). A
step writes dL/da_t, the gradient with respect to the pre-activations, into
`out` (..., N_OUT, H) and returns the adjoint of s_{t-1}. For the LSTM `out` may
be the trace's own gates[t] (each block is written after its last use), which
spares a buffer the size of the gates.

Gradient blocks: out[..., HH_BLOCKS[kind], :] is dL/d(U h_{t-1} + b_hh) and
out[..., IH_BLOCKS[kind], :] is dL/d(W x_t + b_ih); they differ only for the GRU,
whose n gate sees U_n h through r_t.
"""

import numpy as np

from bptt.core.activations import Activation

N_OUT = {"rnn": 1, "lstm": 4, "gru": 4}
HH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 2]}
IH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 3]}


def at(kind: str, tr: dict, t: int) -> dict[str, np.ndarray]:
    """The trace values step t's backward needs, each (B, ...)."""
    if kind == "rnn":
        return {"h": tr["h"][t + 1]}
    if kind == "lstm":
        return {"gates": tr["gates"][t], "c_prev": tr["c"][t], "fc": tr["fc"][t]}
    return {"gates": tr["gates"][t], "h_prev": tr["h"][t], "un_h": tr["un_h"][t]}


def grad_buffer(kind: str, tr: dict) -> np.ndarray:
    """Where the sweep stores dL/da_t for all steps: (K, B, N_OUT, H)."""
    if kind == "lstm":
        return tr["gates"]  # overwritten step by step, from the last
    k, b, hsz = tr["h"].shape[0] - 1, tr["h"].shape[1], tr["h"].shape[2]
    return np.empty((k, b, N_OUT[kind], hsz))


def _matmul(da, u, shape):
    """dL/da_t U, da (..., G, H) -> (...) + shape[-1:]; G*H = U's rows."""
    return (da.reshape(-1, u.shape[0]) @ u).reshape(shape)


def _rnn_step(u: np.ndarray, act: Activation, s: dict, adj: tuple, out: np.ndarray) -> tuple:
    (dh,) = adj  # dL/dh_t
    np.multiply(dh, act.df(s["h"]), out=out[..., 0, :])  # dL/dz_t = dL/dh_t * f'(z_t)
    return (_matmul(out, u, dh.shape),)  # dL/dh_{t-1} = dL/dz_t U


def _lstm_step(u: np.ndarray, act: Activation, s: dict, adj: tuple, out: np.ndarray) -> tuple:
    dh, dc = adj  # dL/dh_t, dL/dc_t as adjoints of the state s_t = (h_t, c_t)
    i, f, g, o = (s["gates"][..., j, :] for j in range(4))
    fc, c_prev = s["fc"], s["c_prev"]
    dc = dc + dh * o * act.df(fc)  # dL/dc_t, adding the path h_t = o_t f(c_t)
    dc_prev = dc * f  # dL/dc_{t-1} = dL/dc_t f_t          (c_t = f_t c_{t-1} + i_t g_t)
    np.multiply(dh * fc, o * (1.0 - o), out=out[..., 3, :])  # dL/da_o = dL/dh_t f(c_t) o_t (1 - o_t)
    np.multiply(dc * c_prev, f * (1.0 - f), out=out[..., 1, :])  # dL/da_f = dL/dc_t c_{t-1} f_t (1 - f_t)
    da_g = dc * i * act.df(g)  # dL/da_g = dL/dc_t i_t f'(a_g)
    np.multiply(dc * g, i * (1.0 - i), out=out[..., 0, :])  # dL/da_i = dL/dc_t g_t i_t (1 - i_t)
    out[..., 2, :] = da_g
    return _matmul(out, u, dh.shape), dc_prev  # dL/dh_{t-1} = dL/da_t U


def _gru_step(u: np.ndarray, act: Activation, s: dict, adj: tuple, out: np.ndarray) -> tuple:
    (dh,) = adj  # dL/dh_t                 (h_t = n_t + z_t (h_{t-1} - n_t))
    r, z, n = (s["gates"][..., j, :] for j in range(3))
    np.multiply(dh, (1.0 - z) * act.df(n), out=out[..., 3, :])  # dL/da_n = dL/dh_t (1 - z_t) f'(a_n)
    np.multiply(out[..., 3, :], r, out=out[..., 2, :])  # dL/d(U_n h_{t-1} + b_hn) = dL/da_n r_t
    np.multiply(out[..., 3, :] * s["un_h"], r * (1.0 - r), out=out[..., 0, :])  # dL/da_r
    np.multiply(dh * (s["h_prev"] - n), z * (1.0 - z), out=out[..., 1, :])  # dL/da_z
    # dL/dh_{t-1}: the direct path z_t, and through U (blocks r, z, n of dL/d(U h + b_hh)).
    return (dh * z + _matmul(out[..., :3, :], u, dh.shape),)


STEP = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_step}
