"""The training engine: exact float64 BPTT of a stack of M networks, lean enough to train a study.

`bptt.core.gradients` measures gradients at any scale (log-space norms, chunks, overflow cuts,
Jacobian diagnostics); a training step needs none of that, only the loss's exact gradient, and a
model whose numbers leave float64 has diverged (the loop freezes it). This module is the plain
backward recurrence of `bptt.core.reference`, written for a stack and for speed:
  - W x_t for all steps in one product per model, and dL/dW, dL/dU, dL/db after the sweep in one
    product per model over all T*B rows (only U h_{t-1} and dL/da_t U are sequential);
  - the forward pass keeps the activated gates, so the backward pass needs no transcendental
    function (tanh' = 1 - tanh^2, sigma' = sigma (1 - sigma));
  - sigma(a) = (1 + tanh(a/2)) / 2: one transcendental per entry, finite everywhere.
Equations, gate order and parameter layout are the core's (`bptt.core.rnn`, `lstm`, `gru`, PyTorch's
layout); tests/train/test_engine.py checks every gradient against `bptt.core.gradients.param_grads`
and against finite differences.

Shapes: x (T, M, B, I); params weight_ih (M, G*H, I), weight_hh (M, G*H, H), bias_ih, bias_hh
(M, G*H); h_last (M, B, H); the engine's own arrays are member-major, (M, T, B, .). Non-finite
values are left to propagate (the products are per model, so one model's overflow never reaches
another's numbers); the loop tests them.
"""

import numpy as np

from bptt.core import activations


def _sigmoid(a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _dact(name: str, y: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """f'(pre) of the candidate path, from its output y = f(pre) where that is exact (tanh, relu)."""
    if name == "tanh":
        return 1.0 - y * y
    if name == "relu":
        return (pre > 0).astype(np.float64)
    return activations.get(name).df(pre)


def _input_products(params: dict, x: np.ndarray) -> np.ndarray:
    """W x_t + b_ih for all steps: (M, T, B, G*H), one product per model."""
    t, m, b, i = x.shape
    wx = x.transpose(1, 0, 2, 3).reshape(m, t * b, i) @ params["weight_ih"].transpose(0, 2, 1)
    wx += params["bias_ih"][:, None, :]
    return wx.reshape(m, t, b, -1)


def forward(kind: str, activation: str, params: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    """The forward pass: "h" (M, T+1, B, H) with h[:, 0] = 0, and what `backward` needs (member-major
    arrays (M, T, B, .), so that the weight gradients are plain products over T*B rows)."""
    act = activations.get(activation)
    t_len, m, b, _ = x.shape
    hsz = params["weight_hh"].shape[-1]
    u_t = params["weight_hh"].transpose(0, 2, 1)  # U^T (M, H, G*H)
    pre = _input_products(params, x)  # becomes a_t in place
    h = np.zeros((m, t_len + 1, b, hsz))
    trace = {"h": h, "a": pre}
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "rnn":
            pre += params["bias_hh"][:, None, None, :]
            for t in range(t_len):
                pre[:, t] += h[:, t] @ u_t  # z_t = W x_t + b + U h_{t-1}
                act.f(pre[:, t], out=h[:, t + 1])
        elif kind == "lstm":
            pre += params["bias_hh"][:, None, None, :]
            gates = np.empty_like(pre)  # i, f, g, o activated, (T, M, B, 4H)
            c = np.zeros_like(h)
            fc = np.empty((m, t_len, b, hsz))
            for t in range(t_len):
                pre[:, t] += h[:, t] @ u_t  # a_t
                _sigmoid(pre[:, t], gates[:, t])
                act.f(pre[:, t][..., 2 * hsz : 3 * hsz], out=gates[:, t][..., 2 * hsz : 3 * hsz])  # g_t
                i, f, g, o = (gates[:, t][..., j * hsz : (j + 1) * hsz] for j in range(4))
                np.multiply(f, c[:, t], out=c[:, t + 1])
                c[:, t + 1] += i * g  # c_t = f_t c_{t-1} + i_t g_t
                act.f(c[:, t + 1], out=fc[:, t])
                np.multiply(o, fc[:, t], out=h[:, t + 1])  # h_t = o_t f(c_t)
            trace |= {"gates": gates, "c": c, "fc": fc}
        else:  # gru
            b_hh = params["bias_hh"][:, None, :]  # (M, 1, 3H)
            gates = np.empty_like(pre)  # r, z, n activated
            un_h = np.empty((m, t_len, b, hsz))  # U_n h_{t-1} + b_hn
            for t in range(t_len):
                uh = h[:, t] @ u_t + b_hh  # U h_{t-1} + b_hh, (M, B, 3H)
                pre[:, t][..., : 2 * hsz] += uh[..., : 2 * hsz]
                _sigmoid(pre[:, t][..., : 2 * hsz], gates[:, t][..., : 2 * hsz])
                r, z, n = (gates[:, t][..., j * hsz : (j + 1) * hsz] for j in range(3))
                un_h[:, t] = uh[..., 2 * hsz :]
                pre[:, t][..., 2 * hsz :] += r * un_h[:, t]  # a_n = W_n x + b_in + r (U_n h + b_hn)
                act.f(pre[:, t][..., 2 * hsz :], out=n)
                np.subtract(h[:, t], n, out=h[:, t + 1])
                h[:, t + 1] *= z
                h[:, t + 1] += n  # h_t = n_t + z_t (h_{t-1} - n_t)
            trace |= {"gates": gates, "un_h": un_h}
    return trace


def backward(kind: str, activation: str, params: dict, x: np.ndarray, trace: dict, dh_last: np.ndarray):
    """dL/dtheta for L = sum(dh_last * h_{T-1}) summed over the batch: dict like params, (M, ...)."""
    t_len, m, b, i_size = x.shape
    hsz = params["weight_hh"].shape[-1]
    u = params["weight_hh"]  # (M, G*H, H)
    h, pre = trace["h"], trace["a"]
    d_in = np.empty_like(pre)  # dL/d(W x_t + b_ih) per step, (T, M, B, G*H)
    d_hh = d_in if kind != "gru" else np.empty_like(pre)  # dL/d(U h_{t-1} + b_hh)
    dh = np.array(dh_last, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "rnn":
            df = _dact(activation, h[:, 1:], pre)
            for t in range(t_len - 1, -1, -1):
                np.multiply(dh, df[:, t], out=d_in[:, t])  # dL/dz_t
                dh = d_in[:, t] @ u
        elif kind == "lstm":
            gates, c, fc = trace["gates"], trace["c"], trace["fc"]
            i, f, g, o = (gates[..., j * hsz : (j + 1) * hsz] for j in range(4))
            # Every step's factors at once (T, M, B, .): dL/dc_t gains dL/dh_t o_t f'(c_t); dL/da_o =
            # dL/dh_t f(c_t) sigma'(a_o); blocks i, f, g of dL/da_t per unit of dL/dc_t.
            o_dfc = o * _dact(activation, fc, c[:, 1:])
            fc_do = fc * o * (1.0 - o)
            by_dc = np.stack(
                [g * i * (1.0 - i), c[:, :-1] * f * (1.0 - f), i * _dact(activation, g, pre[..., 2 * hsz : 3 * hsz])],
                axis=-2,
            )  # (T, M, B, 3, H)
            dc = np.zeros((m, b, hsz))
            for t in range(t_len - 1, -1, -1):
                da = d_in[:, t]
                dc += dh * o_dfc[:, t]
                np.multiply(dh, fc_do[:, t], out=da[..., 3 * hsz :])
                np.multiply(dc[..., None, :], by_dc[:, t], out=da[..., : 3 * hsz].reshape(m, b, 3, hsz))
                dc *= f[:, t]  # dL/dc_{t-1} through c_t
                dh = da @ u
        else:  # gru
            gates, un_h = trace["gates"], trace["un_h"]
            r, z, n = (gates[..., j * hsz : (j + 1) * hsz] for j in range(3))
            # Every step's factors at once: dL/da_n, dL/da_z per unit of dL/dh_t; dL/da_r per unit of dL/da_n.
            by_dh = np.stack(
                [(1.0 - z) * _dact(activation, n, pre[..., 2 * hsz :]), (h[:, :-1] - n) * z * (1.0 - z)], -2
            )
            r_by_dn = un_h * r * (1.0 - r)
            for t in range(t_len - 1, -1, -1):
                da, dhh = d_in[:, t], d_hh[:, t]
                dan = np.multiply(dh, by_dh[:, t][..., 0, :], out=da[..., 2 * hsz :])
                np.multiply(dh, by_dh[:, t][..., 1, :], out=da[..., hsz : 2 * hsz])
                np.multiply(dan, r_by_dn[:, t], out=da[..., :hsz])
                dhh[..., : 2 * hsz] = da[..., : 2 * hsz]
                np.multiply(dan, r[:, t], out=dhh[..., 2 * hsz :])  # dL/d(U_n h + b_hn)
                dh = dh * z[:, t] + dhh @ u
        rows = lambda d: d.reshape(m, -1, d.shape[-1])  # noqa: E731  (M, T*B, .), no copy
        grads = {
            "weight_ih": rows(d_in).transpose(0, 2, 1) @ rows(np.ascontiguousarray(x.transpose(1, 0, 2, 3))),
            "weight_hh": rows(d_hh).transpose(0, 2, 1) @ rows(h[:, :-1]),
            "bias_ih": d_in.sum(axis=(1, 2)),
            "bias_hh": d_hh.sum(axis=(1, 2)),
        }
    return grads
