"""The GRU cell (Cho et al. 2014), forward and backward side by side, exactly as PyTorch's:

    r_t, z_t = sigma(W_r x_t + b_ir + U_r h_{t-1} + b_hr), sigma(W_z x_t + b_iz + U_z h_{t-1} + b_hz)
    n_t = f(a_n),   a_n = W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1} = n_t + z_t * (h_{t-1} - n_t)

f is the cell's activation (tanh in the usual GRU). z_t is the update gate: near 1 the cell
copies its state. Shapes as in `bptt.core.cellspec`: states (..., H), gates (..., 3, H).
"""

import numpy as np

from bptt.core.activations import SIGMOID, Activation, largest_magnitude
from bptt.core.cellspec import CellSpec, matmul_t, transposed

R, Z, N = range(3)
# Blocks of dL/da_t a backward step writes: r, z, then n twice, because a_n sees U_n h through
# r_t: dL/d(U_n h_{t-1} + b_hn) = dL/da_n r_t (block N_HH) differs from dL/da_n (block N_IH).
N_HH, N_IH = 2, 3


def forward(params: dict, act: Activation, wx: np.ndarray, state: tuple) -> dict[str, np.ndarray]:
    """Run K steps from state (h,), h (M, B, H); wx (K, M, B, 3, H) = W x_t, reused for a_t.

    Returns "h" (K+1, M, B, H) with h[0] the initial state; "a" (K, M, B, 3, H) the
    pre-activations a_r, a_z, a_n; "gates" (K, M, B, 3, H) = r, z, n; "un_h" (K, M, B, H) =
    U_n h_{t-1} + b_hn.
    """
    m, hsz = len(wx[0]), wx.shape[-1]
    b_ih = params["bias_ih"].reshape(m, 1, 3, hsz)
    b_hh = params["bias_hh"].reshape(m, 1, 3, hsz)
    a = wx
    a[..., :N, :] += b_ih[..., :N, :] + b_hh[..., :N, :]  # b_hr, b_hz join the input part;
    a[..., N, :] += b_ih[..., N, :]  # b_hn stays inside r * (U_n h + b_hn)
    u_t = transposed(params["weight_hh"])  # U^T, (M, H, G*H)
    k = len(a)
    h = np.empty((k + 1, *state[0].shape))
    h[0] = state[0]
    gates, un_h = np.empty_like(a), np.empty((k, *state[0].shape))
    for t in range(k):
        uh = matmul_t(h[t], u_t).reshape(a[t].shape)  # U h_{t-1}, blocks r, z, n
        a[t][..., :N, :] += uh[..., :N, :]
        r, z, n = (gates[t][..., j, :] for j in range(3))
        SIGMOID.f(a[t][..., :N, :], out=gates[t][..., :N, :])  # r_t, z_t
        np.add(uh[..., N, :], b_hh[..., N, :], out=un_h[t])  # U_n h_{t-1} + b_hn
        a[t][..., N, :] += r * un_h[t]  # a_n = W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn)
        act.f(a[t][..., N, :], out=n)  # n_t = f(a_n)
        np.subtract(h[t], n, out=h[t + 1])
        h[t + 1] *= z
        h[t + 1] += n  # h_t = n_t + z_t * (h_{t-1} - n_t)
    return {"h": h, "a": a, "gates": gates, "un_h": un_h}


def coefficients(trace: dict, act: Activation) -> dict[str, np.ndarray]:
    """The backward pass's step factors for all K steps at once, each a product of forward values
    and derivatives (so none exceeds float64 while the forward pass stayed finite):

      "by_dh"  dL/da_t per unit of dL/dh_t, blocks r, z, n (through U_n), n:
               (1 - z) f'(a_n) U_n-part r sigma'(a_r), (h_{t-1} - n_t) sigma'(a_z),
               (1 - z) f'(a_n) r_t, (1 - z) f'(a_n)
      "z"      z_t                        the direct path dL/dh_{t-1} += dL/dh_t z_t
    1 - z_t is computed as sigma(-a_z), exact where z_t rounds to 1.
    """
    a, gates = trace["a"], trace["gates"]
    da_n = SIGMOID.f(-a[..., Z, :]) * act.df(a[..., N, :])  # dL/da_n per dL/dh_t: (1 - z_t) f'(a_n)
    by_dh = np.stack(
        [
            da_n * (trace["un_h"] * SIGMOID.df(a[..., R, :])),  # dL/da_r = dL/da_n (U_n h + b_hn) sigma'(a_r)
            (trace["h"][:-1] - gates[..., N, :]) * SIGMOID.df(a[..., Z, :]),  # dL/da_z
            da_n * gates[..., R, :],  # dL/d(U_n h_{t-1} + b_hn) = dL/da_n r_t
            da_n,
        ],
        axis=-2,
    )
    return {"by_dh": by_dh, "z": gates[..., Z, :].copy()}


def saturated(trace: dict, act: Activation) -> np.ndarray:
    """(K, M, B): steps where a gate, a gate's slope or f' may have left float64's range."""
    a = largest_magnitude(trace["a"])  # per block, (K, M, B, 3)
    return (a[..., :N] > SIGMOID.saturates_beyond).any(axis=-1) | (a[..., N] > act.saturates_beyond)


def backward_step(s: dict, adj: tuple, out: np.ndarray, through_u) -> tuple:
    """dL/dh_t -> dL/dh_{t-1}; writes dL/da_t into out (..., 4, H), blocks r, z, n (via U), n."""
    (dh,) = adj  # dL/dh_t
    np.multiply(dh[..., None, :], s["by_dh"], out=out)  # dL/da_r, dL/da_z, dL/d(U_n h + b_hn), dL/da_n
    direct = dh * s["z"]  # the path h_t = ... + z_t h_{t-1}
    return (through_u(out) + direct,)  # dL/dh_{t-1} = z_t dL/dh_t + dL/d(U h_{t-1}) U


SPEC = CellSpec(
    name="gru",
    n_blocks=3,
    candidate_block=N,
    state_parts=1,
    gate_bias_block=Z,
    grad_blocks=4,
    hh_blocks=(R, Z, N_HH),
    ih_blocks=(R, Z, N_IH),
    arrays_per_step=8,  # the trace: h, a, gates, U_n h (factors and dL/da live a block of steps at a time)
    forward=forward,
    coefficients=coefficients,
    saturated=saturated,
    backward_step=backward_step,
)
