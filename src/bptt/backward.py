"""One backward step per cell: the adjoint of s_t -> the adjoint of s_{t-1}.

This module mirrors `bptt.cells` line by line. `local(cell, tr)` turns a forward
trace into the per-step factors of the chain rule (computed for all steps of a
chunk at once, so the sequential loop is short); `step(...)` applies one step.

Adjoints are arrays (..., H): (B, H) for the gradient, or (B, m, H) when m row
vectors per sample are pushed through at once (the Jacobian products of
`bptt.gradients.profile`). A step writes dL/da_t, the gradient with respect to
the pre-activations that U multiplies, into `out` (..., G', H), and returns
the adjoint of s_{t-1}.

Gradient blocks: out[..., HH_BLOCKS[kind], :] is dL/d(U h_{t-1} + b_hh) and
out[..., IH_BLOCKS[kind], :] is dL/d(W x_t + b_ih); they differ only for the GRU,
whose n gate sees U_n h through r_t.
"""

import numpy as np

from bptt import activations

# Blocks of the `out` buffer, per kind (see the module docstring).
N_OUT = {"rnn": 1, "lstm": 4, "gru": 4}
HH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 2]}
IH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 3]}


def local(kind: str, act: activations.Activation, tr: dict) -> dict[str, np.ndarray]:
    """Per-step chain-rule factors of a trace (arrays with a leading step axis K).

    rnn:  "q" (K, B, 1, H) = f'(z_t)
    lstm: "q" (K, B, 4, H) = [g i(1-i), c_{t-1} f(1-f), i f'(a_g), f(c_t) o(1-o)],
          "o_dfc" (K, B, H) = o_t f'(c_t), "f" (K, B, H) = f_t
    gru:  "q" (K, B, 4, H) = [q_n (U_n h + b_hn) r(1-r), (h_{t-1} - n) z(1-z), q_n r, q_n]
          with q_n = (1 - z) f'(a_n), and "z" (K, B, H) = z_t
    The trace's gate arrays are reused (overwritten) where possible.
    """
    h = tr["h"]
    if kind == "rnn":
        return {"q": act.df(h[1:])[:, :, None, :]}
    gates = tr["gates"]
    if kind == "lstm":
        i, f, g, o = (gates[:, :, j] for j in range(4))
        fc = tr["fc"]
        lf = {"o_dfc": o * act.df(fc), "f": f.copy()}
        q_i = g * i * (1.0 - i)
        g[...] = i * act.df(g)  # dc_t/da_g = i_t f'(a_g)
        i[...] = q_i  # dc_t/da_i = g_t i_t (1 - i_t)
        f *= (1.0 - f) * tr["c"][:-1]  # dc_t/da_f = c_{t-1} f_t (1 - f_t)
        o *= (1.0 - o) * fc  # dh_t/da_o = f(c_t) o_t (1 - o_t)
        lf["q"] = gates
        return lf
    r, z, n = (gates[:, :, j] for j in range(3))
    q = np.empty((*n.shape[:2], 4, n.shape[2]))
    np.multiply(1.0 - z, act.df(n), out=q[:, :, 3])  # dh_t/da_n = (1 - z_t) f'(a_n)
    np.multiply(q[:, :, 3], r, out=q[:, :, 2])  # dh_t/d(U_n h + b_hn) = q_n r_t
    q[:, :, 1] = (h[:-1] - n) * z * (1.0 - z)  # dh_t/da_z = (h_{t-1} - n_t) z_t (1 - z_t)
    q[:, :, 0] = q[:, :, 3] * tr["un_h"] * r * (1.0 - r)  # dh_t/da_r = q_n (U_n h + b_hn) r_t (1 - r_t)
    return {"q": q, "z": z}


def _rnn_step(u, lf, adj, out):
    (dh,) = adj  # dL/dh_t
    np.multiply(dh[..., None, :], lf["q"], out=out)  # dL/dz_t = dL/dh_t * f'(z_t)
    dh_prev = (out.reshape(-1, u.shape[0]) @ u).reshape(dh.shape)  # dL/dh_{t-1} = dL/dz_t U
    return (dh_prev,)


def _lstm_step(u, lf, adj, out):
    dh, dc = adj  # dL/dh_t, dL/dc_t (adjoints of the state s_t = (h_t, c_t))
    dc = dc + dh * lf["o_dfc"]  # dL/dc_t with h_t = o_t f(c_t) as a function of c_t
    q = lf["q"]
    np.multiply(q[..., :3, :], dc[..., None, :], out=out[..., :3, :])  # dL/da_i, dL/da_f, dL/da_g
    np.multiply(q[..., 3, :], dh, out=out[..., 3, :])  # dL/da_o
    dc_prev = dc * lf["f"]  # dL/dc_{t-1} = dL/dc_t * f_t
    dh_prev = (out.reshape(-1, u.shape[0]) @ u).reshape(dh.shape)  # dL/dh_{t-1} = dL/da_t U
    return dh_prev, dc_prev


def _gru_step(u, lf, adj, out):
    (dh,) = adj  # dL/dh_t
    np.multiply(dh[..., None, :], lf["q"], out=out)  # dL/da_r, dL/da_z, dL/d(U_n h + b_hn), dL/da_n
    uh_grad = out[..., :3, :].reshape(-1, u.shape[0])  # dL/d(U h_{t-1} + b_hh)
    dh_prev = dh * lf["z"] + (uh_grad @ u).reshape(dh.shape)  # dL/dh_{t-1}: direct path z_t, and through U
    return (dh_prev,)


STEP = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_step}
