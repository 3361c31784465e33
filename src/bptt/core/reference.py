"""Backpropagation through time written plainly: the reference the fast sweep is tested against.

One forward pass that keeps everything, then the blog post's backward recurrence from
dL/dh_{T-1} = dh_last, one step at a time,

    dL/ds_{t-1} = (d s_t / d s_{t-1})^T dL/ds_t      (Elman: dL/dh_{t-1} = U^T diag f'(z_t) dL/dh_t)

with the cell's own backward step, and the weight gradients as sums of one term per step.
No chunks, no rescaling, no log space: it underflows and overflows where
`bptt.core.gradients` does not, so use it on short sequences and moderate weights.
"""

import numpy as np

from bptt.core import activations, cells, cellspec


def bptt(cell: cells.Cell, x: np.ndarray, dh_last: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dL/dh_k for x (T, B, I), dh_last (B, H) of a single cell: (T, B, H), and dL/dtheta (like cell.params)."""
    spec, stacked = cell.spec, cells.as_stack(cell)
    u = stacked.params["weight_hh"]  # (1, G*H, H)
    tr = cells.trace(stacked, x[:, None], cells.zero_state(cell, (1, x.shape[1])))
    factors = spec.coefficients(tr, activations.get(cell.activation))
    hh = spec.hh
    through_u = cellspec.through_u(spec, u)  # dL/da_t -> dL/d(U h_{t-1}) U
    adj = (dh_last[None],) + (np.zeros_like(dh_last[None]),) * (spec.state_parts - 1)  # dL/ds_{T-1}
    grad_h = np.empty((len(x), *dh_last.shape))
    da = np.empty((len(x), *dh_last.shape[:1], spec.grad_blocks, dh_last.shape[1]))  # dL/da_t
    for t in reversed(range(len(x))):
        grad_h[t] = adj[0][0]  # dL/dh_t
        adj = spec.backward_step({k: v[t, 0] for k, v in factors.items()}, adj, da[t][None], through_u)
    d_hh = da[:, :, hh].reshape(len(x), len(dh_last), -1)  # dL/d(U h_{t-1} + b_hh), (T, B, G*H)
    d_ih = da[:, :, list(spec.ih_blocks)].reshape(d_hh.shape)  # dL/d(W x_t + b_ih)
    return (
        grad_h,
        {
            "weight_ih": np.einsum("tbg,tbi->gi", d_ih, x),  # sum_t dL/da_t^T x_t
            "weight_hh": np.einsum("tbg,tbh->gh", d_hh, tr["h"][:-1, 0]),  # sum_t dL/da_t^T h_{t-1}
            "bias_ih": d_ih.sum(axis=(0, 1)),
            "bias_hh": d_hh.sum(axis=(0, 1)),
        },
    )
