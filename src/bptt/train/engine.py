"""The training engine: exact float64 BPTT of a stack of M networks, lean enough to train a study.

`bptt.core.gradients` measures gradients at any scale (log-space norms, chunks, overflow cuts,
Jacobian diagnostics); a training step needs none of that, only the loss's exact gradient, and a
model whose numbers leave float64 has diverged (the loop freezes it). This module is the plain
backward recurrence of the core's cells (`bptt.core.rnn`, `lstm`, `gru`: same equations, gate order
and parameter layout, PyTorch's), written for a stack and for speed. At H = 16 a step's arrays are
small, so a numpy call costs about as much as its arithmetic, and one on a strided slice costs
several times one on a contiguous block; hence:
  - one product per step and direction: the step's input is augmented, xh_t = [h_{t-1}, x_t, 1]
    (K = H + I + 1 columns), so that every block of pre-activations is a_t = xh_t Wt, with
    Wt = [U^T; W^T; b] per block (no separate W x_t or bias pass), and the weight gradients gather as
    dL/dWt += xh_t^T dL/da_t, one product per backward step while both are in cache;
  - time-major arrays whose blocks are gate-major, (T, G', M, B, H): each gate's (M, B, H) block of a
    step is contiguous, so every elementwise pass runs over one contiguous run;
  - the forward pass keeps the activated gates in place of their pre-activations, and the backward
    pass takes every derivative from them (tanh' = 1 - tanh^2, sigma' = sigma - sigma^2): no
    transcendental function, and no array over all steps besides the trace;
  - a `Workspace` keeps the trace's arrays from one training step to the next: fresh memory of the
    trace's size (tens of MB at the study's sizes) would be faulted in and zero-filled at every step.
Blocks (G'): the cell's gates in PyTorch's order, except that the GRU's candidate splits into
n_hh = U_n h_{t-1} + b_hn and n_ih = W_n x_t + b_in (the core's blocks N_HH, N_IH), because r_t
multiplies only the first: a_n = n_ih + r_t n_hh. The blocks with a recurrent part come first.

Shapes: x (T, M, B, I); params weight_ih (M, G*H, I), weight_hh (M, G*H, H), bias_ih, bias_hh
(M, G*H); dh_last (M, B, H). Non-finite values are left to propagate (every product is per model, so
one model's overflow never reaches another's numbers); the loop tests them.
"""

import numpy as np

from bptt.core import activations

SIGMOID = activations.SIGMOID.f
# Blocks of Wt that hold rows of weight_hh / bias_hh, and of weight_ih / bias_ih (gru: r, z, n_hh, n_ih).
HH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 2]}
IH_BLOCKS = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [0, 1, 3]}


def _dsigmoid(s: np.ndarray, out: np.ndarray) -> np.ndarray:
    """sigma'(a) = s - s^2 from s = sigma(a), written into out."""
    np.multiply(s, s, out=out)
    return np.subtract(s, out, out=out)


def _dtanh(y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """tanh'(a) = 1 - y^2 from y = tanh(a)."""
    np.multiply(y, y, out=out)
    return np.subtract(1.0, out, out=out)


def _drelu(y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """1 where a > 0, that is where y = max(a, 0) > 0; else 0."""
    return np.greater(y, 0.0, out=out, casting="unsafe")


def _dlinear(y: np.ndarray, out: np.ndarray) -> np.ndarray:
    out.fill(1.0)
    return out


# f'(a) of each candidate activation from its output y = f(a): (y, out) -> out.
DF_FROM_OUTPUT = {"tanh": _dtanh, "sigmoid": _dsigmoid, "relu": _drelu, "linear": _dlinear}


def _df_from_output(name: str):
    """DF_FROM_OUTPUT[name]; ValueError for an activation the engine has no such form for."""
    if name not in DF_FROM_OUTPUT:
        raise ValueError(
            f"the training engine takes f' from f's output only for {', '.join(DF_FROM_OUTPUT)}, not {name!r}"
        )
    return DF_FROM_OUTPUT[name]


def _blocks(params: dict, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Wt (G', M, K, H), per block [U^T; W^T; b] with b = b_ih + b_hh (GRU: n_hh = [U_n^T; 0; b_hn],
    n_ih = [0; W_n^T; b_in]), and U (G'_hh, M, H, H) of the blocks with a recurrent part."""
    m, gh, hsz = params["weight_hh"].shape
    g = gh // hsz
    gates = lambda v: v.reshape(m, g, hsz, -1).transpose(1, 0, 3, 2)  # noqa: E731  (M, G*H, k) -> (G, M, k, H)
    u_t, w_t = gates(params["weight_hh"]), gates(params["weight_ih"])
    b_ih, b_hh = gates(params["bias_ih"][..., None]), gates(params["bias_hh"][..., None])
    if kind == "gru":
        rz = np.concatenate([u_t[:2], w_t[:2], b_ih[:2] + b_hh[:2]], axis=2)
        n_hh = np.concatenate([u_t[2:], np.zeros_like(w_t[2:]), b_hh[2:]], axis=2)
        n_ih = np.concatenate([np.zeros_like(u_t[2:]), w_t[2:], b_ih[2:]], axis=2)
        wt = np.concatenate([rz, n_hh, n_ih])
    else:
        wt = np.concatenate([u_t, w_t, b_ih + b_hh], axis=2)
    return wt, np.ascontiguousarray(u_t[HH_BLOCKS[kind]].swapaxes(-1, -2))


def _params_grads(kind: str, d_wt: np.ndarray, hsz: int) -> dict[str, np.ndarray]:
    """dL/dWt (G', M, K, H) back to the parameters' layout: weight_ih (M, G*H, I), weight_hh
    (M, G*H, H), bias_ih, bias_hh (M, G*H)."""
    m = d_wt.shape[1]
    hh, ih = HH_BLOCKS[kind], IH_BLOCKS[kind]
    weight_hh = d_wt[hh][:, :, :hsz].transpose(1, 0, 3, 2).reshape(m, len(hh) * hsz, hsz)
    weight_ih = d_wt[ih][:, :, hsz:-1].transpose(1, 0, 3, 2).reshape(m, len(ih) * hsz, -1)
    return {
        "weight_ih": weight_ih,
        "weight_hh": weight_hh,
        "bias_ih": d_wt[ih][:, :, -1].transpose(1, 0, 2).reshape(m, -1),
        "bias_hh": d_wt[hh][:, :, -1].transpose(1, 0, 2).reshape(m, -1),
    }


class Workspace:
    """Arrays that `forward` reuses from one call to the next while their shapes stay the same: a
    trace computed in a workspace lives until the next `forward` call with it."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def empty(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The array `name` of this shape, uninitialised (a fresh one when the shape changed)."""
        if name not in self._arrays or self._arrays[name].shape != shape:
            self._arrays[name] = np.empty(shape)
        return self._arrays[name]


def forward(
    kind: str, activation: str, params: dict, x: np.ndarray, workspace: Workspace | None = None
) -> dict[str, np.ndarray]:
    """The forward pass: "h" (T+1, M, B, H), h[0] = 0 the initial state and h[t+1] = h_t, and what
    `backward` needs: "xh" (T, M, B, K) the augmented inputs; LSTM "gates" (T, 4, M, B, H) = i, f,
    g, o, "c" (T+1, M, B, H) and "fc" = f(c_t) (T, M, B, H); GRU "gates" (T, 4, M, B, H) = r, z,
    n_hh, n. Each step's pre-activations are written where its activated blocks go (f' is taken
    from f's output).
    workspace: where the trace's arrays live (fresh ones without it)."""
    act = activations.get(activation)
    _df_from_output(activation)  # an activation the backward pass cannot take fails here, before any work
    t_len, m, b, i_size = x.shape
    hsz = params["weight_hh"].shape[-1]
    wt, _ = _blocks(params, kind)
    empty = (workspace or Workspace()).empty
    xh = empty("xh", (t_len, m, b, hsz + i_size + 1))
    xh[..., hsz:-1], xh[..., -1], xh[0, ..., :hsz] = x, 1.0, 0.0
    h = empty("h", (t_len + 1, m, b, hsz))
    h[0] = 0.0
    trace = {"h": h, "xh": xh}
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "rnn":
            for t in range(t_len):
                np.matmul(xh[t], wt, out=h[t + 1][None])  # z_t = U h_{t-1} + W x_t + b
                act.f(h[t + 1], out=h[t + 1])
                if t + 1 < t_len:
                    xh[t + 1, ..., :hsz] = h[t + 1]
            return trace
        gates = empty("gates", (t_len, len(wt), m, b, hsz))
        scratch = np.empty((m, b, hsz))
        if kind == "lstm":
            c, fc = empty("c", h.shape), empty("fc", h[1:].shape)
            c[0] = 0.0
            i, f, g, o = (gates[:, j] for j in range(4))
            for t in range(t_len):
                np.matmul(xh[t], wt, out=gates[t])  # a_t, blocks i, f, g, o
                SIGMOID(gates[t, :2], out=gates[t, :2])
                SIGMOID(o[t], out=o[t])
                act.f(g[t], out=g[t])
                np.multiply(f[t], c[t], out=c[t + 1])
                np.multiply(i[t], g[t], out=scratch)
                c[t + 1] += scratch  # c_t = f_t c_{t-1} + i_t g_t
                act.f(c[t + 1], out=fc[t])
                np.multiply(o[t], fc[t], out=h[t + 1])  # h_t = o_t f(c_t)
                if t + 1 < t_len:
                    xh[t + 1, ..., :hsz] = h[t + 1]
            return trace | {"gates": gates, "c": c, "fc": fc}
        r, z, n_hh, n = (gates[:, j] for j in range(4))
        for t in range(t_len):
            np.matmul(xh[t], wt, out=gates[t])  # a_r, a_z, n_hh = U_n h_{t-1} + b_hn, n_ih = W_n x_t + b_in
            SIGMOID(gates[t, :2], out=gates[t, :2])
            np.multiply(r[t], n_hh[t], out=scratch)
            n[t] += scratch  # a_n = n_ih + r_t n_hh
            act.f(n[t], out=n[t])
            np.subtract(h[t], n[t], out=h[t + 1])
            h[t + 1] *= z[t]
            h[t + 1] += n[t]  # h_t = n_t + z_t (h_{t-1} - n_t)
            if t + 1 < t_len:
                xh[t + 1, ..., :hsz] = h[t + 1]
        return trace | {"gates": gates}


def _through_u(d: np.ndarray, u: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """dL/dh_{t-1} through the products, the sum over blocks of dL/da_block U_block: (M, B, H) into
    out; scratch (>= G'_hh - 1, M, B, H)."""
    np.matmul(d[0], u[0], out=out)
    rest = scratch[: len(u) - 1]
    np.matmul(d[1 : len(u)], u[1:], out=rest)
    for s in rest:
        out += s
    return out


def backward(kind: str, activation: str, params: dict, trace: dict, dh_last: np.ndarray) -> dict[str, np.ndarray]:
    """dL/dtheta for L = sum(dh_last * h_{T-1}) summed over the batch: dict like params, (M, ...).

    Per step, from dL/dh_t (and the LSTM's dL/dc_t), dL/da_t block by block; then dL/dWt +=
    xh_t^T dL/da_t and dL/dh_{t-1} = sum over blocks of dL/da_block U_block (+ the GRU's direct path)."""
    df = _df_from_output(activation)
    h, xh = trace["h"], trace["xh"]
    t_len, m, b, hsz = h[1:].shape
    wt, u = _blocks(params, kind)
    d = np.empty((len(wt), m, b, hsz))  # dL/da_t, blocks as a_t
    d_wt = np.zeros_like(wt)  # dL/dWt, gathered step by step
    d_wt_t, scratch, s = np.empty_like(d_wt), np.empty_like(d), np.empty_like(d)
    dh = np.array(dh_last, dtype=np.float64)  # dL/dh_t, then dL/dh_{t-1}
    xh_t = xh.swapaxes(-1, -2)  # xh_t^T (T, M, K, B), a view
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "rnn":
            for t in range(t_len - 1, -1, -1):
                np.multiply(dh, df(h[t + 1], d[0]), out=d[0])  # dL/dz_t = dL/dh_t f'(z_t)
                np.matmul(xh_t[t], d, out=d_wt_t)
                d_wt += d_wt_t
                _through_u(d, u, dh, scratch)
        elif kind == "lstm":
            gates, c, fc = trace["gates"], trace["c"], trace["fc"]
            dc = np.zeros_like(dh)  # dL/dc_t
            for t in range(t_len - 1, -1, -1):
                i, f, g, o = gates[t]
                np.multiply(dh, o, out=s[0])
                s[0] *= df(fc[t], s[1])
                dc += s[0]  # dL/dc_t gains dL/dh_t o_t f'(c_t)
                np.multiply(dh, fc[t], out=d[3])
                d[3] *= _dsigmoid(o, s[0])  # dL/da_o = dL/dh_t f(c_t) sigma'(a_o)
                _dsigmoid(gates[t, :2], d[:2])
                d[0] *= g  # dL/da_i per dL/dc_t: g_t sigma'(a_i)
                d[1] *= c[t]  # dL/da_f: c_{t-1} sigma'(a_f)
                np.multiply(i, df(g, d[2]), out=d[2])  # dL/da_g: i_t f'(a_g)
                d[:3] *= dc
                dc *= f  # dL/dc_{t-1} through c_t
                np.matmul(xh_t[t], d, out=d_wt_t)
                d_wt += d_wt_t
                _through_u(d, u, dh, scratch)
        else:  # gru
            gates = trace["gates"]
            for t in range(t_len - 1, -1, -1):
                r, z, n_hh, n = gates[t]
                np.subtract(1.0, z, out=s[0])
                s[0] *= df(n, s[1])
                np.multiply(dh, s[0], out=d[3])  # dL/da_n = dL/d n_ih = dL/dh_t (1 - z_t) f'(a_n)
                np.subtract(h[t], n, out=d[1])
                d[1] *= dh
                d[1] *= _dsigmoid(z, s[0])  # dL/da_z = dL/dh_t (h_{t-1} - n_t) sigma'(a_z)
                np.multiply(d[3], r, out=d[2])  # dL/d n_hh = dL/da_n r_t
                np.multiply(d[3], n_hh, out=d[0])
                d[0] *= _dsigmoid(r, s[0])  # dL/da_r = dL/da_n n_hh sigma'(a_r)
                np.matmul(xh_t[t], d, out=d_wt_t)
                d_wt += d_wt_t
                dh *= z  # the direct path h_{t-1} -> h_t
                dh += _through_u(d, u, s[0], scratch)
    return _params_grads(kind, d_wt, hsz)
