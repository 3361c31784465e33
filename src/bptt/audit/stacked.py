"""A stack of recurrent layers, forward and backward, exact in log space, from the core's cell step functions.

Layer l reads x^(l) (T, B, I_l): x^(0) the user's inputs, x^(l) = h^(l-1) above. A loss reaches layer l
through its output at every step, so the adjoint of h_t^(l) is

    dL/dh_t^(l) = (what comes back from step t+1 of layer l) + dL/dx_t^(l+1),
    dL/dx_t^(l+1) = dL/da_t^(l+1)[input blocks] W_ih^(l+1)          (W_ih (G*H, I), a_t its pre-activations)

and the top layer's source is the loss itself (dL_t/dh_t^(L-1), zero except t = T-1 for a loss on the
last state). Each layer is one backward sweep, as `bptt.core.gradients` does for one layer, with the
step's source added at step t; its dL/dx_t come out as a mantissa and a log10 scale per step and sample,
exactly the every-step source the layer below takes. The adjoint is divided by its norm at every step
and the norm kept as log10 (so no lag underflows), and a trace is recomputed chunk by chunk from saved
states (`gradients.chunk_length`), so memory stays bounded.

Several sources share one forward pass: the leading axis R of every source array (R = 1 + the number of
random directions in `bptt.audit.measures`) rides along the cell's model axis, broadcast against the
step factors, so R sweeps cost one trace.

Precision, as in the core: where a gate or slope has left float64's range (a saturated step) and the
adjoint drops below `gradients.UNDERFLOW` of what it came from, float64 may hold a rounded-away
remainder, so that row and every earlier one are NaN and flagged (in this layer and the ones below,
which it feeds), never reported as a number.
"""

from typing import NamedTuple

import numpy as np

from bptt.audit import AuditError
from bptt.audit.weights import Network
from bptt.core import activations, cells, gradients, logscale
from bptt.core.cellspec import vec_matmul


class LayerGrads(NamedTuple):
    """One layer's per-step norms for R sources: (R, T, B) each; log10_grad_c is None but for the LSTM.

    log10_grad_c is the norm of dL/dc_k as autograd gives it (c.grad with retain_grad): through c_{k+1}
    and through h_k = o_k f(c_k), so nonzero at k = T-1 (the core's tables keep only the first path)."""

    log10_grad_h: np.ndarray
    log10_grad_c: np.ndarray | None
    unmeasurable: np.ndarray


def forward(net: Network, x: np.ndarray) -> list[np.ndarray]:
    """[x^(0), h^(0), ..., h^(L-1)] for inputs x (T, B, I): every layer's input and the top output, (T, B, .)."""
    states = [np.asarray(x, dtype=np.float64)]
    for k, cell in enumerate(net.layers):
        with np.errstate(over="ignore", invalid="ignore"):
            h = cells.forward(cell, states[-1])
        if not np.isfinite(h).all():
            step = int(np.argmin(np.isfinite(h).all(axis=(1, 2))))
            raise AuditError(f"layer {k}'s forward pass leaves float64 at step {step}; the audit needs finite states")
        states.append(h)
    return states


def backward(net: Network, states: list[np.ndarray], source: np.ndarray, scale: np.ndarray) -> list[LayerGrads]:
    """Per-layer norms (index = layer) for sources dL_t/dh_t^(L-1) = source * 10**scale, (R, T, B, H) and (R, T, B)."""
    out, lost = [], np.full(scale.shape[::2], -1)  # lost: (R, B) last row lost in the layer above
    for k in reversed(range(len(net.layers))):
        grads, source, scale, lost = _layer(net.layers[k], states[k], source, scale, lost, inputs=k > 0)
        out.append(grads)
    return out[::-1]


def _layer(cell: cells.Cell, x: np.ndarray, source, scale, lost_above, *, inputs: bool):
    """One layer's backward sweep: (LayerGrads, dL/dx mantissa (R, T, B, I), its log10 scale (R, T, B), lost rows)."""
    spec, act, stack = cell.spec, activations.get(cell.activation), cells.as_stack(cell)
    n_steps, batch = x.shape[:2]
    r = len(source)
    size = gradients.chunk_length(stack, batch * (1 + r), n_steps)
    starts, state = [], cells.zero_state(stack, (1, batch))
    for s in range(0, n_steps, size):  # forward: keep each chunk's first state, and the last chunk's trace
        starts.append(state)
        tr = cells.trace(stack, x[s : s + size, None], state)
        state = cells.final_state(stack, tr)
    u, hh = stack.params["weight_hh"], slice(spec.hh_blocks[0], spec.hh_blocks[-1] + 1)

    def through_u(da, *direct):  # dL/d(U h_{t-1}) U, R sources at once
        return vec_matmul(da[..., hh, :], u)

    adj = tuple(np.zeros((r, 1, batch, cell.hidden_size)) for _ in range(spec.state_parts))
    current = np.full((r, 1, batch), -np.inf)  # the adjoint of s_t is adj * 10**current
    log_h = np.empty((r, n_steps, batch))
    log_c = np.empty_like(log_h) if spec.state_parts == 2 else None
    dx = np.empty((r, n_steps, batch, cell.input_size)) if inputs else None
    dx_scale = np.full((r, n_steps, batch), -np.inf)
    unmeasurable = np.zeros((r, n_steps, batch), dtype=bool)
    lost, saturated_next = lost_above.copy(), np.zeros(batch, dtype=bool)
    for s in reversed(range(0, n_steps, size)):
        if s != (n_steps - 1) // size * size:
            tr = cells.trace(stack, x[s : s + size, None], starts[s // size])
        factors, saturated = spec.coefficients(tr, act), spec.saturated(tr, act)[:, 0]  # saturated (K, B)
        del tr
        k = len(saturated)
        da = np.empty((k, r, 1, batch, spec.grad_blocks, cell.hidden_size))
        sq = np.empty((spec.state_parts, k, r, 1, batch))
        after, norms, scales = np.empty((3, k, r, 1, batch))
        for t in reversed(range(k)):
            adj, current = logscale.add_state(adj, current, source[:, s + t, None], scale[:, s + t, None])
            after[t] = current
            values = {n: v[t] for n, v in factors.items()}
            norms[t] = np.sqrt(sum(np.einsum("...h,...h->...", a, a) for a in adj))
            sq[0, t] = np.einsum("...h,...h->...", adj[0], adj[0])
            if log_c is not None:  # autograd's dL/dc_t: through c_{t+1} and through h_t = o_t f(c_t)
                total_c = adj[1] + adj[0] * values["o_dfc"]
                sq[1, t] = np.einsum("...h,...h->...", total_c, total_c)
            adj = tuple(a / logscale.safe_scale(norms[t])[..., None] for a in adj)
            adj = spec.backward_step(values, adj, da[t], through_u)
            with np.errstate(divide="ignore"):
                current = current + np.log10(logscale.safe_scale(norms[t]))
            scales[t] = current
        rows = slice(s, s + k)
        log_h[:, rows] = logscale.log10_norm(sq[0], after)[:, :, 0].swapaxes(0, 1)
        if log_c is not None:
            log_c[:, rows] = logscale.log10_norm(sq[1], after)[:, :, 0].swapaxes(0, 1)
        # Precision (see the module docstring): a saturated step after row t that shrank the adjoint below
        # UNDERFLOW loses row t and all before it; a saturated step whose dL/da fell below it loses its own row.
        saturated_after = np.concatenate([saturated[1:], saturated_next[None]])
        state_lost = saturated_after[:, None] & (norms[:, :, 0] < gradients.UNDERFLOW)  # (K, R, B)
        da_norm = np.sqrt(np.einsum("krbgh,krbgh->krb", da[:, :, 0, :, hh], da[:, :, 0, :, hh]))
        unmeasurable[:, rows] |= (saturated[:, None] & (da_norm < gradients.UNDERFLOW)).swapaxes(0, 1)
        if state_lost.any():
            last = np.where(state_lost.any(axis=0), k - 1 - np.argmax(state_lost[::-1], axis=0), -1)
            lost = np.maximum(lost, np.where(last >= 0, s + last, -1))
        saturated_next = saturated[0]
        if inputs:  # dL/dx_t = dL/da_t[input blocks] W_ih, its norm moved to the log scale
            d = da[:, :, 0][..., list(spec.ih_blocks), :].reshape(k, r, batch, -1) @ cell.params["weight_ih"]
            norm = logscale.row_norms(d)
            dx[:, rows] = (d / logscale.safe_scale(norm)[..., None]).swapaxes(0, 1)
            with np.errstate(divide="ignore"):
                dx_scale[:, rows] = (scales[:, :, 0] + np.log10(norm)).swapaxes(0, 1)
    gone = np.arange(n_steps)[None, :, None] <= lost[:, None, :]
    unmeasurable |= gone
    for a in (log_h, log_c):
        if a is not None:
            a[unmeasurable] = np.nan
            if np.isnan(a[~unmeasurable]).any() or np.isposinf(a).any():
                raise AuditError(f"the backward pass of a {cell.kind} layer left float64 (weights too large to audit)")
    lost = np.maximum(lost, np.where(unmeasurable.any(axis=1), n_steps - 1 - np.argmax(unmeasurable[:, ::-1], 1), -1))
    return LayerGrads(log_h, log_c, unmeasurable), dx, dx_scale, lost
