"""The LSTM cell with a forget gate (Hochreiter & Schmidhuber 1997; Gers et al. 2000), forward and
backward side by side, in PyTorch's gate order i, f, g, o:

    a_t = W x_t + b_ih + U h_{t-1} + b_hh                (4 blocks)
    i_t, f_t, o_t = sigma(a_i), sigma(a_f), sigma(a_o);   g_t = f(a_g)
    c_t = f_t * c_{t-1} + i_t * g_t,                      h_t = o_t * f(c_t)

f is the cell's activation (tanh in the usual LSTM), sigma the logistic sigmoid. The state is
s_t = (h_t, c_t). Shapes as in `bptt.core.cellspec`: states (..., H), gates (..., 4, H).
"""

import numpy as np

from bptt.core.activations import SIGMOID, Activation, largest_magnitude
from bptt.core.cellspec import CellSpec, matmul_t, transposed

I, F, G, O = range(4)
GATES = [I, F, O]  # the sigmoid blocks


def forward(params: dict, act: Activation, wx: np.ndarray, state: tuple) -> dict[str, np.ndarray]:
    """Run K steps from state (h, c), each (M, B, H); wx (K, M, B, 4, H) = W x_t, reused for a_t.

    Returns "h", "c" (K+1, M, B, H) with [0] the initial state; "a" (K, M, B, 4, H) the
    pre-activations, "gates" (K, M, B, 4, H) = i, f, g, o, and "fc" = f(c_t) (K, M, B, H).
    """
    a = wx
    a += (params["bias_ih"] + params["bias_hh"]).reshape(len(a[0]), 1, 4, -1)  # + b, (M, 1, 4, H)
    u_t = transposed(params["weight_hh"])  # U^T, (M, H, G*H)
    k = len(a)
    h = np.empty((k + 1, *state[0].shape))
    c = np.empty_like(h)
    h[0], c[0] = state
    gates, fc = np.empty_like(a), np.empty((k, *state[0].shape))
    for t in range(k):
        a[t] += matmul_t(h[t], u_t).reshape(a[t].shape)  # a_t = W x_t + b + U h_{t-1}
        i, f, g, o = (gates[t][..., j, :] for j in range(4))
        SIGMOID.f(a[t], out=gates[t])  # i_t, f_t, o_t (one call on all blocks is cheaper than three)
        act.f(a[t][..., G, :], out=g)  # g_t = f(a_g), over the sigmoid just written there
        np.multiply(f, c[t], out=c[t + 1])
        c[t + 1] += i * g  # c_t = f_t * c_{t-1} + i_t * g_t
        act.f(c[t + 1], out=fc[t])
        np.multiply(o, fc[t], out=h[t + 1])  # h_t = o_t * f(c_t)
    return {"h": h, "c": c, "a": a, "gates": gates, "fc": fc}


def coefficients(trace: dict, act: Activation) -> dict[str, np.ndarray]:
    """The backward pass's step factors for all K steps at once, each a product of forward values
    and one derivative (so no factor exceeds float64 while the forward pass stayed finite):

      "o_dfc"  o_t f'(c_t)               dL/dc_t gains dL/dh_t o_t f'(c_t)
      "fc_do"  f(c_t) sigma'(a_o)        dL/da_o = dL/dh_t f(c_t) sigma'(a_o)
      "by_dc"  blocks i, f, g of dL/da_t per unit of dL/dc_t:
               g_t sigma'(a_i), c_{t-1} sigma'(a_f), i_t f'(a_g)
      "f"      f_t                       dL/dc_{t-1} = dL/dc_t f_t
    """
    a, gates, c = trace["a"], trace["gates"], trace["c"]
    d = SIGMOID.df(a)  # sigma'(a) per block; block g replaced next
    d[..., G, :] = act.df(a[..., G, :])
    by_dc = np.stack([gates[..., G, :] * d[..., I, :], c[:-1] * d[..., F, :], gates[..., I, :] * d[..., G, :]], axis=-2)
    return {
        "o_dfc": gates[..., O, :] * act.df(c[1:]),
        "fc_do": trace["fc"] * d[..., O, :],
        "by_dc": by_dc,
        "f": gates[..., F, :].copy(),  # a copy lets the trace's gates go
    }


def saturated(trace: dict, act: Activation) -> np.ndarray:
    """(K, M, B): steps where a gate, a gate's slope or f' may have left float64's range."""
    a = largest_magnitude(trace["a"])  # per block, (K, M, B, 4)
    gate = (a[..., GATES] > SIGMOID.saturates_beyond).any(axis=-1)
    candidate = a[..., G] > act.saturates_beyond
    cell = largest_magnitude(trace["c"][1:]) > act.saturates_beyond
    return gate | candidate | cell


def backward_step(s: dict, adj: tuple, out: np.ndarray, through_u) -> tuple:
    """(dL/dh_t, dL/dc_t) -> (dL/dh_{t-1}, dL/dc_{t-1}); writes dL/da_t into out (..., 4, H)."""
    dh, dc = adj  # adjoints of s_t = (h_t, c_t); dL/dc_t so far only through c_{t+1}
    dc = dc + dh * s["o_dfc"]  # dL/dc_t, adding the path h_t = o_t f(c_t)
    np.multiply(dc[..., None, :], s["by_dc"], out=out[..., :O, :])  # dL/da_i, dL/da_f, dL/da_g
    np.multiply(dh, s["fc_do"], out=out[..., O, :])  # dL/da_o = dL/dh_t f(c_t) sigma'(a_o)
    dc_prev = dc * s["f"]  # dL/dc_{t-1} = dL/dc_t f_t        (c_t = f_t c_{t-1} + i_t g_t)
    return through_u(out), dc_prev  # dL/dh_{t-1} = dL/da_t U


SPEC = CellSpec(
    name="lstm",
    n_blocks=4,
    candidate_block=G,
    state_parts=2,
    gate_bias_block=F,
    grad_blocks=4,
    hh_blocks=(I, F, G, O),
    ih_blocks=(I, F, G, O),
    arrays_per_step=11,  # the trace: h, c, a, gates, f(c) (factors and dL/da live a block of steps at a time)
    forward=forward,
    coefficients=coefficients,
    saturated=saturated,
    backward_step=backward_step,
)
