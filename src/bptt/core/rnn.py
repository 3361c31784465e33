"""The Elman cell, forward and backward side by side (Elman 1990; the blog post's equations).

    z_t = W x_t + b_ih + U h_{t-1} + b_hh,    h_t = f(z_t)

Shapes: K steps of a chunk, and any leading sample axes `...` (models M, sequences B,
and, for Jacobian rows, n): states (..., H); U is stacked per model, (M, H, H).
"""

import numpy as np

from bptt.core.activations import Activation, largest_magnitude
from bptt.core.cellspec import CellSpec, matmul_t, transposed


def forward(params: dict, act: Activation, wx: np.ndarray, state: tuple[np.ndarray]) -> dict[str, np.ndarray]:
    """Run K steps from state (h_{-1},), h (M, B, H); wx (K, M, B, 1, H) = W x_t, reused for z_t.

    Returns "h" (K+1, M, B, H) with h[0] = the initial state, and "z" (K, M, B, H).
    """
    z = wx[:, :, :, 0]  # (K, M, B, H), a view
    z += (params["bias_ih"] + params["bias_hh"])[:, None]  # + b, (M, 1, H)
    u_t = transposed(params["weight_hh"])  # U^T, (M, H, G*H)
    h = np.empty((len(z) + 1, *state[0].shape))
    h[0] = state[0]
    for t in range(len(z)):
        z[t] += matmul_t(h[t], u_t)  # z_t = W x_t + b + U h_{t-1}
        act.f(z[t], out=h[t + 1])  # h_t = f(z_t)
    return {"h": h, "z": z}


def coefficients(trace: dict, act: Activation) -> dict[str, np.ndarray]:
    """The step factors the backward pass multiplies by, for all K steps at once: "df" = f'(z_t)."""
    return {"df": act.df(trace["z"])}


def saturated(trace: dict, act: Activation) -> np.ndarray:
    """(K, M, B): steps where some f'(z_t) may have left float64's range (see activations)."""
    return largest_magnitude(trace["z"]) > act.saturates_beyond


def backward_step(s: dict, adj: tuple, out: np.ndarray, through_u) -> tuple:
    """dL/dh_t -> dL/dh_{t-1}; writes dL/dz_t into out (..., 1, H)."""
    (dh,) = adj  # dL/dh_t
    np.multiply(dh, s["df"], out=out[..., 0, :])  # dL/dz_t = dL/dh_t * f'(z_t)
    return (through_u(out),)  # dL/dh_{t-1} = dL/dz_t U


SPEC = CellSpec(
    name="rnn",
    n_blocks=1,
    candidate_block=0,
    state_parts=1,
    gate_bias_block=None,
    grad_blocks=1,
    hh_blocks=(0,),
    ih_blocks=(0,),
    arrays_per_step=2,  # the trace: h, z (f'(z) and dL/dz live a block of steps at a time)
    forward=forward,
    coefficients=coefficients,
    saturated=saturated,
    backward_step=backward_step,
)
