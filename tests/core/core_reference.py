"""Independent references for the core tests: a naive forward pass written from
PyTorch's documented cell equations (sharing no code with bptt.core.cells), and
central finite differences of L = sum(dh_last * h_{T-1}) through it."""

import numpy as np

ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "linear": lambda z: z,
}
sig = ACT["sigmoid"]


def run(kind, params, activation, x, state=None):
    """Naive forward from state (h,) or (h, c) at step -1 (zeros by default).

    Returns (states, kinks): states[t] = (h_t,) or (h_t, c_t) for every step, and
    the arguments of the candidate activation (where ReLU has its kink).
    """
    f = ACT[activation]
    W, U, bi, bh = (params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = U.shape[1]
    B = x.shape[1]
    h = np.zeros((B, H)) if state is None else state[0].copy()
    c = np.zeros((B, H)) if state is None or len(state) == 1 else state[1].copy()
    states, kinks = [], []
    for t in range(x.shape[0]):
        gi = x[t] @ W.T + bi
        gh = h @ U.T + bh
        if kind == "rnn":
            kinks.append(gi + gh)
            h = f(gi + gh)
            states.append((h,))
        elif kind == "lstm":
            a = gi + gh
            i, fg, g, o = sig(a[:, :H]), sig(a[:, H : 2 * H]), f(a[:, 2 * H : 3 * H]), sig(a[:, 3 * H :])
            kinks.append(a[:, 2 * H : 3 * H])
            c = fg * c + i * g
            kinks.append(c)
            h = o * f(c)
            states.append((h, c))
        else:
            r = sig(gi[:, :H] + gh[:, :H])
            z = sig(gi[:, H : 2 * H] + gh[:, H : 2 * H])
            an = gi[:, 2 * H :] + r * gh[:, 2 * H :]
            kinks.append(an)
            n = f(an)
            h = (1 - z) * n + z * h
            states.append((h,))
    return states, kinks


def loss(kind, params, activation, x, dh_last, state=None):
    return float(np.sum(dh_last * run(kind, params, activation, x, state)[0][-1][0]))


def grad_params(kind, params, activation, x, dh_last, eps=1e-6):
    """Central differences of L with respect to every parameter entry."""
    out = {}
    for name, p in params.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            vals = []
            for sgn in (1, -1):
                q = {k: v.copy() for k, v in params.items()}
                q[name][idx] += sgn * eps
                vals.append(loss(kind, q, activation, x, dh_last))
            g[idx] = (vals[0] - vals[1]) / (2 * eps)
        out[name] = g
    return out


def grad_state(kind, params, activation, x, dh_last, k, part=0, eps=1e-6):
    """Central differences of L with respect to part `part` (0 = h, 1 = c) of s_k: (B, H)."""
    states, _ = run(kind, params, activation, x[: k + 1])
    s_k = states[-1]
    g = np.zeros_like(s_k[part])
    for idx in np.ndindex(g.shape):
        vals = []
        for sgn in (1, -1):
            s = [a.copy() for a in s_k]
            s[part][idx] += sgn * eps
            if k == x.shape[0] - 1:
                vals.append(float(np.sum(dh_last * s[0])))
            else:
                vals.append(loss(kind, params, activation, x[k + 1 :], dh_last, tuple(s)))
        g[idx] = (vals[0] - vals[1]) / (2 * eps)
    return g


def jacobian(kind, params, activation, x, k, eps=1e-6):
    """Central differences of d s_{T-1} / d s_k for sample 0 of a batch of 1: (n, n), n = H or 2H."""
    states, _ = run(kind, params, activation, x[: k + 1])
    s_k = np.concatenate(states[-1], axis=1)[0]
    H = params["weight_hh"].shape[1]
    n = s_k.size
    J = np.zeros((n, n))

    def end_state(s):
        st = tuple(s[None, j : j + H] for j in range(0, n, H))
        if k == x.shape[0] - 1:
            return s
        return np.concatenate(run(kind, params, activation, x[k + 1 :], st)[0][-1], axis=1)[0]

    for j in range(n):
        e = np.zeros(n)
        e[j] = eps
        J[:, j] = (end_state(s_k + e) - end_state(s_k - e)) / (2 * eps)
    return J


DACT = {
    "tanh": lambda z: 1.0 - np.tanh(z) ** 2,
    "sigmoid": lambda z: sig(z) * (1.0 - sig(z)),
    "relu": lambda z: (z > 0).astype(float),
    "linear": lambda z: np.ones_like(z),
}


def one_step_jacobian(kind, params, activation, x_t, state):
    """d s_t / d s_{t-1} written out from the cell equations, for sample 0 (x_t (B, I)) at the
    state s_{t-1} = state ((h,) or (h, c), each (B, H); None for zeros): (n, n), n = H or 2H."""
    f, df = ACT[activation], DACT[activation]
    W, U, bi, bh = (params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    H = U.shape[1]
    h = np.zeros(H) if state is None else state[0][0]
    c = np.zeros(H) if state is None or len(state) == 1 else state[1][0]
    gi, gh = W @ x_t[0] + bi, U @ h + bh
    block = [slice(j * H, (j + 1) * H) for j in range(U.shape[0] // H)]
    D = np.diag
    if kind == "rnn":
        return D(df(gi + gh)) @ U
    if kind == "lstm":
        a = gi + gh
        i, fg, o = sig(a[block[0]]), sig(a[block[1]]), sig(a[block[3]])
        ds = lambda z: sig(z) * (1 - sig(z))  # noqa: E731
        g = f(a[block[2]])
        c_new = fg * c + i * g
        dc_dh = (
            D(c * ds(a[block[1]])) @ U[block[1]]
            + D(g * ds(a[block[0]])) @ U[block[0]]
            + D(i * df(a[block[2]])) @ U[block[2]]
        )
        dh_dh = D(f(c_new) * ds(a[block[3]])) @ U[block[3]] + D(o * df(c_new)) @ dc_dh
        dh_dc = D(o * df(c_new) * fg)
        return np.block([[dh_dh, dh_dc], [dc_dh, D(fg)]])
    r, z = sig(gi[block[0]] + gh[block[0]]), sig(gi[block[1]] + gh[block[1]])
    a_n = gi[block[2]] + r * gh[block[2]]
    dz = z * (1 - z)
    dr = r * (1 - r)
    return (
        D(z)
        + D((h - f(a_n)) * dz) @ U[block[1]]
        + D((1 - z) * df(a_n)) @ (D(r) @ U[block[2]] + D(gh[block[2]] * dr) @ U[block[0]])
    )
